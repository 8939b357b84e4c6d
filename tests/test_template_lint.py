"""Static checks over the templates for mistakes a rendered page hides until a user clicks."""

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
HANDLER = re.compile(r'\son[a-z]+="[^"]*\{\{(?P<expr>[^}]*)\}\}')


def test_inline_handlers_escape_their_text():
    """Text put into an onclick/onsubmit attribute must be JSON *and* HTML-escaped:
    `confirm({{ text|tojson|forceescape }})`. `tojson` alone leaves the double quotes that end
    the attribute (the browser then skips the confirmation), `'{{ text|e }}'` breaks on an
    apostrophe in a translation."""
    bad = []
    for path in TEMPLATES.rglob("*.html"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in HANDLER.finditer(line):
                if not match.group("expr").rstrip().endswith("|tojson|forceescape"):
                    bad.append(f"{path.relative_to(TEMPLATES)}:{number}")
    assert not bad, f"unescaped text in inline handlers: {bad}"


def test_confirmation_survives_rendering(client, auth, holder, owner, make_stream):
    from datetime import date

    from market.lots.operations import create_lot
    from market.registry.journal import record

    stream = make_stream()
    record(stream, actor=owner, kind="generated", quantity="5", event_date=date(2026, 1, 1))
    lot = create_lot(holder, actor=owner, stream=stream, title="Шлак", quantity="5",
                     pricing_mode="fixed", price=100)
    auth.login(owner.email)
    page = client.get(f"/lots/{lot.id}").text
    assert 'onsubmit="return confirm(&#34;' in page
