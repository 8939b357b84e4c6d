"""The pure rules: the bid state machine, the proxy engine, steps, anti-sniping, quantities."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from market.auctions.rules import (
    BID_FLOW,
    BidRefused,
    Book,
    Entry,
    check_amount,
    extended_end,
    place,
    purchase_quantity,
    purchase_total,
    replay,
    visible_price,
)
from market.core.errors import DuplicateTransition, GuardFailed, IllegalTransition
from tests.auctions.helpers import refused

D = Decimal
STEP = 10


# The state machine: every (state, action) pair ---------------------------------------------
EXPECTED = {
    ("pending_deposit", "activate"): "active",
    ("pending_deposit", "revise"): "pending_deposit",
    ("pending_deposit", "withdraw"): "withdrawn",
    ("pending_deposit", "lose"): "lost",
    ("active", "revise"): "active",
    ("active", "outbid"): "outbid",
    ("active", "withdraw"): "withdrawn",
    ("active", "win"): "won",
    ("active", "lose"): "lost",
    ("active", "decline"): "declined",  # a free transfer request the holder turned down
    ("outbid", "withdraw"): "withdrawn",
    ("outbid", "lose"): "lost",
}


def test_the_table_is_what_the_rules_say():
    assert {(s, a): t for s, a, t in BID_FLOW.table() if t is not None} == EXPECTED
    assert set(BID_FLOW.states) == {"pending_deposit", "active", "outbid", "withdrawn", "won", "lost",
                                    "declined"}


def _bid(state, mode="english", bid_id=7):
    return SimpleNamespace(id=bid_id, state=state, mode=mode)


OPEN = SimpleNamespace(leader_bid_id=None)


@pytest.mark.parametrize(("state", "action", "target"), list(BID_FLOW.table()))
def test_every_state_and_action(state, action, target):
    bid = _bid(state)
    if target is None:
        # withdrawn/won/lost are final; a second withdraw/outbid/... says it was done already
        already = any(dst == state for (_s, a), dst in BID_FLOW.transitions.items() if a == action)
        with pytest.raises(DuplicateTransition if already else IllegalTransition):
            BID_FLOW.fire(bid, action, auction=OPEN)
        assert bid.state == state
    else:
        assert BID_FLOW.fire(bid, action, auction=OPEN) == (state, target)
        assert bid.state == target


@pytest.mark.parametrize(("mode", "state", "leading", "is_open", "refusal"), [
    ("sealed", "active", False, True, None),
    ("sealed", "pending_deposit", False, True, None),
    ("sealed", "active", False, False, "Торги по лоту завершены"),
    ("english", "outbid", False, True, None),
    ("english", "active", True, True, "Лидирующую ставку отозвать нельзя"),
    ("reverse", "active", True, True, "Лидирующую ставку отозвать нельзя"),
    ("reverse", "outbid", False, False, "Торги по лоту завершены"),
    ("fixed", "active", False, True, "Покупку по фиксированной цене отозвать нельзя"),
])
def test_withdraw_guards(mode, state, leading, is_open, refusal):
    bid = _bid(state, mode)
    auction = SimpleNamespace(leader_bid_id=bid.id if leading else None)
    if refusal is None:
        BID_FLOW.fire(bid, "withdraw", auction=auction, bidding_open=is_open)
        assert bid.state == "withdrawn"
    else:
        with pytest.raises(GuardFailed, match=refusal):
            BID_FLOW.fire(bid, "withdraw", auction=auction, bidding_open=is_open)
        assert bid.state == state


def test_revise_only_while_open():
    with pytest.raises(GuardFailed, match="Торги по лоту завершены"):
        BID_FLOW.fire(_bid("active", "sealed"), "revise", bidding_open=False)


# Steps -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("mode", "amount", "price", "refusal"), [
    ("english", 100, None, None),              # the first bid: at least the start price
    ("english", 99, None, "не меньше 1 ₸ (начальная цена)"),
    ("english", 110, 100, None),               # then at least price + step
    ("english", 109, 100, "не меньше 1,10 ₸ (текущая цена + шаг)"),
    ("reverse", 100, None, None),              # reverse: the first at most the start price
    ("reverse", 101, None, "не больше 1 ₸ (начальная цена)"),
    ("reverse", 90, 100, None),                # then at most price − step
    ("reverse", 91, 100, "не больше 0,90 ₸ (текущая цена − шаг)"),
    ("reverse", 0, 10, None),                  # down to nothing: free processing
    ("reverse", 0, 5, "ниже на шаг"),          # no lower than zero
])
def test_step(app, mode, amount, price, refusal):
    with app.test_request_context():
        if refusal is None:
            check_amount(mode, amount, start=100, increment=STEP, price=price)
        else:
            with refused(refusal, BidRefused):
                check_amount(mode, amount, start=100, increment=STEP, price=price)


# The proxy engine ------------------------------------------------------------------------
def e(org, amount, limit=None, bid_id=None):
    return Entry(bid_id=bid_id or org, org_id=org, amount=amount, limit=limit or amount)


# (bids in order as (org, amount, limit)), reserve -> (leader org, visible price)
ENGLISH = [
    ([(1, 100, None)], None, (1, 100)),
    ([(1, 100, 500)], None, (1, 100)),                          # alone: its own amount
    ([(1, 100, 500), (2, 200, None)], None, (1, 210)),          # runner-up + step
    ([(1, 100, 500), (2, 200, 500)], None, (1, 500)),           # a tie goes to the earlier limit
    ([(1, 100, 500), (2, 200, 505)], None, (2, 505)),           # capped at the leader's limit
    ([(1, 100, 500), (2, 200, 800)], None, (2, 510)),
    ([(1, 100, 500), (2, 600, None)], None, (2, 600)),          # never below the leader's own bid
    ([(1, 100, 500), (2, 200, 300), (3, 400, None)], None, (1, 410)),
    ([(1, 100, 500)], 300, (1, 300)),                           # the limit reaches the reserve
    ([(1, 100, 200)], 300, (1, 100)),                           # it does not: the price stays
    ([(1, 100, 500), (2, 350, None)], 300, (1, 360)),
    ([(1, 100, 200), (1, 200, 900)], None, (1, 100)),           # the leader raises its limit
    ([(1, 100, 200), (2, 150, None), (1, 200, 900)], None, (1, 160)),
    ([(1, 100, 150), (2, 150, 150), (1, 200, 900)], None, (1, 160)),  # capped at 150, then lifted
]


@pytest.mark.parametrize(("bids", "reserve", "expected"), ENGLISH)
def test_english_proxy(bids, reserve, expected):
    book = replay("english", [e(*b) for b in bids], increment=STEP, reserve=reserve)
    assert (book.leader.org_id, book.price) == expected


# The same auctions, mirrored: a reverse auction is an English one with amounts negated.
@pytest.mark.parametrize(("bids", "reserve", "expected"), ENGLISH)
def test_reverse_proxy_mirrors_english(bids, reserve, expected):
    top = 1000
    mirrored = [(o, top - a, top - lim if lim else None) for o, a, lim in bids]
    book = replay("reverse", [e(*b) for b in mirrored], increment=STEP,
                  reserve=top - reserve if reserve else None)
    assert (book.leader.org_id, book.price) == (expected[0], top - expected[1])


def test_lowest_wins_in_reverse():
    book = replay("reverse", [e(1, 800), e(2, 750, 600), e(3, 700)], increment=50, reserve=None)
    assert book.leader.org_id == 2 and book.price == 650 and book.runner_up == 700


def test_place_reports_the_displaced_leader():
    book, displaced = place("english", Book(), e(1, 100), increment=STEP, reserve=None)
    assert displaced is None and book.leader.org_id == 1
    book, displaced = place("english", book, e(2, 110), increment=STEP, reserve=None)
    assert displaced.org_id == 1 and book.runner_up == 100
    with pytest.raises(ValueError, match="raise_limit"):
        place("english", book, e(2, 200), increment=STEP, reserve=None)


def test_visible_price_never_beyond_the_limit():
    leader = e(1, 100, 150)
    assert visible_price("english", leader, 148, increment=STEP, reserve=None) == 150
    assert visible_price("english", leader, 148, increment=STEP, reserve=400) == 150


# Anti-sniping ----------------------------------------------------------------------------
END = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("left", "minutes", "cap", "extended"), [
    (timedelta(minutes=10), 10, 30, None),                   # exactly N left: not "in the last N"
    (timedelta(minutes=9, seconds=59), 10, 30, END + timedelta(minutes=10)),
    (timedelta(seconds=1), 10, 30, END + timedelta(minutes=10)),
    (timedelta(minutes=20), 45, 30, END + timedelta(minutes=30)),  # the platform's cap
    (timedelta(minutes=40), 45, 30, None),
    (timedelta(seconds=1), 0, 30, None),                     # no anti-sniping on this lot
])
def test_anti_sniping(left, minutes, cap, extended):
    assert extended_end(END, END - left, minutes, cap) == extended


# Fixed-price quantities ------------------------------------------------------------------
@pytest.mark.parametrize(("sold", "min_take", "wanted", "basis", "result"), [
    ("0", None, None, "per_t", D("10")),                      # None: all that is left
    ("0", None, "2.5", "per_t", D("2.5")),
    ("0", "2", "2", "per_t", D("2")),
    ("0", "2", "1.999", "per_t", "Минимальная партия — 2,000 т"),
    ("9", "2", "1", "per_t", D("1")),                          # less than the minimum left: the rest
    ("8.5", "2", "1", "per_t", "меньше минимальной партии 2,000 т"),
    ("8.5", "2", "1.5", "per_t", D("1.5")),
    ("7", None, "4", "per_t", "не больше 3,000 т"),
    ("10", None, "1", "per_t", "Лот распродан"),
    ("0", None, "0", "per_t", "больше нуля"),
    ("0", None, None, "per_lot", D("10")),
    ("0", None, "5", "per_lot", "только весь лот"),
])
def test_purchase_quantity(app, sold, min_take, wanted, basis, result):
    kw = dict(quantity=D("10"), sold=D(sold), min_take=D(min_take) if min_take else None,
              wanted=D(wanted) if wanted else None, price_basis=basis)
    with app.test_request_context():
        if isinstance(result, Decimal):
            assert purchase_quantity(**kw) == result
        else:
            with refused(result, BidRefused):
                purchase_quantity(**kw)


def test_purchase_total():
    assert purchase_total(500_000, D("2.5"), "per_t") == 1_250_000
    assert purchase_total(333, D("0.001"), "per_t") == 0  # a third of a tiyn rounds to nothing
    assert purchase_total(500, D("0.001"), "per_t") == 1  # half a tiyn rounds up
    assert purchase_total(500_000, D("2.5"), "per_lot") == 500_000
