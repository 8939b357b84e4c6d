"""Demo cadastre: the smelter's slag heap and tailings, and a state-owned abandoned tailings."""

from __future__ import annotations

from datetime import date

from market.accounts.models import Organization, User
from market.cadastre.operations import add_assay, create_formation


def build_cadastre(users: dict[str, User], orgs: dict[str, Organization]) -> None:
    smelter, akimat = users["smelter@qaldyq.kz"], users["akimat@qaldyq.kz"]
    s_org, state = orgs["smelter@qaldyq.kz"], orgs["akimat@qaldyq.kz"]
    heap = create_formation(
        s_org, actor=smelter, name="Шлакоотвал Балхашского медеплавильного завода (демо)",
        kind="slag_heap", region_kato="350000000", lat=46.842, lon=75.010,
        address="г. Балхаш, восточная промзона", waste_code="10 06 01", hazard_class=4,
        year_formed=1938, status="active", tonnage=45_000_000, volume_m3=15_000_000,
        outline={"type": "Polygon", "coordinates": [[[75.000, 46.847], [75.020, 46.847],
                                                     [75.020, 46.837], [75.000, 46.837],
                                                     [75.000, 46.847]]]})
    for comp, grade, unit in (("Cu", "0.7", "pct"), ("Zn", "2.5", "pct"), ("Fe", "35", "pct"),
                              ("Au", "0.3", "g_t")):
        add_assay(heap, actor=smelter, component=comp, grade=grade, unit=unit,
                  laboratory="ЦЛ «Балқаш» (демо)", sampled_on=date(2025, 9, 15))
    tails = create_formation(
        s_org, actor=smelter, name="Хвостохранилище Балхашской обогатительной фабрики (демо)",
        kind="tailings", region_kato="350000000", lat=46.862, lon=74.951, waste_code="01 03 06",
        hazard_class=4, year_formed=1953, status="active", tonnage=150_000_000,
        outline={"type": "Polygon", "coordinates": [[[74.935, 46.872], [74.965, 46.874],
                                                     [74.972, 46.858], [74.950, 46.850],
                                                     [74.930, 46.858], [74.935, 46.872]]]})
    for comp, grade, unit in (("Cu", "0.12", "pct"), ("Mo", "0.005", "pct"), ("Au", "0.25", "g_t"),
                              ("Ag", "2.1", "g_t")):
        add_assay(tails, actor=smelter, component=comp, grade=grade, unit=unit,
                  laboratory="ЦЛ «Балқаш» (демо)", sampled_on=date(2025, 6, 2))
    create_formation(
        state, actor=akimat, name="Бесхозное хвостохранилище бывшей обогатительной фабрики (демо)",
        kind="tailings", region_kato="350000000", lat=47.05, lon=75.45, state_owned=True,
        status="abandoned", waste_code="01 03 05*", hazard_class=3, year_formed=1965,
        tonnage=8_000_000,
        outline={"type": "Polygon", "coordinates": [[[75.440, 47.056], [75.462, 47.055],
                                                     [75.460, 47.044], [75.438, 47.045],
                                                     [75.440, 47.056]]]})
