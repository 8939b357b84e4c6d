"""Bidding notices: outbid (in-app and e-mail, after commit), lost by e-mail, and the
"auction ends soon" reminder, exactly once per lot and user, with time travel."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from market.auctions.auction import auction_of
from market.auctions.bid_notices import AuctionReminder, remind_ending_soon
from market.auctions.bidding import place_bid, withdraw_bid
from market.auctions.models import Bid
from market.core.models import Notification, OutboxEmail
from market.core.timeutil import utcnow
from market.core.txn import commit, rollback
from market.extensions import db
from market.lots.closing import close_lot
from market.lots.watch import watch_lot
from tests.auctions.helpers import plain
from tests.conftest import is_postgres

MLN, STEP = 100_000_000, 25_000_000


def bid(lot, who, amount, **kw):
    org, user = who
    placed = place_bid(lot, actor=user, organization=org, amount=amount, **kw)
    commit()
    return placed


def notices(user, kind: str) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(
        Notification.user_id == user.id, Notification.kind == kind).order_by(Notification.id)))


def mails(user, subject_part: str = "") -> list[OutboxEmail]:
    return [m for m in db.session.scalars(select(OutboxEmail).where(
        OutboxEmail.recipient == user.email).order_by(OutboxEmail.id)) if subject_part in m.subject]


@pytest.fixture
def team(bidder, create_user, add_member):
    """A bidder whose organisation has its owner, a manager and a plain member."""

    def make():
        org, owner = bidder()
        manager, member = create_user(), create_user()
        add_member(org, manager, "manager")
        add_member(org, member, "member")
        return (org, owner), manager, member

    return make


# Outbid --------------------------------------------------------------------------------------
def test_outbid_tells_the_overtaken_managers_not_members_nor_the_new_leader(make_lot, team):
    lot = make_lot("english")
    (a, a_manager, a_member), (b, b_manager, _) = team(), team()
    bid(lot, a, MLN)
    assert notices(a[1], "auction.outbid") == []  # the first bid overtakes nobody
    bid(lot, b, MLN + STEP)
    for user in (a[1], a_manager):
        (n,) = notices(user, "auction.outbid")
        assert lot.title in n.text and "1 250 000" in plain(n.text) and n.url == f"/lots/{lot.id}"
        (mail,) = mails(user, "перебили")
        assert lot.title in mail.body and f"/lots/{lot.id}" in mail.body
    assert notices(a_member, "auction.outbid") == [] and mails(a_member) == []
    for user in (b[1], b_manager):
        assert notices(user, "auction.outbid") == [] and mails(user) == []


def test_one_notice_per_overtaking_bid_and_none_for_own_raises(make_lot, bidder):
    lot = make_lot("english")
    a, b = bidder(), bidder()
    bid(lot, a, MLN)
    bid(lot, b, MLN + STEP)
    bid(lot, b, MLN + 2 * STEP, max_amount=5 * MLN)  # the leader raises its own limit
    assert len(notices(a[1], "auction.outbid")) == 1
    assert notices(b[1], "auction.outbid") == []
    bid(lot, a, 2 * MLN, max_amount=6 * MLN)  # a overtakes b's limit: one notice to b
    bid(lot, b, 6 * MLN + STEP)  # and b takes it back: a second notice to a
    assert len(notices(b[1], "auction.outbid")) == 1
    assert len(notices(a[1], "auction.outbid")) == 2
    assert len(mails(a[1], "перебили")) == 2


def test_a_proxy_limit_outbids_a_new_bid_at_once(make_lot, bidder):
    lot = make_lot("english")
    a, b = bidder(), bidder()
    bid(lot, a, MLN, max_amount=4 * MLN)
    placed = bid(lot, b, MLN + STEP)
    assert placed.state == "outbid" and auction_of(lot).leader.organization_id == a[0].id
    (n,) = notices(b[1], "auction.outbid")
    assert "автоставка" in n.text and "1 500 000" in plain(n.text)
    assert len(mails(b[1], "перебили")) == 1
    assert notices(a[1], "auction.outbid") == []  # the leader kept the lead


def test_reverse_auction_a_lower_bid_outbids(make_lot, bidder):
    lot = make_lot("reverse")
    a, b = bidder(), bidder()
    bid(lot, a, 800_000)
    bid(lot, b, 700_000)
    assert len(notices(a[1], "auction.outbid")) == 1 and notices(b[1], "auction.outbid") == []
    assert "ниже" in mails(a[1], "перебили")[0].body


def test_sealed_bids_never_tell_anyone(make_lot, bidder):
    lot = make_lot("sealed")
    a, b = bidder(), bidder()
    bid(lot, a, 400_000)
    bid(lot, b, 500_000)
    bid(lot, a, 600_000)  # a revision
    assert db.session.scalar(select(func.count(Notification.id)).where(
        Notification.kind == "auction.outbid")) == 0


def test_no_notice_before_the_commit_nor_after_a_rollback(make_lot, bidder):
    lot = make_lot("english")
    a, b = bidder(), bidder()
    bid(lot, a, MLN)
    place_bid(lot, actor=b[1], organization=b[0], amount=MLN + STEP)
    assert notices(a[1], "auction.outbid") == []  # not before the commit
    rollback()
    assert notices(a[1], "auction.outbid") == []
    commit()  # nothing left to run
    assert notices(a[1], "auction.outbid") == [] and mails(a[1], "перебили") == []


# Lost ----------------------------------------------------------------------------------------
def _close(lot):
    return close_lot(lot, now=auction_of(lot).ends_at + timedelta(seconds=1))


def test_losers_get_an_email_with_the_notice(make_lot, bidder):
    lot = make_lot("english")
    a, b = bidder(), bidder()
    bid(lot, a, MLN)
    bid(lot, b, MLN + STEP)
    _close(lot)
    assert len(notices(a[1], "auction.lost")) == 1
    (mail,) = mails(a[1], "завершены")
    assert "победила другая ставка" in mail.body and f"/lots/{lot.id}" in mail.body
    assert notices(b[1], "auction.lost") == [] and mails(b[1], "завершены") == []


def test_no_award_losers_get_an_email_too(make_lot, bidder):
    lot = make_lot("english", reserve_price=5 * MLN)
    a = bidder()
    bid(lot, a, MLN)
    _close(lot)
    assert len(notices(a[1], "auction.lost")) == 1
    assert "без победителя" in mails(a[1], "завершены")[0].body


# Ending soon ---------------------------------------------------------------------------------
def test_ending_soon_once_per_watcher_and_bidder(make_lot, bidder, create_user, add_member):
    lot = make_lot("english", days=1)
    watcher, idle = create_user(), create_user(active=False)
    watch_lot(lot, actor=watcher)
    watch_lot(lot, actor=idle)
    a, quitter, c = bidder(), bidder(), bidder()
    add_member(a[0], watcher, "manager")  # a watcher who also bids: still one reminder
    bid(lot, c, MLN)
    bid(lot, quitter, MLN + STEP)
    bid(lot, a, MLN + 3 * STEP)
    quitters_bid = db.session.scalars(select(Bid).where(Bid.organization_id == quitter[0].id)).one()
    withdraw_bid(quitters_bid, actor=quitter[1], reason="Передумали")
    commit()
    end = lot.ends_at
    with time_machine.travel(end - timedelta(minutes=61), tick=False):
        assert remind_ending_soon(utcnow()) == 0
    with time_machine.travel(end - timedelta(minutes=59), tick=False):
        assert remind_ending_soon(utcnow()) == 3  # watcher (a's manager), a's owner, c's owner
        assert remind_ending_soon(utcnow()) == 0
    with time_machine.travel(end - timedelta(minutes=1), tick=False):
        assert remind_ending_soon(utcnow()) == 0
    for user in (watcher, a[1], c[1]):
        (n,) = notices(user, "auction.ending_soon")
        assert lot.title in n.text and "59 мин" in n.text
        assert len(mails(user, "скоро завершатся")) == 1
    for user in (idle, quitter[1]):
        assert notices(user, "auction.ending_soon") == []
    with time_machine.travel(end + timedelta(minutes=1), tick=False):
        assert remind_ending_soon(utcnow()) == 0


def test_ending_soon_follows_the_extended_end(app, monkeypatch, make_lot, bidder):
    monkeypatch.setitem(app.config, "AUCTION_ENDING_SOON_MINUTES", 10)
    lot = make_lot("english", days=1, anti_snipe_minutes=30)
    a = bidder()
    end = lot.ends_at
    with time_machine.travel(end - timedelta(minutes=15), tick=False):
        bid(lot, a, MLN)  # a late bid: the end moves 30 minutes later
    assert auction_of(lot).ends_at == end + timedelta(minutes=30)
    with time_machine.travel(end - timedelta(minutes=5), tick=False):
        assert remind_ending_soon(utcnow()) == 0  # the planned end is near, the real one is not
    with time_machine.travel(end + timedelta(minutes=21), tick=False):
        assert remind_ending_soon(utcnow()) == 1
        assert "9 мин" in notices(a[1], "auction.ending_soon")[0].text


def test_ending_soon_skips_closed_lots_and_other_modes(make_lot, bidder, create_user):
    fixed = make_lot("fixed")
    lot = make_lot("sealed", days=1)
    watcher = create_user()
    watch_lot(fixed, actor=watcher)
    watch_lot(lot, actor=watcher)
    lot.state = "closed"
    db.session.flush()
    with time_machine.travel(lot.ends_at - timedelta(minutes=30), tick=False):
        assert remind_ending_soon(utcnow()) == 0
    assert notices(watcher, "auction.ending_soon") == []


# Two consumers at once (PostgreSQL) --------------------------------------------------------
@pytest.mark.skipif(not is_postgres(), reason="parallel writers need PostgreSQL")
def test_two_consumers_remind_exactly_once(committed_app):
    from datetime import date

    from market.accounts.models import Organization, User
    from market.lots.models import Lot
    from market.lots.models_interest import Watch
    from market.lots.operations import create_lot, publish_lot
    from market.registry.journal import record
    from market.registry.models import WasteStream
    from tests.factories import seed_holder

    app = committed_app
    uid, org_id, sid = seed_holder(app, 3)
    with app.app_context():
        holder = db.session.get(User, uid)
        stream = db.session.get(WasteStream, sid)
        record(stream, actor=holder, kind="generated", quantity="100", event_date=date(2026, 1, 1))
        lot = create_lot(db.session.get(Organization, org_id), actor=holder, stream=stream,
                         title="Шлак", quantity="10", pricing_mode="english", price=MLN,
                         increment=STEP, ends_at=utcnow() + timedelta(minutes=30))
        publish_lot(lot, actor=holder)
        watchers = [User(email=f"watcher{i}@example.kz", full_name=f"W {i}", password_hash="x")
                    for i in range(20)]
        db.session.add_all(watchers)
        db.session.flush()
        db.session.add_all([Watch(user_id=w.id, lot_id=lot.id, created_at=utcnow())
                            for w in watchers])
        commit()
        lot_id, watcher_ids = lot.id, [w.id for w in watchers]

    rounds, told, errors = 5, [], []
    barrier = threading.Barrier(2)

    def consumer():
        with app.app_context():
            try:
                for _ in range(rounds):
                    barrier.wait()
                    told.append(remind_ending_soon(utcnow()))
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=consumer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and not any(t.is_alive() for t in threads)
    assert sum(told) == len(watcher_ids)
    with app.app_context():
        assert db.session.scalar(select(func.count(AuctionReminder.id)).where(
            AuctionReminder.lot_id == lot_id)) == len(watcher_ids)
        for wid in watcher_ids:
            assert db.session.scalar(select(func.count(Notification.id)).where(
                Notification.user_id == wid, Notification.kind == "auction.ending_soon")) == 1
            assert db.session.scalar(select(func.count(OutboxEmail.id)).where(
                OutboxEmail.recipient == f"watcher{watcher_ids.index(wid)}@example.kz")) == 1
        assert db.session.get(Lot, lot_id).state == "published"
