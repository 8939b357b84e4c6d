"""Translation catalogues: complete, not fuzzy, placeholders intact, in sync with the .pot.

Uses only Babel (no app import), so it runs fast and without a database.
"""

import re
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "market" / "translations"
POT = TRANSLATIONS / "messages.pot"
LANGUAGES = ["kk", "en"]

PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[sdifr]")


def _read(path: Path, locale: str | None = None):
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def _po_path(lang: str) -> Path:
    return TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"


def _as_tuple(value) -> tuple:
    if isinstance(value, (tuple, list)):
        return tuple(value)
    return (value,)


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text or ""))


def _show(msgid) -> str:
    return repr(msgid[0] if isinstance(msgid, tuple) else msgid)


def _messages(catalog):
    return [m for m in catalog if m.id]


@pytest.fixture(scope="module")
def pot_ids():
    return {m.id for m in _messages(_read(POT))}


@pytest.fixture(scope="module", params=LANGUAGES)
def catalog(request):
    path = _po_path(request.param)
    assert path.exists(), f"{path} is missing"
    return request.param, _read(path, locale=request.param)


def test_no_empty_translations(catalog):
    lang, cat = catalog
    empty = [_show(m.id) for m in _messages(cat)
             if not all((s or "").strip() for s in _as_tuple(m.string))]
    assert not empty, f"{lang}: {len(empty)} untranslated message(s):\n" + "\n".join(empty)


def test_no_fuzzy_entries(catalog):
    lang, cat = catalog
    fuzzy = [_show(m.id) for m in _messages(cat) if m.fuzzy]
    assert not fuzzy, f"{lang}: {len(fuzzy)} fuzzy message(s):\n" + "\n".join(fuzzy)
    assert not cat.fuzzy, f"{lang}: the catalogue header is marked fuzzy"


def test_placeholders_match(catalog):
    lang, cat = catalog
    wrong = []
    for m in _messages(cat):
        expected = set().union(*(_placeholders(i) for i in _as_tuple(m.id)))
        for n, text in enumerate(_as_tuple(m.string)):
            if not text:
                continue  # reported by test_no_empty_translations
            got = _placeholders(text)
            if got != expected:
                wrong.append(f"{_show(m.id)} [form {n}]: expected {sorted(expected)}, "
                             f"got {sorted(got)}")
    assert not wrong, f"{lang}: placeholder mismatch:\n" + "\n".join(wrong)


def test_catalogue_covers_pot(catalog, pot_ids):
    lang, cat = catalog
    have = {m.id for m in _messages(cat)}
    missing = sorted(_show(i) for i in pot_ids - have)
    assert not missing, (f"{lang}: {len(missing)} msgid(s) from messages.pot are missing; "
                         "run `pybabel update -i market/translations/messages.pot "
                         "-d market/translations`:\n" + "\n".join(missing))


def test_catalogue_compiles(catalog):
    lang, cat = catalog
    buf = BytesIO()
    write_mo(buf, cat)
    assert buf.getvalue(), f"{lang}: compiled catalogue is empty"


def test_placeholder_regex_sanity():
    assert _placeholders("%(a)s и %(b)d, 100%") == {"a", "b"}
