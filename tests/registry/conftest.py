"""Registry fixtures: a site and streams in a verified holder organisation."""

from datetime import date

import pytest

from market.registry import operations as ops


@pytest.fixture
def stream(make_stream):
    return make_stream()


@pytest.fixture
def hazardous_stream(make_stream, owner):
    s = make_stream(code="100207", hps=["HP14"], name="Пыль газоочистки")
    ops.save_passport(s, actor=owner, composition="Cu 2%, Pb 1%", handling="В закрытых бункерах",
                      transport="Герметичные контейнеры", emergency="Изолировать участок",
                      compiled_by="Иванов И.И., эколог", compiled_on=date(2026, 1, 10),
                      hazard_properties=["HP14"])
    return s
