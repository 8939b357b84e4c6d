"""Registry fixtures: a site and streams in a verified holder organisation."""

from datetime import date

import pytest

from market.registry import operations as ops
from market.registry.models import WasteStream


@pytest.fixture
def holder(create_org):
    return create_org(kinds=("holder",))


@pytest.fixture
def owner(holder):
    return holder.owners[0].user


@pytest.fixture
def site(holder, owner):
    return ops.create_site(holder, actor=owner, name="Шлакоотвал №1", kind="storage",
                           region_kato="350000000", address="г. Балхаш", lat=46.85, lon=74.98)


@pytest.fixture
def make_stream(site, owner):
    def make(code="100201", purpose="recovery", hps=None, name="Шлак") -> WasteStream:
        return ops.create_stream(site, actor=owner, waste_code=code, name=name,
                                 physical_state="solid", storage_purpose=purpose,
                                 hazard_properties=hps)
    return make


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
