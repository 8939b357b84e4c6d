"""Recurring supply: tonnes a month over whole months; the registry reserves the first month."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from market.core.errors import DomainError
from market.core.timeutil import utcnow
from market.extensions import db
from market.lots.closing import close_lot
from market.lots.models import Lot
from market.lots.operations import create_lot, edit_lot, publish_lot, withdraw_lot
from market.registry.journal import record

D = Decimal


@pytest.fixture
def stocked(make_stream, owner):
    s = make_stream(code="100102", name="Зола-унос")
    record(s, actor=owner, kind="generated", quantity="100", event_date=date(2026, 1, 1))
    return s


def monthly(holder, owner, stream, per_month="80", start=date(2027, 1, 1), end=date(2027, 6, 1),
            **kw):
    kw.setdefault("pricing_mode", "free")
    return create_lot(holder, actor=owner, stream=stream, title="Зола ТЭЦ ежемесячно",
                      quantity=kw.pop("quantity", None), monthly_quantity=per_month,
                      supply_from=start, supply_to=end, **kw)


def _form(**kw):
    data = {"title": "Зола ТЭЦ", "description": "", "supply": "monthly", "quantity": "",
            "monthly_quantity": "80", "supply_from": "2027-01", "supply_to": "2027-06",
            "min_take": "", "pricing_mode": "free", "price": "", "price_basis": "per_t",
            "increment": "", "reserve_price": "", "ends_at": "", "anti_snipe_minutes": "0",
            "delivery": "pickup", "available_from": "", "available_to": ""}
    data.update(kw)
    return data


def test_total_is_monthly_times_months_and_the_first_month_is_reserved(holder, owner, stocked):
    lot = monthly(holder, owner, stocked, start=date(2027, 1, 15), end=date(2027, 6, 3))
    assert (lot.supply_from, lot.supply_to) == (date(2027, 1, 1), date(2027, 6, 30))
    assert lot.supply_months == 6 and lot.quantity == D("480") and lot.is_recurring
    assert lot.reserve_quantity == D("80")
    publish_lot(lot, actor=owner)
    assert stocked.reserved == D("80")  # the balance (100 t) covers the first month, not all 480 t
    withdraw_lot(lot, actor=owner, reason="Договорились напрямую")
    assert stocked.reserved == 0


def test_first_month_must_be_on_the_balance(holder, owner, stocked):
    lot = monthly(holder, owner, stocked, per_month="150")
    with pytest.raises(DomainError, match="не больше 100,000"):
        publish_lot(lot, actor=owner)


def test_closing_releases_the_first_month(holder, owner, stocked):
    lot = monthly(holder, owner, stocked, pricing_mode="sealed", ends_at=utcnow() + timedelta(days=1))
    publish_lot(lot, actor=owner)
    assert stocked.reserved == D("80")
    close_lot(lot, now=lot.ends_at)
    assert lot.state == "closed" and stocked.reserved == 0


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"start": None}, "укажите период"),
    ({"end": date(2027, 1, 20)}, "не меньше двух месяцев"),
    ({"end": date(2026, 12, 1)}, "не меньше двух месяцев"),
    ({"end": date(2037, 6, 1)}, "не больше 120"),
    ({"per_month": "0"}, "больше нуля"),
    ({"per_month": "abc"}, "числом"),
    ({"quantity": "100"}, "умноженный на число месяцев: 480,000"),
    ({"min_take": "90"}, "не больше объёма в месяц"),
])
def test_operation_refuses_bad_supplies(holder, owner, stocked, kwargs, message):
    with pytest.raises(DomainError, match=message):
        monthly(holder, owner, stocked, **kwargs)


def test_period_only_for_a_recurring_supply(holder, owner, stocked):
    with pytest.raises(DomainError, match="только для регулярной"):
        create_lot(holder, actor=owner, stream=stocked, title="Зола", quantity="10",
                   pricing_mode="free", supply_from=date(2027, 1, 1))
    with pytest.raises(DomainError, match="Укажите количество"):
        create_lot(holder, actor=owner, stream=stocked, title="Зола", quantity=None,
                   pricing_mode="free")


def test_editing_a_published_supply_moves_the_reserve_by_the_month(holder, owner, stocked):
    lot = monthly(holder, owner, stocked)
    publish_lot(lot, actor=owner)
    assert edit_lot(lot, actor=owner, monthly_quantity="90") == ["monthly_quantity", "quantity"]
    assert lot.quantity == D("540") and stocked.reserved == D("90")
    edit_lot(lot, actor=owner, supply_to=date(2027, 12, 1))  # a longer period reserves nothing more
    assert lot.quantity == D("1080") and stocked.reserved == D("90")
    edit_lot(lot, actor=owner, monthly_quantity="50")
    assert stocked.reserved == D("50")
    with pytest.raises(DomainError, match="не больше 50,000"):
        edit_lot(lot, actor=owner, monthly_quantity="101")
    with pytest.raises(DomainError, match="объёма в месяц"):
        edit_lot(lot, actor=owner, min_take="60")


def test_a_one_off_lot_stays_one_off(holder, owner, stocked):
    lot = create_lot(holder, actor=owner, stream=stocked, title="Зола", quantity="10",
                     pricing_mode="free")
    with pytest.raises(DomainError, match="выбирается при создании"):
        edit_lot(lot, actor=owner, monthly_quantity="5")
    assert edit_lot(lot, actor=owner, monthly_quantity="", supply_from=None, quantity="12") == [
        "quantity"]


def test_formation_supply_reserves_the_total_against_tonnage(holder, owner):
    from market.cadastre.operations import create_formation

    f = create_formation(holder, actor=owner, name="Отвал", kind="slag_heap",
                         region_kato="350000000", lat=49.8, lon=73.1, tonnage=1000)
    lot = create_lot(holder, actor=owner, formation=f, title="Шлак помесячно", quantity=None,
                     monthly_quantity="300", supply_from=date(2027, 1, 1),
                     supply_to=date(2027, 4, 1), pricing_mode="free")
    assert lot.reserve_quantity == D("1200")
    with pytest.raises(DomainError, match="не больше 1 000,000"):
        publish_lot(lot, actor=owner)


# the form --------------------------------------------------------------------------------

def test_form_creates_a_recurring_lot(client, auth, owner, stocked):
    auth.login(owner.email)
    page = client.get(f"/lots/new?stream={stocked.id}")
    assert 'type="month"' in page.text and 'name="supply"' in page.text
    r = client.post(f"/lots/new?stream={stocked.id}", data=_form(quantity="999"))
    assert r.status_code == 302, r.text
    lot = db.session.scalars(select(Lot).where(Lot.title == "Зола ТЭЦ")).one()
    assert lot.monthly_quantity == D("80") and lot.quantity == D("480")
    assert (lot.supply_from, lot.supply_to) == (date(2027, 1, 1), date(2027, 6, 30))
    page = client.get(f"/lots/{lot.id}").text
    assert "80,000 т в месяц, 01.2027 — 06.2027 (6 мес.)" in page
    assert "резервируется объём первого месяца" in page


@pytest.mark.parametrize(("changes", "message"), [
    ({"monthly_quantity": ""}, "Обязательное поле"),
    ({"supply_from": ""}, "Обязательное поле"),
    ({"supply_to": "2026-12"}, "от 2 до 120 месяцев"),
    ({"supply_to": "2027-01"}, "от 2 до 120 месяцев"),
    ({"supply_to": "июнь"}, "supply_to"),
    ({"monthly_quantity": "-5"}, "больше нуля"),
    ({"supply": "weekly"}, "supply"),
    ({"min_take": "81"}, "не больше объёма в месяц"),
])
def test_form_refuses_bad_supplies(client, auth, owner, stocked, changes, message):
    auth.login(owner.email)
    r = client.post(f"/lots/new?stream={stocked.id}", data=_form(**changes))
    assert r.status_code == 422
    assert message in r.text
    assert db.session.scalar(select(Lot.id).where(Lot.title == "Зола ТЭЦ")) is None


def test_form_one_off_ignores_the_supply_fields_and_needs_a_quantity(client, auth, owner, stocked):
    auth.login(owner.email)
    r = client.post(f"/lots/new?stream={stocked.id}", data=_form(supply="once"))
    assert r.status_code == 422  # no quantity
    r = client.post(f"/lots/new?stream={stocked.id}", data=_form(supply="once", quantity="12"))
    assert r.status_code == 302
    lot = db.session.scalars(select(Lot).where(Lot.title == "Зола ТЭЦ")).one()
    assert lot.quantity == D("12") and not lot.is_recurring and lot.supply_from is None


def test_edit_form_of_a_recurring_lot(client, auth, holder, owner, stocked):
    lot = monthly(holder, owner, stocked)
    publish_lot(lot, actor=owner)
    auth.login(owner.email)
    page = client.get(f"/lots/{lot.id}/edit")
    assert 'value="80"' in page.text and 'value="2027-06"' in page.text
    assert 'name="quantity"' not in page.text
    r = client.post(f"/lots/{lot.id}/edit", data={
        "title": lot.title, "description": "", "monthly_quantity": "150", "supply_from": "2027-01",
        "supply_to": "2027-06", "min_take": "", "delivery": "pickup"})
    assert r.status_code == 422 and "не больше 20,000" in r.text  # the reserve refused, shown
    r = client.post(f"/lots/{lot.id}/edit", data={
        "title": lot.title, "description": "", "monthly_quantity": "60", "supply_from": "2027-01",
        "supply_to": "2027-03", "min_take": "", "delivery": "pickup"})
    assert r.status_code == 302
    db.session.expire_all()
    assert lot.quantity == D("180") and stocked.reserved == D("60")
