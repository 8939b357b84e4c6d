"""Who may bid, on what; double submissions; the append-only bid log; deposits."""

from datetime import date, datetime, time, timedelta

import pytest
import time_machine
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError

from market.accounts.licences import add_licence
from market.auctions import auction as auction_row
from market.auctions.auction import auction_of
from market.auctions.bidding import activate_bid, place_bid, withdraw_bid
from market.auctions.models import Bid, BidEvent
from market.auctions.query import visible_bids
from market.core.errors import PermissionDenied
from market.core.models import AuditEvent
from market.core.timeutil import ALMATY, today_almaty
from market.extensions import db
from market.lots.operations import withdraw_lot
from market.registry import operations as reg
from tests.auctions.helpers import refused

MLN = 100_000_000


@pytest.fixture
def dust_stream(make_stream, owner):
    """A hazardous stream (10 02 07*) with its passport and stock."""
    from market.registry.journal import record

    stream = make_stream(code="100207", name="Пыль газоочистки", hps=["HP14"])
    reg.save_passport(stream, actor=owner, composition="Pb, Zn", handling="h", transport="t",
                      emergency="e", compiled_by="Эколог", compiled_on=date(2026, 1, 1),
                      hazard_properties=["HP14"])
    record(stream, actor=owner, kind="generated", quantity="50", event_date=date(2026, 1, 1))
    return stream


def _setup(case, *, make_lot, bidder, create_org, create_user, add_member, holder, owner,
           dust_stream):
    """(lot, organisation, acting user) for one eligibility case."""
    lot = make_lot("english")
    org, boss = bidder()
    if case == "ok":
        return lot, org, boss
    if case == "manager":
        user = create_user()
        add_member(org, user, "manager")
        return lot, org, user
    if case in ("member", "viewer"):
        user = create_user()
        add_member(org, user, case)
        return lot, org, user
    if case == "outsider":
        return lot, org, create_user()
    if case in ("pending", "rejected", "suspended"):
        org = create_org(kinds=("processor",), state=case)
        return lot, org, org.owners[0].user
    if case == "own_lot":
        return lot, holder, owner
    if case in ("hazardous", "hazardous_licensed"):
        lot = make_lot("english", stream=dust_stream)
        if case == "hazardous_licensed":
            add_licence(org, actor=boss, number="KZ-1", valid_from=date(2024, 1, 1),
                        scopes="10 02", operations=["R4"])
        return lot, org, boss
    if case == "draft":
        return make_lot("english", publish=False), org, boss
    if case == "withdrawn":
        withdraw_lot(lot, actor=owner, reason="Продали вне площадки")
        return lot, org, boss
    if case == "free":
        return make_lot("free"), org, boss
    raise AssertionError(case)


@pytest.mark.parametrize(("case", "refusal"), [
    ("ok", None),
    ("manager", None),
    ("member", (PermissionDenied, "владелец и менеджеры")),
    ("viewer", (PermissionDenied, "владелец и менеджеры")),
    ("outsider", (PermissionDenied, "владелец и менеджеры")),
    ("pending", "только подтверждённые организации"),
    ("rejected", "только подтверждённые организации"),
    ("suspended", "только подтверждённые организации"),
    ("own_lot", "Нельзя делать ставки на лот своей организации"),
    ("hazardous", "Отход 10 02 07* опасный: ставку или заявку может подать только организация с "
                  "действующей лицензией"),
    ("hazardous_licensed", None),
    ("draft", "Лот не принимает ставки: он в состоянии «Черновик»"),
    ("withdrawn", "Лот не принимает ставки: он в состоянии «Снят»"),
    ("free", "Лот передаётся безвозмездно по заявке"),
])
def test_who_may_bid(case, refusal, make_lot, bidder, create_org, create_user, add_member,
                     holder, owner, dust_stream):
    lot, org, actor = _setup(case, make_lot=make_lot, bidder=bidder, create_org=create_org,
                             create_user=create_user, add_member=add_member, holder=holder,
                             owner=owner, dust_stream=dust_stream)
    amount = lot.price or 0
    if refusal is None:
        made = place_bid(lot, actor=actor, organization=org, amount=amount)
        assert made.state == "active" and made.placed_by_id == actor.id
        return
    exc, text = refusal if isinstance(refusal, tuple) else (Exception, refusal)
    with refused(text, exc):
        place_bid(lot, actor=actor, organization=org, amount=amount)
    assert db.session.scalar(select(Bid.id).where(Bid.lot_id == lot.id)) is None


