"""The licence rule: which lots an organisation may take (SQL condition, one lot, the lot page)."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from market.accounts.licences import add_licence, revoke_licence
from market.cadastre.operations import create_formation
from market.core.errors import DomainError
from market.core.timeutil import today_almaty
from market.extensions import db
from market.lots.eligibility import (
    allowed_condition,
    can_take,
    eligibility,
    require_can_take,
    valid_licences,
)
from market.lots.models import Lot
from market.lots.operations import create_lot, publish_lot
from market.registry import operations as reg
from market.registry.journal import record

# name -> (code, hazardous?)
CODES = {
    "slag": "100201",        # 10 02 01  processing of slag (iron and steel): not hazardous
    "steel_dust": "100207",  # 10 02 07* solid wastes from gas treatment: hazardous
    "steel_sludge": "100213",  # 10 02 13* sludges from gas treatment: hazardous
    "copper_dust": "100603",  # 10 06 03* flue-gas dust (copper): hazardous
    "lead_slag": "100401",   # 10 04 01* slags from lead thermal metallurgy: hazardous
    "batteries": "160601",   # 16 06 01* lead batteries: hazardous
    "cardboard": "150101",   # 15 01 01  paper and cardboard packaging: not hazardous
}
HAZARDOUS = {"steel_dust", "steel_sludge", "copper_dust", "lead_slag", "batteries"}
SAFE = {"slag", "cardboard", "tailings_heap"}  # the TMO lot has no waste code


@pytest.fixture
def lots(holder, owner, site, make_stream):
    """One draft lot per waste code above, and a formation lot without a code."""
    out = {}
    for name, code in CODES.items():
        stream = make_stream(code=code, name=name, hps=["HP14"] if name in HAZARDOUS else None)
        out[name] = create_lot(holder, actor=owner, stream=stream, title=name, quantity="10",
                               pricing_mode="free")
    heap = create_formation(holder, actor=owner, name="Хвостохранилище", kind="tailings",
                            region_kato="350000000", lat=46.9, lon=75.0, tonnage="1000000")
    out["tailings_heap"] = create_lot(holder, actor=owner, formation=heap, title="tailings_heap",
                                      quantity="1000", pricing_mode="free")
    db.session.flush()
    return out


@pytest.fixture
def processor(create_org):
    return create_org(kinds=("processor",), name="ТОО «Переработчик»")


@pytest.fixture
def boss(processor):
    return processor.owners[0].user


def licence(org, scopes, *, operations=("R4",), number=None, valid_from=date(2024, 1, 1),
            valid_to=None):
    return add_licence(org, actor=org.owners[0].user, number=number or f"KZ-{scopes}",
                       valid_from=valid_from, valid_to=valid_to, scopes=scopes,
                       operations=list(operations))


def allowed(org, lots, on=None) -> set[str]:
    ids = {lot.id: name for name, lot in lots.items()}
    found = db.session.scalars(select(Lot.id).where(Lot.id.in_(ids), allowed_condition(org, on)))
    names = {ids[i] for i in found}
    # the SQL condition and the one-lot check always agree
    assert names == {name for name, lot in lots.items() if can_take(org, lot, on=on)[0]}
    return names


def test_without_a_licence_only_non_hazardous_and_uncoded(processor, lots):
    assert allowed(processor, lots) == SAFE
    assert allowed(None, lots) == SAFE  # anonymous / no organisation


def test_subchapter_covers_its_codes(processor, lots):
    licence(processor, "10 02")
    assert allowed(processor, lots) == SAFE | {"steel_dust", "steel_sludge"}


def test_code_covers_only_itself(processor, lots):
    licence(processor, "10 02 07*")
    assert allowed(processor, lots) == SAFE | {"steel_dust"}


def test_chapter_covers_the_whole_chapter(processor, lots):
    licence(processor, "10")
    assert allowed(processor, lots) == SAFE | {"steel_dust", "steel_sludge", "copper_dust",
                                               "lead_slag"}


def test_licences_add_up(processor, lots):
    licence(processor, "16 06 01*")
    licence(processor, "10 04, 10 06 03*")
    assert allowed(processor, lots) == SAFE | {"batteries", "lead_slag", "copper_dust"}


def test_expired_and_future_licences_count_only_on_their_days(processor, lots):
    today = today_almaty()
    licence(processor, "16 06", number="old", valid_from=date(2019, 1, 1),
            valid_to=today - timedelta(days=1))
    licence(processor, "10 06", number="new", valid_from=today + timedelta(days=30))
    assert allowed(processor, lots) == SAFE
    assert allowed(processor, lots, on=today - timedelta(days=1)) == SAFE | {"batteries"}
    assert allowed(processor, lots, on=today + timedelta(days=30)) == SAFE | {"copper_dust"}
    assert [lic.number for lic in valid_licences(processor, today + timedelta(days=30))] == ["new"]


def test_revoked_licence_does_not_count(processor, boss, lots):
    lic = licence(processor, "10")
    revoke_licence(lic, actor=boss, reason="Отозвана комитетом")
    assert allowed(processor, lots) == SAFE
    assert valid_licences(processor) == []


def test_another_organisations_licence_does_not_count(processor, create_org, lots):
    other = create_org(kinds=("processor",))
    licence(other, "10, 16")
    assert allowed(processor, lots) == SAFE
    assert allowed(other, lots) == set(lots)


def test_condition_combines_with_other_filters(processor, lots):
    licence(processor, "10 06")
    stmt = select(Lot.title).where(Lot.waste_code.like("10%"), allowed_condition(processor))
    titles = set(db.session.scalars(stmt.where(Lot.id.in_([lot.id for lot in lots.values()]))))
    assert titles == {"slag", "copper_dust"}


# can_take: the reasons ----------------------------------------------------------------------
def test_non_hazardous_needs_nothing(processor, lots):
    assert can_take(processor, lots["slag"]) == (True, None)
    assert can_take(processor, lots["slag"], "D1") == (True, None)
    assert can_take(processor, lots["tailings_heap"]) == (True, None)
    assert can_take(None, lots["cardboard"]) == (True, None)


def test_reason_without_a_licence(processor, lots):
    ok, reason = can_take(processor, lots["steel_dust"])
    assert not ok
    assert reason == ("Отход 10 02 07* опасный: ставку или заявку может подать только организация "
                      "с действующей лицензией, которая покрывает этот код.")
    ok, reason = can_take(None, lots["steel_dust"])
    assert not ok and "Выберите организацию" in reason


def test_reason_when_the_licence_expired_or_has_not_started(processor, lots):
    licence(processor, "10 02", number="KZ-OLD", valid_from=date(2020, 1, 1),
            valid_to=date(2025, 3, 31))
    ok, reason = can_take(processor, lots["steel_dust"], on=date(2026, 1, 10))
    assert not ok
    assert reason == ("Лицензия № KZ-OLD на отход 10 02 07* истекла 31.03.2025: для ставки или "
                      "заявки нужна действующая лицензия.")
    licence(processor, "10 02 07*", number="KZ-NEXT", valid_from=date(2026, 2, 1))
    ok, reason = can_take(processor, lots["steel_dust"], on=date(2026, 1, 10))
    assert reason == "Лицензия № KZ-NEXT на отход 10 02 07* начнёт действовать 01.02.2026."
    assert can_take(processor, lots["steel_dust"], on=date(2026, 2, 1)) == (True, None)


def test_operation_must_be_in_the_licence(processor, lots):
    licence(processor, "10 06 03*", number="KZ-R4", operations=["R4", "R13"])
    assert can_take(processor, lots["copper_dust"], "R4") == (True, None)
    assert can_take(processor, lots["copper_dust"], "r13") == (True, None)
    ok, reason = can_take(processor, lots["copper_dust"], "D10")
    assert not ok
    assert reason == "Лицензия № KZ-R4 покрывает отход 10 06 03*, но не операцию D10."
    licence(processor, "10 06", number="KZ-D", operations=["D10"])
    result = eligibility(processor, lots["copper_dust"], "D10")
    assert result.allowed and result.licence.number == "KZ-D"


def test_require_can_take_raises_the_same_reason(processor, lots):
    with pytest.raises(DomainError) as exc:
        require_can_take(processor, lots["batteries"])
    assert str(exc.value) == can_take(processor, lots["batteries"])[1]
    licence(processor, "16 06 01*")
    require_can_take(processor, lots["batteries"])  # no error


# The lot page --------------------------------------------------------------------------------
@pytest.fixture
def dust_lot(holder, owner, make_stream):
    stream = make_stream(code="100207", name="Пыль газоочистки", hps=["HP14"])
    reg.save_passport(stream, actor=owner, composition="Pb, Zn", handling="h", transport="t",
                      emergency="e", compiled_by="Эколог", compiled_on=date(2026, 1, 1),
                      hazard_properties=["HP14"])
    record(stream, actor=owner, kind="generated", quantity="50", event_date=date(2026, 1, 1))
    lot = create_lot(holder, actor=owner, stream=stream, title="Пыль газоочистки", quantity="50",
                     pricing_mode="free")
    publish_lot(lot, actor=owner)
    return lot


def test_lot_page_tells_a_processor_a_licence_is_needed(client, auth, processor, boss, dust_lot):
    auth.login(boss.email)
    page = client.get(f"/lots/{dust_lot.id}")
    assert 'data-testid="lot-eligibility" data-allowed="0"' in page.text
    assert "нужна действующая лицензия, покрывающая код 10 02 07*" in page.text
    assert f"/orgs/{processor.id}/licences/new" in page.text
    licence(processor, "10 02", number="KZ15VEG00067890")
    page = client.get(f"/lots/{dust_lot.id}")
    assert 'data-allowed="1"' in page.text and "Лицензия № KZ15VEG00067890" in page.text


def test_member_without_rights_gets_no_add_button(client, auth, processor, create_user, add_member,
                                                 dust_lot):
    member = create_user()
    add_member(processor, member, "member")
    member.current_org_id = processor.id
    db.session.flush()
    auth.login(member.email)
    page = client.get(f"/lots/{dust_lot.id}")
    assert "Нужна лицензия" in page.text and "/licences/new" not in page.text
    assert f"/orgs/{processor.id}/licences" in page.text


def test_lot_page_says_nothing_to_anonymous_or_the_holder(client, auth, owner, dust_lot):
    assert "lot-eligibility" not in client.get(f"/lots/{dust_lot.id}").text
    auth.login(owner.email)
    assert "lot-eligibility" not in client.get(f"/lots/{dust_lot.id}").text


def test_lot_page_names_an_expired_licence(client, auth, processor, boss, dust_lot):
    licence(processor, "10 02 07*", number="KZ-OLD", valid_from=date(2020, 1, 1),
            valid_to=today_almaty() - timedelta(days=1))
    auth.login(boss.email)
    page = client.get(f"/lots/{dust_lot.id}")
    assert 'data-allowed="0"' in page.text and "Лицензия № KZ-OLD на отход 10 02 07* истекла" in page.text
