"""Fixtures of the cadastre tests: a holder, a state body, a formation with an outline."""

from __future__ import annotations

import pytest

from market.cadastre import operations as ops

KARAGANDA = "350000000"
PAVLODAR = "550000000"

# A rectangle of about 3 × 2.2 km south-west of Balkhash, [lon, lat] as GeoJSON wants.
OUTLINE = {"type": "Polygon", "coordinates": [[
    [74.95, 46.86], [74.99, 46.86], [74.99, 46.84], [74.95, 46.84], [74.95, 46.86]]]}


@pytest.fixture
def holder(create_user, create_org):
    owner = create_user(full_name="Самат Металлургов")
    return create_org(owner=owner, kinds=("holder",), region=KARAGANDA, name="ТОО «Балқаш Мыс»")


@pytest.fixture
def holder_owner(holder):
    return holder.owners[0].user


@pytest.fixture
def state_body(create_user, create_org):
    return create_org(owner=create_user(), kinds=("state_body",), region=KARAGANDA,
                      name="ГУ «Управление природных ресурсов»")


@pytest.fixture
def make_formation(holder_owner, holder):
    def make(org=None, actor=None, **kwargs):
        values = {"name": "Шлакоотвал медеплавильного завода", "kind": "slag_heap",
                  "region_kato": KARAGANDA, "lat": 46.85, "lon": 74.98}
        values.update(kwargs)
        return ops.create_formation(org or holder, actor=actor or holder_owner, **values)

    return make
