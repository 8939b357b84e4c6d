"""Fifty organisations bidding on one lot at the same moment (PostgreSQL, real connections).

Nothing is lost and no rule is broken: every attempt is either accepted or refused by a rule;
accepted bids rise by at least the step in the order they were accepted; there is exactly one
leader; a serial replay of the accepted bids ends in the same state. A fixed-price lot with
stock for ten sells ten, never more.
"""

from __future__ import annotations

import random
import threading
from decimal import Decimal
from itertools import pairwise

import pytest
from sqlalchemy import select

from market import create_app
from market.accounts.models import Membership, Organization, OrgRole, User
from market.auctions.auction import auction_of
from market.auctions.bidding import place_bid
from market.auctions.models import Auction, Bid, BidEvent
from market.auctions.rules import Entry, replay
from market.core.errors import DomainError
from market.core.timeutil import utcnow
from market.core.txn import commit, rollback
from market.extensions import db
from market.lots.models import Lot
from market.lots.operations import create_lot, publish_lot
from market.registry.journal import record
from market.registry.models import WasteStream
from tests.conftest import create_database, is_postgres, make_config, prepare_database
from tests.factories import seed_holder, valid_bin

pytestmark = pytest.mark.skipif(not is_postgres(), reason="parallel writers need PostgreSQL")

N = 50
START, STEP = 100_000_000, 25_000_000


@pytest.fixture
def wide_app():
    """committed_app with a connection for each of the N threads."""
    url, drop = create_database("bids")
    app = create_app(make_config(url, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": N + 2,
                                                                 "max_overflow": 0}))
    prepare_database(app)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    drop()


def seed(app, mode: str, **terms) -> tuple[int, list[tuple[int, int]]]:
    """A published lot of ``mode`` and N verified bidders: (lot id, [(org id, user id)])."""
    from datetime import date, timedelta

    uid, org_id, sid = seed_holder(app, 1)
    with app.app_context():
        user, org = db.session.get(User, uid), db.session.get(Organization, org_id)
        stream = db.session.get(WasteStream, sid)
        record(stream, actor=user, kind="generated", quantity="1000", event_date=date(2026, 1, 1))
        if mode != "fixed":
            terms.setdefault("ends_at", utcnow() + timedelta(days=2))
        lot = create_lot(org, actor=user, stream=stream, title="Шлак", quantity="10",
                         pricing_mode=mode, **terms)
        publish_lot(lot, actor=user)
        bidders = []
        for i in range(N):
            person = User(email=f"bidder{i}@example.kz", full_name=f"Bidder {i}", password_hash="x")
            firm = Organization(bin=valid_bin(7000 + i), name=f"ТОО Покупатель {i}",
                                region_kato="350000000", address="x", state="verified")
            firm.kinds = ["processor"]
            db.session.add_all([person, firm])
            db.session.flush()
            db.session.add(Membership(user=person, organization=firm, role=OrgRole.owner.value))
            bidders.append((firm, person))
        commit()
        return lot.id, [(firm.id, person.id) for firm, person in bidders]


def run_all(app, lot_id, bidders, attempt) -> list[tuple]:
    """Each bidder in its own thread and connection, released together; their results."""
    barrier = threading.Barrier(len(bidders))
    results: list[tuple] = []

    def worker(org_id, user_id):
        with app.app_context():
            lot, org = db.session.get(Lot, lot_id), db.session.get(Organization, org_id)
            user = db.session.get(User, user_id)
            _ = user.memberships, lot.code, lot.organization
            try:
                barrier.wait()
                results.extend(attempt(lot, org, user))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=b) for b in bidders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)
    return results


def try_bid(lot, org, user, **kw) -> tuple:
    try:
        bid = place_bid(lot, actor=user, organization=org, **kw)
        bid_id = bid.id
        commit()
        return ("ok", bid_id)
    except DomainError as exc:
        rollback()
        return ("refused", str(exc))


