"""The fast grouped-number formatting writes what Babel's format_decimal writes."""

from decimal import Decimal

import pytest
from babel.numbers import format_decimal

from market.core.numfmt import grouped

VALUES = ["0", "1", "-5.5", "12.3456", "999.9995", "1000", "1234567.125", "0.0005", "0.0015",
          "-1234.5", "98765432109876.543"]


@pytest.mark.parametrize("locale", ["ru", "kk", "en"])
@pytest.mark.parametrize("places", [0, 2, 3])
def test_equals_babel(locale, places):
    pattern = "#,##0" + ("." + "0" * places if places else "")
    for raw in VALUES:
        value = Decimal(raw)
        assert grouped(value, places, locale) == format_decimal(value, format=pattern,
                                                                locale=locale), raw


def test_integers(app):
    with app.test_request_context():
        assert grouped(1500, 0, "ru") == "1\u00a0500"
        assert grouped(1500, 0, "en") == "1,500"
