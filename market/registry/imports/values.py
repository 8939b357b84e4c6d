"""Value parsers shared by the journal and cadastre importers."""


from __future__ import annotations

import logging
from datetime import date, datetime

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

log = logging.getLogger("qaldyq.imports")


# value parsers shared by both importers -----------------------------------------------------

REQUIRED = _l("Обязательное поле.")
TOO_LONG = _l("Не длиннее %(max)s символов.")


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        value = value.isoformat()
    return str(value).strip() or None


def _whole(value) -> int | None:
    """A whole number from a cell ("12", 12, 12.0); None if it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    text = str(value).strip()
    return int(text) if text.isdigit() else None


def _number_text(value) -> str:
    """A number cell as text for the domain parsers (which accept a decimal comma)."""
    if isinstance(value, float):
        return repr(value)
    return str(value).replace("\u00a0", "").replace("\u202f", "")


def _labels(mapping: dict, codes) -> dict[str, str]:
    """Lower-cased codes and their labels in every interface language -> code."""
    out = {}
    for lang in current_app.config["LANGUAGES"]:
        with force_locale(lang):
            for code in codes:
                out[" ".join(str(mapping[code]).casefold().split())] = code
    for code in codes:
        out[code.casefold()] = code
    return out


def _lookup(labels: dict[str, str], value) -> str | None:
    return labels.get(" ".join(str(value).casefold().split()))


def parse_date(value) -> date | None:
    """A date from a cell: a date / datetime, or text YYYY-MM-DD or DD.MM.YYYY."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _code6(value) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{int(value):06d}"
    return str(value).replace(" ", "").replace("\u00a0", "").rstrip("*")


