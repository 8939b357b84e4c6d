"""Lots bound to the registry: reservation, state machine, editing rules."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest

from market.core.errors import DomainError, IllegalTransition, PermissionDenied
from market.core.timeutil import utcnow
from market.extensions import db
from market.lots.models import LotEvent
from market.lots.operations import LOT_FLOW, create_lot, edit_lot, publish_lot, withdraw_lot
from market.registry.journal import record
from market.registry.limits import flag_overdue_streams

D = Decimal


@pytest.fixture
def stocked(make_stream, owner):
    s = make_stream()
    record(s, actor=owner, kind="generated", quantity="100", event_date=date(2026, 1, 1))
    return s


def lot(holder, owner, stream, qty="60", mode="fixed", **kw):
    kw.setdefault("price", 500_000)
    return create_lot(holder, actor=owner, stream=stream, title="Шлак медный", quantity=qty,
                      pricing_mode=mode, **kw)


def test_publish_reserves_and_withdraw_releases(holder, owner, stocked):
    a = lot(holder, owner, stocked)
    assert a.state == "draft" and stocked.reserved == 0
    publish_lot(a, actor=owner)
    assert a.state == "published" and stocked.reserved == D("60")
    b = lot(holder, owner, stocked, qty="41")
    with pytest.raises(DomainError, match="не больше 40,000"):
        publish_lot(b, actor=owner)
    assert b.state == "draft"
    withdraw_lot(a, actor=owner, reason="Передумали")
    assert stocked.reserved == 0
    publish_lot(b, actor=owner)
    assert stocked.reserved == D("41")
    kinds = db.session.scalars(db.select(LotEvent.kind).where(LotEvent.lot_id == a.id)).all()
    assert kinds == ["created", "published", "withdrawn"]


def test_journal_refusal_names_the_lots(holder, owner, stocked):
    publish_lot(lot(holder, owner, stocked, qty="90"), actor=owner)
    with pytest.raises(DomainError) as err:
        record(stocked, actor=owner, kind="transferred_out", quantity="20", event_date=date(2026, 2, 1))
    assert "«Шлак медный»" in str(err.value)
    record(stocked, actor=owner, kind="transferred_out", quantity="10", event_date=date(2026, 2, 1))


def test_only_verified_organisations_publish(create_org, make_stream):
    org = create_org(state="pending")
    boss = org.owners[0].user
    from market.registry import operations as ops

    site = ops.create_site(org, actor=boss, name="S", kind="storage", region_kato="350000000",
                           address="x")
    s = ops.create_stream(site, actor=boss, waste_code="100201", name="Шлак",
                          physical_state="solid", storage_purpose="recovery")
    record(s, actor=boss, kind="generated", quantity="5", event_date=date(2026, 1, 1))
    draft = lot(org, boss, s, qty="5")  # preparing data is allowed
    with pytest.raises(DomainError, match="подтверждённые"):
        publish_lot(draft, actor=boss)


def test_viewer_and_member_cannot_manage_lots(holder, stocked, create_user, add_member):
    for role in ("viewer", "member"):
        u = create_user()
        add_member(holder, u, role)
        with pytest.raises(PermissionDenied):
            lot(holder, u, stocked)


def test_terms_are_validated(holder, owner, stocked):
    soon = utcnow() + timedelta(days=3)
    with pytest.raises(DomainError, match="цену"):
        lot(holder, owner, stocked, price=None)
    with pytest.raises(DomainError, match="шаг"):
        lot(holder, owner, stocked, mode="english", ends_at=soon)
    with pytest.raises(DomainError, match="окончания"):
        lot(holder, owner, stocked, mode="english", increment=10_000)
    with pytest.raises(DomainError, match="Резервная"):
        lot(holder, owner, stocked, mode="english", increment=10_000, ends_at=soon, reserve_price=1)
    with pytest.raises(DomainError, match="Минимальная"):
        lot(holder, owner, stocked, min_take="61")
    free = lot(holder, owner, stocked, mode="free", price=None)
    assert free.pricing_mode == "free"


def test_mandatory_offer_stays_published(app, holder, owner, make_stream):
    s = make_stream(purpose="generation")
    record(s, actor=owner, kind="generated", quantity="10", event_date=date(2025, 1, 1),
           today=date(2025, 1, 1))
    flag_overdue_streams()
    a = lot(holder, owner, s, qty="10")
    publish_lot(a, actor=owner)
    assert a.mandatory
    with pytest.raises(DomainError, match="Обязательное"):
        withdraw_lot(a, actor=owner, reason="x")
    days = app.config["MANDATORY_OFFER_DAYS"]
    withdraw_lot(a, actor=owner, reason="x", now=a.published_at + timedelta(days=days))
    assert a.state == "withdrawn"


def test_edit_after_publication(holder, owner, stocked):
    a = lot(holder, owner, stocked)
    publish_lot(a, actor=owner)
    assert edit_lot(a, actor=owner, quantity="70", description="Гранулированный") == [
        "description", "quantity"]
    assert stocked.reserved == D("70")
    edit_lot(a, actor=owner, quantity="50")
    assert stocked.reserved == D("50")
    with pytest.raises(DomainError, match="способ продажи"):
        edit_lot(a, actor=owner, pricing_mode="english")
    with pytest.raises(DomainError):
        edit_lot(a, actor=owner, quantity="101")
    history = db.session.scalars(db.select(LotEvent).where(LotEvent.lot_id == a.id,
                                                           LotEvent.kind == "edited")).all()
    assert len(history) == 2


def test_formation_lot_within_tonnage(holder, owner):
    from market.cadastre.operations import create_formation

    f = create_formation(holder, actor=owner, name="Отвал", kind="slag_heap",
                         region_kato="350000000", lat=49.8, lon=73.1, tonnage=1000)
    a = create_lot(holder, actor=owner, formation=f, title="Отвал целиком", quantity="800",
                   pricing_mode="free")
    publish_lot(a, actor=owner)
    b = create_lot(holder, actor=owner, formation=f, title="Ещё", quantity="201",
                   pricing_mode="free")
    with pytest.raises(DomainError, match="не больше 200,000"):
        publish_lot(b, actor=owner)


@pytest.mark.parametrize("state,action,target", list(LOT_FLOW.table()))
def test_state_table(state, action, target, holder, owner, stocked):
    a = lot(holder, owner, stocked)
    a.state = state
    if target is None:
        with pytest.raises(IllegalTransition):
            LOT_FLOW.target(state, action)
    else:
        assert LOT_FLOW.target(state, action) == target


def test_compliance_view_shows_stock_not_yet_offered(client, auth, holder, owner, make_stream):
    s = make_stream(purpose="generation")
    record(s, actor=owner, kind="generated", quantity="10", event_date=date(2025, 1, 1),
           today=date(2025, 1, 1))
    flag_overdue_streams()
    publish_lot(lot(holder, owner, s, qty="4"), actor=owner)
    db.session.flush()
    auth.login(owner.email)
    page = client.get(f"/registry/orgs/{holder.id}/compliance")
    assert page.status_code == 200
    assert re.search(r'data-testid="not-offered">6,000</td>', page.text)
    assert f"/lots/new?stream={s.id}" in page.text
