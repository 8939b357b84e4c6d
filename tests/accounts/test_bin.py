"""BIN validation with the official check-digit rule."""

import pytest

from market.accounts.bin import WEIGHTS_1, bin_error, check_digit, is_valid_bin

# BINs published by large Kazakh companies in their public filings.
REAL_VALID = ["940140000385", "971240001315", "081140000436", "020240000555", "990740002243"]


@pytest.mark.parametrize("value", REAL_VALID)
def test_real_bins_are_valid(value):
    assert is_valid_bin(value)


@pytest.mark.parametrize("value", [
    "940140000386",   # last digit changed
    "971240001314",
    "94014000038",    # 11 digits
    "9401400003851",  # 13 digits
    "94014000038a",
    "",
    "940110000385",   # entity digit 1 is not a legal entity
])
def test_invalid_bins_are_refused(value):
    assert not is_valid_bin(value)
    assert bin_error(value)


def test_swapped_digits_are_caught():
    value = REAL_VALID[1]  # 971240001315: swap the 9 and the 7
    swapped = value[1] + value[0] + value[2:]
    assert swapped != value
    assert not is_valid_bin(swapped)


def _with_first_remainder_10() -> str:
    for n in range(10**6):
        prefix = f"9901400{n:04d}"
        if sum(int(d) * w for d, w in zip(prefix, WEIGHTS_1, strict=True)) % 11 == 10:
            return prefix
    raise AssertionError


def test_second_weight_set_used_when_first_remainder_is_10():
    prefix = _with_first_remainder_10()
    digit = check_digit(prefix)
    second = sum(int(d) * w for d, w in zip(prefix, (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2),
                                            strict=True)) % 11
    if second == 10:
        assert digit is None
    else:
        assert digit == second
        assert is_valid_bin(prefix + str(digit))


def test_number_without_check_digit_is_invalid():
    for n in range(10**6):
        prefix = f"0501400{n:04d}"
        if check_digit(prefix) is None:
            assert all(not is_valid_bin(prefix + str(d)) for d in range(10))
            return
    pytest.skip("no such prefix in range")


def test_messages_are_clear():
    assert "12" in bin_error("123")
    assert "контрольная" in bin_error("940140000386").lower()
