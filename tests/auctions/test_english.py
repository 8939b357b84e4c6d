"""English and reverse auctions: steps, proxy bids, the reserve, anti-sniping, withdrawal."""

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from market.auctions.auction import auction_of, ends_at
from market.auctions.bidding import place_bid, withdraw_bid
from market.auctions.models import Auction, Bid, BidEvent
from market.auctions.query import leading_bid, reserve_met
from market.core.errors import GuardFailed
from market.extensions import db
from tests.auctions.helpers import refused

MLN = 100_000_000  # 1 000 000 ₸ in tiyn
STEP = 25_000_000  # 250 000 ₸


@pytest.fixture
def three(bidder):
    return [bidder() for _ in range(3)]


def bid(lot, who, amount, **kw):
    org, user = who
    return place_bid(lot, actor=user, organization=org, amount=amount, **kw)


def events(lot):
    return db.session.scalars(select(BidEvent).where(BidEvent.lot_id == lot.id)
                              .order_by(BidEvent.id)).all()


def test_first_bid_at_least_the_start_then_price_plus_step(make_lot, three):
    lot = make_lot("english")
    a, b, _ = three
    with refused("Ставка должна быть не меньше 1 000 000 ₸ (начальная цена)"):
        bid(lot, a, MLN - 1)
    first = bid(lot, a, MLN)
    assert first.state == "active" and leading_bid(lot) == first
    with refused("Ставка должна быть не меньше 1 250 000 ₸ (текущая цена + шаг)"):
        bid(lot, b, MLN + STEP - 1)
    second = bid(lot, b, MLN + STEP)
    assert (first.state, second.state) == ("outbid", "active")
    auction = auction_of(lot)
    assert (auction.price, auction.leader_bid_id, auction.bid_count) == (MLN + STEP, second.id, 2)
    assert [(ev.kind, ev.price) for ev in events(lot)] == [("placed", MLN), ("placed", MLN + STEP)]


@pytest.mark.parametrize(("steps", "expected"), [
    # (bidder index, amount in steps over the start, limit in steps or None) -> (leader, price)
    ([(0, 0, 4)], (0, 0)),
    ([(0, 0, 4), (1, 1, None)], (0, 2)),         # the proxy answers one step above
    ([(0, 0, 4), (1, 2, 4)], (0, 4)),            # equal limits: the earlier wins, at its limit
    ([(0, 0, 4), (1, 1, 8)], (1, 5)),            # a higher limit wins one step above the other
    ([(0, 0, 4), (1, 1, 8), (2, 6, None)], (1, 7)),
    ([(0, 0, 4), (1, 1, 8), (2, 6, 9)], (2, 9)),
])
def test_proxy_bids(make_lot, three, steps, expected):
    lot = make_lot("english")
    for who, over, limit in steps:
        bid(lot, three[who], MLN + over * STEP,
            max_amount=MLN + limit * STEP if limit is not None else None)
    leader, price = expected
    auction = auction_of(lot)
    assert auction.leader.organization_id == three[leader][0].id
    assert auction.price == MLN + price * STEP
    states = db.session.scalars(select(Bid.state).where(Bid.lot_id == lot.id)).all()
    assert states.count("active") == 1  # one leader, the rest outbid


def test_max_below_amount_is_refused(make_lot, three):
    lot = make_lot("english")
    with refused("Максимальная ставка не может быть меньше ставки 1 250 000 ₸"):
        bid(lot, three[0], MLN + STEP, max_amount=MLN)


def test_the_leader_raises_its_limit_without_bidding_against_itself(make_lot, three):
    lot = make_lot("english")
    a, b, _ = three
    mine = bid(lot, a, MLN, max_amount=MLN + 2 * STEP)
    bid(lot, b, MLN + STEP)  # a's proxy answers at 1 500 000
    assert auction_of(lot).price == MLN + 2 * STEP
    with refused("Ваша ставка лидирует с пределом 1 500 000 ₸: новый предел должен быть выше"):
        bid(lot, a, MLN + 2 * STEP)
    again = bid(lot, a, MLN + 3 * STEP, max_amount=MLN + 9 * STEP)
    assert again == mine and mine.max_amount == MLN + 9 * STEP and mine.state == "active"
    auction = auction_of(lot)
    assert auction.price == MLN + 2 * STEP and auction.bid_count == 2  # a revision, not a bid
    assert [ev.kind for ev in events(lot)] == ["placed", "placed", "revised"]


