"""The typo guard: a bid or proxy limit absurdly above the price (BID_MAX_MULTIPLE) is refused."""

import pytest
from sqlalchemy import func, select

from market.auctions.auction import auction_of
from market.auctions.bidding import place_bid
from market.auctions.models import Bid
from market.auctions.rules import BidImplausible, check_plausible
from market.extensions import db
from tests.auctions.helpers import refused

MLN = 100_000_000  # 1 000 000 ₸, the English start price of make_lot
STEP = 25_000_000


def bid(lot, who, amount, **kw):
    org, user = who
    return place_bid(lot, actor=user, organization=org, amount=amount, **kw)


@pytest.mark.parametrize(("mode", "amount", "reference", "multiple", "refused_"), [
    ("english", 100 * MLN, MLN, 100, False),      # exactly 100 times: allowed
    ("english", 100 * MLN + 1, MLN, 100, True),
    ("sealed", 1000 * MLN, MLN, 100, True),
    ("sealed", 1000 * MLN, None, 100, False),     # no start price: nothing to compare with
    ("english", 1000 * MLN, MLN, 0, False),       # 0 switches the guard off
    ("reverse", 1000 * MLN, MLN, 100, False),     # reverse bids go down: the step rule bounds them
    ("fixed", 1000 * MLN, MLN, 100, False),
])
def test_check_plausible_table(mode, amount, reference, multiple, refused_):
    if refused_:
        with pytest.raises(BidImplausible):
            check_plausible(mode, amount, reference=reference, multiple=multiple)
    else:
        check_plausible(mode, amount, reference=reference, multiple=multiple)


def test_a_typo_on_the_first_bid_is_refused_with_the_numbers(make_lot, bidder):
    lot = make_lot("english")
    a = bidder()
    with refused("Сумма 1 000 000 000 ₸ больше цены 1 000 000 ₸ более чем в 100 раз: похоже на опечатку",
                 BidImplausible):
        bid(lot, a, 1000 * MLN)
    assert db.session.scalar(select(func.count(Bid.id)).where(Bid.lot_id == lot.id)) == 0
    assert bid(lot, a, MLN).state == "active"


def test_the_bound_follows_the_current_price_and_the_proxy_limit(make_lot, bidder, app):
    lot = make_lot("english")
    a, b = bidder(), bidder()
    bid(lot, a, MLN)
    bid(lot, b, MLN + STEP)
    price = auction_of(lot).price
    assert price == MLN + STEP
    with refused("не больше", BidImplausible):
        bid(lot, a, MLN + 2 * STEP, max_amount=100 * price + 1)  # the limit is checked too
    assert bid(lot, a, MLN + 2 * STEP, max_amount=100 * price).state == "active"


def test_the_multiple_is_configurable(make_lot, bidder, app, monkeypatch):
    lot = make_lot("sealed")  # start 3 000 ₸
    monkeypatch.setitem(app.config, "BID_MAX_MULTIPLE", 2)
    a = bidder()
    with refused("более чем в 2 раз", BidImplausible):
        bid(lot, a, 600_001)
    assert bid(lot, a, 600_000).state == "active"
    monkeypatch.setitem(app.config, "BID_MAX_MULTIPLE", 0)
    assert bid(lot, a, 10**12).amount == 10**12
