"""Demo registry: the smelter's slag, tailings and hazardous dust; the cement plant's intake."""

from __future__ import annotations

from datetime import date, timedelta

from market.accounts.models import Organization, User
from market.registry import journal
from market.registry import operations as ops
from market.registry.limits import flag_overdue_streams


def build_registry(users: dict[str, User], orgs: dict[str, Organization], today: date) -> None:
    smelter, cement = users["smelter@qaldyq.kz"], users["cement@qaldyq.kz"]
    s_org, c_org = orgs["smelter@qaldyq.kz"], orgs["cement@qaldyq.kz"]

    plant = ops.create_site(s_org, actor=smelter, name="Медеплавильный завод", kind="production",
                            region_kato="350000000", address="г. Балхаш, промзона",
                            lat=46.8480, lon=74.9950)
    dump = ops.create_site(s_org, actor=smelter, name="Шлакоотвал №2", kind="storage",
                           region_kato="350000000", address="5 км к северу от г. Балхаш",
                           lat=46.8900, lon=75.0100)
    slag = ops.create_stream(dump, actor=smelter, waste_code="100601",
                             name="Шлак медеплавильного производства", physical_state="solid",
                             storage_purpose="recovery",
                             description="Гранулированный шлак отражательной плавки, Cu 0,6–0,8 %.")
    tailings = ops.create_stream(plant, actor=smelter, waste_code="010306",
                                 name="Хвосты обогащения", physical_state="sludge",
                                 storage_purpose="recovery")
    dust = ops.create_stream(plant, actor=smelter, waste_code="100603",
                             name="Пыль газоочистки", physical_state="powder",
                             storage_purpose="generation", hazard_properties=["HP6", "HP14"])
    ops.save_passport(dust, actor=smelter,
                      composition="Оксиды свинца 8–12 %, цинка 15–20 %, меди 3–5 %, мышьяк до 1 %.",
                      handling="Хранить в закрытых бункерах, исключить пыление и контакт с водой.",
                      transport="Герметичные контейнеры, маркировка опасного груза.",
                      emergency="Изолировать участок, собрать сорбентом, вызвать службу ЧС.",
                      compiled_by="Сәрсенова Ә. К., главный эколог", compiled_on=today - timedelta(days=300),
                      hazard_properties=["HP6", "HP14"])
    rows = [
        (slag, "generated", "125000", 700), (slag, "generated", "98000", 400),
        (slag, "transferred_out", "15000", 200), (slag, "generated", "40000", 60),
        (tailings, "generated", "310000", 500), (tailings, "generated", "120000", 90),
        (dust, "generated", "420.5", 250), (dust, "generated", "180", 30),
    ]
    for stream, kind, qty, days_ago in rows:
        journal.record(stream, actor=smelter, kind=kind, quantity=qty,
                       event_date=today - timedelta(days=days_ago), today=today,
                       counterparty="АО «Central Asia Cement» (демо)" if kind == "transferred_out" else None)

    kiln = ops.create_site(c_org, actor=cement, name="Цементный завод", kind="processing",
                           region_kato="350000000", address="пос. Актау, промзона",
                           lat=50.0500, lon=73.0500)
    intake = ops.create_stream(kiln, actor=cement, waste_code="100601", name="Шлак на входе",
                               physical_state="solid", storage_purpose="recovery")
    journal.record(intake, actor=cement, kind="received", quantity="15000",
                   event_date=today - timedelta(days=199), today=today,
                   counterparty="ТОО «Балқаш Мыс» (демо)")
    journal.record(intake, actor=cement, kind="processed", quantity="9000", operation_code="R5",
                   event_date=today - timedelta(days=100), today=today)
    flag_overdue_streams(today=today)