@pytest.mark.parametrize("amount", ["1000", 10.5, -1, True, None])
def test_amount_must_be_whole_tiyn(make_lot, bidder, amount):
    org, user = bidder()
    with refused("Сумма ставки"):
        place_bid(make_lot("english"), actor=user, organization=org, amount=amount)


def test_double_submission_returns_the_first_bid(make_lot, bidder):
    lot = make_lot("english")
    org, user = bidder()
    first = place_bid(lot, actor=user, organization=org, amount=MLN, idempotency_key="k-1")
    again = place_bid(lot, actor=user, organization=org, amount=MLN, idempotency_key="k-1")
    assert again == first
    assert db.session.scalar(select(db.func.count()).select_from(BidEvent)
                             .where(BidEvent.lot_id == lot.id)) == 1
    with refused("Ключ повторной отправки «k-1» уже использован для другой ставки"):
        place_bid(lot, actor=user, organization=org, amount=MLN + 25_000_000, idempotency_key="k-1")
    other, boss = bidder()  # keys are per organisation
    assert place_bid(lot, actor=boss, organization=other, amount=MLN + 25_000_000,
                     idempotency_key="k-1") != first
    with refused("не длиннее 64 символов"):
        place_bid(lot, actor=user, organization=org, amount=MLN * 2, idempotency_key="x" * 65)


def test_every_change_is_logged_and_audited(make_lot, bidder):
    lot = make_lot("sealed")
    org, user = bidder()
    made = place_bid(lot, actor=user, organization=org, amount=400_000, idempotency_key="a")
    place_bid(lot, actor=user, organization=org, amount=450_000, idempotency_key="b")
    withdraw_bid(made, actor=user, reason="Передумали")
    log = db.session.scalars(select(BidEvent).where(BidEvent.bid_id == made.id)
                             .order_by(BidEvent.id)).all()
    assert [(e.kind, e.amount, e.state, e.idempotency_key, e.actor_id) for e in log] == [
        ("placed", 400_000, "active", "a", user.id), ("revised", 450_000, "active", "b", user.id),
        ("withdrawn", 450_000, "withdrawn", None, user.id)]
    assert log[-1].reason == "Передумали"
    actions = db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == "Bid", AuditEvent.object_id == str(made.id))
        .order_by(AuditEvent.id)).all()
    assert actions == ["bid.placed", "bid.revised", "bid.withdrawn"]


@pytest.mark.parametrize("statement", ["update", "delete"])
def test_the_database_refuses_to_change_the_bid_log(make_lot, bidder, statement):
    lot = make_lot("english")
    org, user = bidder()
    place_bid(lot, actor=user, organization=org, amount=MLN)
    stmt = (update(BidEvent).values(amount=1) if statement == "update" else delete(BidEvent))
    with pytest.raises(DBAPIError, match="append-only"), db.session.begin_nested():
        db.session.execute(stmt.where(BidEvent.lot_id == lot.id))
    assert db.session.scalar(select(BidEvent.amount).where(BidEvent.lot_id == lot.id)) == MLN


@pytest.fixture
def deposits():
    previous = auction_row.set_deposit_policy(lambda lot, org: True)
    yield
    auction_row.set_deposit_policy(previous)


