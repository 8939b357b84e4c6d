"""Money of lots: integer tiyn (1 ₸ = 100 tiyn) in the database, KZT on screen and in forms."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l

from market.core.numfmt import grouped

MAX_TIYN = 10**17  # far above any lot, well inside BIGINT


class MoneyError(ValueError):
    """The text is not an amount in tenge."""


def parse_kzt(value) -> int | None:
    """'125 000,50' / '125000.5' / '1 500 ₸' -> tiyn; empty -> None."""
    if value is None:
        return None
    text = str(value)
    for junk in (" ", "\u00a0", "\u202f", "\u2009", "₸", "KZT", "kzt", "тг", "'"):
        text = text.replace(junk, "")
    if not text:
        return None
    if "," in text and "." in text:  # "125,000.50": commas group thousands
        text = text.replace(",", "")
    text = text.replace(",", ".")
    try:
        amount = Decimal(text)
    except (InvalidOperation, ValueError):
        raise MoneyError(_l("Сумма в тенге, например 125 000,50.")) from None
    if not amount.is_finite():
        raise MoneyError(_l("Сумма в тенге, например 125 000,50."))
    if amount < 0:
        raise MoneyError(_l("Цена не может быть отрицательной."))
    tiyn = amount * 100
    if tiyn != tiyn.to_integral_value():
        raise MoneyError(_l("Не больше двух знаков после запятой (тиыны)."))
    if tiyn > MAX_TIYN:
        raise MoneyError(_l("Слишком большая сумма."))
    return int(tiyn)


def format_kzt(tiyn: int | None) -> str:
    """Tiyn as tenge for the current locale, e.g. '125 000,50 ₸' ('1 500 ₸' when whole).

    The tenge sign in every language (Babel's Russian and English would write 'KZT').
    """
    if tiyn is None:
        return "—"
    if tiyn % 100 == 0:
        return grouped(tiyn // 100, 0) + "\u00a0₸"
    return grouped(Decimal(tiyn) / 100, 2) + "\u00a0₸"


def kzt_input(tiyn: int | None) -> str:
    """Tiyn as the text a form field is prefilled with: '125000,50' or '125000'."""
    if tiyn is None:
        return ""
    whole, part = divmod(int(tiyn), 100)
    return f"{whole},{part:02d}" if part else str(whole)
