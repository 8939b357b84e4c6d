"""BIN/IIN check-digit validation (rule in market/refdata/data/README.md)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

WEIGHTS_1 = tuple(range(1, 12))
WEIGHTS_2 = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)
# Digit 5 of a BIN: 4 resident legal entity, 5 non-resident, 6 individual entrepreneur (JV).
BIN_ENTITY_DIGITS = {"4", "5", "6"}


def check_digit(first11: str) -> int | None:
    """The 12th digit for these 11 digits, or None when no check digit exists."""
    digits = [int(c) for c in first11]
    for weights in (WEIGHTS_1, WEIGHTS_2):
        remainder = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
        if remainder != 10:
            return remainder
    return None


def bin_error(value: str) -> str | None:
    """A message saying what is wrong with a BIN, or None when it is valid."""
    value = (value or "").strip()
    if len(value) != 12 or not value.isdigit():
        return str(_l("БИН состоит ровно из 12 цифр."))
    if value[4] not in BIN_ENTITY_DIGITS:
        return str(_l("5-я цифра БИН должна быть 4, 5 или 6 (тип юридического лица)."))
    expected = check_digit(value[:11])
    if expected is None or expected != int(value[11]):
        return str(_l("Неверная контрольная цифра БИН: проверьте номер."))
    return None


def is_valid_bin(value: str) -> bool:
    return bin_error(value) is None