def test_fifty_bidders_on_one_english_lot(wide_app):
    app = wide_app
    lot_id, bidders = seed(app, "english", price=START, increment=STEP)

    def attempt(lot, org, user):
        out = []
        rng = random.Random(org.id)
        for _ in range(3):  # read the price (no lock), bid a step or a few above it
            db.session.expire_all()
            auction = auction_of(lot)
            price = auction.price if auction is not None else None
            amount = START if price is None else price + STEP * rng.randint(1, 3)
            out.append(try_bid(lot, org, user, amount=amount))
        return out

    results = run_all(app, lot_id, bidders, attempt)
    assert len(results) == 3 * N
    accepted = [r[1] for r in results if r[0] == "ok"]
    refusals = [r[1] for r in results if r[0] == "refused"]
    assert len(accepted) + len(refusals) == 3 * N
    assert len(accepted) > 1 and refusals  # several got through, and they did collide
    # a rule refused the others: under the step, or a leader's new limit not above its old one
    assert all("не меньше" in text or "лидирует" in text for text in refusals), set(refusals)
    with app.app_context():
        lot = db.session.get(Lot, lot_id)
        log = db.session.scalars(select(BidEvent).where(BidEvent.lot_id == lot_id)
                                 .order_by(BidEvent.id)).all()
        # every accepted attempt is in the log once: a new bid, or the leader raising its limit
        assert sorted(accepted) == sorted(e.bid_id for e in log)
        assert {e.kind for e in log} <= {"placed", "revised"}
        bids = db.session.scalars(select(Bid).where(Bid.lot_id == lot_id).order_by(Bid.id)).all()
        assert [e.bid_id for e in log if e.kind == "placed"] == [b.id for b in bids]
        amounts = [b.amount for b in bids]
        assert amounts[0] >= START
        assert all(later - earlier >= STEP for earlier, later in pairwise(amounts))
        prices = [e.price for e in log if e.kind == "placed"]  # the visible price after each bid
        assert all(later - earlier >= STEP for earlier, later in pairwise(prices))
        auction = db.session.scalar(select(Auction).where(Auction.lot_id == lot_id))
        leaders = [b for b in bids if b.state == "active"]
        assert len(leaders) == 1 and leaders[0].id == auction.leader_bid_id
        assert all(b.state == "outbid" for b in bids if b is not leaders[0])
        assert auction.bid_count == len(bids) and auction.price == log[-1].price
        # the serial replay: the rules alone, and the same submissions on a twin lot, one by one
        entries = [Entry(e.bid_id, e.organization_id, e.amount,
                         e.max_amount if e.max_amount is not None else e.amount) for e in log]
        book = replay("english", entries, increment=STEP, reserve=None)
        assert (book.leader.org_id, book.price) == (auction.leader.organization_id, auction.price)
        holder = lot.organization.owners[0].user
        twin = create_lot(lot.organization, actor=holder, stream=lot.stream, title="Двойник",
                          quantity="10", pricing_mode="english", price=START, increment=STEP,
                          ends_at=lot.ends_at)
        publish_lot(twin, actor=holder)
        for e in log:
            place_bid(twin, actor=db.session.get(User, e.actor_id),
                      organization=db.session.get(Organization, e.organization_id),
                      amount=e.amount, max_amount=e.max_amount)
        commit()
        again = auction_of(twin)
        assert (again.price, again.leader.organization_id, again.bid_count) == (
            auction.price, auction.leader.organization_id, auction.bid_count)

        def shape(lot_id):
            return [(b.organization_id, b.amount, b.max_amount, b.state) for b in db.session.scalars(
                select(Bid).where(Bid.lot_id == lot_id).order_by(Bid.id))]

        assert shape(twin.id) == shape(lot_id)


def test_fifty_buyers_stock_for_ten(wide_app):
    app = wide_app
    lot_id, bidders = seed(app, "fixed", price=500_000)
    results = run_all(app, lot_id, bidders,
                      lambda lot, org, user: [try_bid(lot, org, user, amount=500_000, quantity="1")])
    sold = [r for r in results if r[0] == "ok"]
    refusals = [r[1] for r in results if r[0] == "refused"]
    assert len(sold) == 10 and len(refusals) == N - 10
    assert all("Лот распродан" in text for text in refusals), set(refusals)
    with app.app_context():
        bids = db.session.scalars(select(Bid).where(Bid.lot_id == lot_id)).all()
        assert len(bids) == 10 and sum(b.quantity for b in bids) == Decimal("10")
        auction = db.session.scalar(select(Auction).where(Auction.lot_id == lot_id))
        assert auction.sold == Decimal("10") and auction.bid_count == 10


def test_a_double_submission_from_ten_threads_is_one_bid(wide_app):
    app = wide_app
    lot_id, bidders = seed(app, "english", price=START, increment=STEP)
    org_id, user_id = bidders[0]
    results = run_all(app, lot_id, [(org_id, user_id)] * 10,
                      lambda lot, org, user: [try_bid(lot, org, user, amount=START,
                                                      idempotency_key="click-1")])
    assert [r[0] for r in results] == ["ok"] * 10
    assert len({r[1] for r in results}) == 1
    with app.app_context():
        assert len(db.session.scalars(select(Bid.id).where(Bid.lot_id == lot_id)).all()) == 1
        assert len(db.session.scalars(select(BidEvent.id).where(BidEvent.lot_id == lot_id)).all()) == 1