def test_a_bid_counts_only_once_its_deposit_is_held(deposits, make_lot, bidder, owner):
    lot = make_lot("english")
    (a, boss_a), (b, boss_b), (c, boss_c) = bidder(), bidder(), bidder()
    waiting = place_bid(lot, actor=boss_a, organization=a, amount=MLN)
    assert waiting.state == "pending_deposit"
    auction = auction_of(lot)
    assert auction.price is None and auction.leader_bid_id is None and auction.bid_count == 0
    assert visible_bids(lot, owner) == [] and len(visible_bids(lot, boss_a)) == 1
    with refused("Ваша прежняя ставка ждёт задатка"):
        place_bid(lot, actor=boss_a, organization=a, amount=MLN * 2)
    activate_bid(waiting)
    assert waiting.state == "active" and auction.price == MLN and auction.leader_bid_id == waiting.id
    step = MLN // 4
    paid = place_bid(lot, actor=boss_b, organization=b, amount=MLN + step)
    late = place_bid(lot, actor=boss_c, organization=c, amount=MLN + step)  # valid when placed
    activate_bid(paid)
    assert auction.price == MLN + step and waiting.state == "outbid"
    with refused("Ставка должна быть не меньше 1 500 000 ₸ (текущая цена + шаг)"):
        activate_bid(late)  # the rules apply again when it starts to count
    withdraw_bid(late, actor=boss_c, reason="Задаток не внесён")
    assert late.state == "withdrawn"


def test_a_purchase_takes_stock_only_once_paid(deposits, make_lot, bidder):
    lot = make_lot("fixed", qty="10")
    (a, boss_a), (b, boss_b) = bidder(), bidder()
    first = place_bid(lot, actor=boss_a, organization=a, amount=500_000, quantity="8")
    second = place_bid(lot, actor=boss_b, organization=b, amount=500_000, quantity="5")
    activate_bid(second)
    assert auction_of(lot).sold == 5
    with refused("Можно купить не больше 5,000 т"):
        activate_bid(first)


def test_a_key_raced_onto_another_lot_is_refused(monkeypatch, make_lot, bidder):
    """Two lots, one key, at the same moment: the lookup before the lock misses the other."""
    org, user = bidder()
    first, second = make_lot("english"), make_lot("english")
    place_bid(first, actor=user, organization=org, amount=MLN, idempotency_key="same")
    monkeypatch.setattr("market.auctions.bidding._replayed", lambda *a, **k: None)
    with refused("Ключ повторной отправки «same» уже использован для другой ставки"):
        place_bid(second, actor=user, organization=org, amount=MLN, idempotency_key="same")


def test_a_write_that_lost_the_race_is_refused_clearly(monkeypatch, make_lot, bidder):
    """SQLite has no row lock: the auction's version check catches a concurrent write."""
    from sqlalchemy import text

    lot = make_lot("english")
    org, user = bidder()
    place_bid(lot, actor=user, organization=org, amount=MLN)

    def meanwhile(lot, org):  # another writer commits between our read and our write
        db.session.execute(text("UPDATE auction SET version = version + 1 WHERE lot_id = :id"),
                           {"id": lot.id})
        return False

    monkeypatch.setattr("market.auctions.bidding.deposit_required", meanwhile)
    other, boss = bidder()
    with refused("торги по лоту изменились"), db.session.begin_nested():
        place_bid(lot, actor=boss, organization=other, amount=MLN + MLN // 4)


def test_a_licence_counts_on_the_day_of_the_bid(make_lot, bidder, dust_stream):
    """Time travel: the licence ends today; two days later the hazardous lot refuses the bid."""
    lot = make_lot("english", stream=dust_stream, days=5)
    (org, boss), (late, late_boss) = bidder(), bidder()
    for who, user in ((org, boss), (late, late_boss)):
        add_licence(who, actor=user, number="KZ-2", valid_from=date(2024, 1, 1),
                    valid_to=today_almaty(), scopes="10 02", operations=["R4"])
    place_bid(lot, actor=boss, organization=org, amount=MLN)
    later = datetime.combine(today_almaty() + timedelta(days=2), time(12), tzinfo=ALMATY)
    with time_machine.travel(later, tick=False), refused("истекла"):
        place_bid(lot, actor=late_boss, organization=late, amount=MLN + MLN // 4)