@pytest.mark.parametrize(("mode", "reserve", "amount", "limit", "price", "met"), [
    ("english", 2 * MLN, MLN, None, MLN, False),          # under the reserve: no award
    ("english", 2 * MLN, MLN, 3 * MLN, 2 * MLN, True),    # the limit reaches it: price jumps to it
    ("english", 2 * MLN, 2 * MLN, None, 2 * MLN, True),
    ("english", None, MLN, None, MLN, True),
    ("reverse", 600_000, 800_000, None, 800_000, False),  # above the holder's limit: no award
    ("reverse", 600_000, 800_000, 500_000, 600_000, True),
    ("reverse", 600_000, 550_000, None, 550_000, True),
])
def test_reserve(make_lot, three, mode, reserve, amount, limit, price, met):
    lot = make_lot(mode, reserve_price=reserve)
    assert not reserve_met(lot)  # no bid yet
    bid(lot, three[0], amount, max_amount=limit)
    assert auction_of(lot).price == price
    assert reserve_met(lot) is met


def test_reverse_goes_down_and_the_lowest_wins(make_lot, three):
    lot = make_lot("reverse")  # 8 000 ₸, step 500 ₸
    a, b, c = three
    with refused("Ставка должна быть не больше 8 000 ₸ (начальная цена)"):
        bid(lot, a, 800_001)
    bid(lot, a, 800_000)
    with refused("Ставка должна быть не больше 7 500 ₸ (текущая цена − шаг)"):
        bid(lot, b, 760_000)
    with refused("Предел снижения не может быть выше ставки 7 500 ₸"):
        bid(lot, b, 750_000, max_amount=760_000)
    low = bid(lot, b, 750_000, max_amount=600_000)
    assert auction_of(lot).price == 750_000 and leading_bid(lot) == low
    bid(lot, c, 700_000)  # b's proxy answers at 6 500
    assert auction_of(lot).price == 650_000 and leading_bid(lot) == low
    bid(lot, c, 600_000)  # equal to b's limit: the earlier (b) keeps the lead at its limit
    assert auction_of(lot).price == 600_000 and leading_bid(lot) == low


@pytest.mark.parametrize(("minutes", "cap", "before_end", "extended_by"), [
    (10, 30, timedelta(minutes=5), timedelta(minutes=10)),
    (10, 30, timedelta(minutes=11), None),
    (30, 15, timedelta(minutes=10), timedelta(minutes=15)),  # the platform's limit
    (0, 30, timedelta(seconds=30), None),
])
def test_anti_sniping(app, monkeypatch, make_lot, three, minutes, cap, before_end, extended_by):
    lot = make_lot("english", anti_snipe_minutes=minutes)
    monkeypatch.setitem(app.config, "ANTI_SNIPE_MAX_MINUTES", cap)  # lowered after publication
    end = lot.ends_at
    with time_machine.travel(end - before_end, tick=False):
        bid(lot, three[0], MLN)
    new_end = auction_of(lot).ends_at
    assert new_end == (end + extended_by if extended_by else end)
    assert ends_at(lot) == new_end and lot.ends_at == end  # the lot keeps its own end
    with time_machine.travel(end + timedelta(seconds=1), tick=False):
        if extended_by:  # inside the extension the auction still takes bids
            bid(lot, three[1], MLN + STEP)
        else:
            with refused("Торги по лоту завершились"):
                bid(lot, three[1], MLN + STEP)


def test_each_late_bid_extends_again(make_lot, three):
    lot = make_lot("english", anti_snipe_minutes=10)
    end = lot.ends_at
    for i, minutes_after in enumerate((-1, 8, 17)):  # each in the last 10 minutes of the last end
        with time_machine.travel(end + timedelta(minutes=minutes_after), tick=False):
            bid(lot, three[i], MLN + i * STEP)
    auction = auction_of(lot)
    assert auction.ends_at == end + timedelta(minutes=30) and auction.extensions == 3
    assert [ev.ends_at for ev in events(lot)] == [end + timedelta(minutes=10 * k) for k in (1, 2, 3)]


def test_withdrawal(make_lot, three):
    lot = make_lot("english")
    a, b, _ = three
    first = bid(lot, a, MLN)
    second = bid(lot, b, MLN + STEP)
    with refused("Лидирующую ставку отозвать нельзя", GuardFailed):
        withdraw_bid(second, actor=b[1], reason="Передумали")
    with refused("Укажите причину отзыва ставки"):
        withdraw_bid(first, actor=a[1], reason="  ")
    withdraw_bid(first, actor=a[1], reason="Ошиблись суммой")
    assert first.state == "withdrawn" and first.withdraw_reason == "Ошиблись суммой"
    assert auction_of(lot).price == MLN + STEP  # the price stays where it was reached
    with refused("уже выполнено"):
        withdraw_bid(first, actor=a[1], reason="Ещё раз")
    assert [ev.kind for ev in events(lot)] == ["placed", "placed", "withdrawn"]
    assert db.session.get(Auction, auction_of(lot).id).leader_bid_id == second.id


def test_no_bids_after_the_end(make_lot, three):
    lot = make_lot("english")
    with time_machine.travel(lot.ends_at, tick=False), refused("Торги по лоту завершились"):
        bid(lot, three[0], MLN)
