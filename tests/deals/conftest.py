"""The deals tests use the bidding fixtures: a stocked stream, published lots, bidders."""

import pytest

from tests.auctions.conftest import bidder, make_lot, stocked  # noqa: F401
from tests.deals.helpers import MLN, STEP, bid, close, deals_of


@pytest.fixture
def sealed_award(make_lot, bidder):  # noqa: F811
    """A sealed lot closed with three bidders (5 000, 4 500, 4 000 ₸ a tonne): the deal of the
    best, and the three (organisation, owner) pairs best first."""
    a, b, c = bidder(), bidder(), bidder()
    lot = make_lot("sealed", qty="10")
    bid(lot, c, 400_000)
    bid(lot, a, 500_000)
    bid(lot, b, 450_000)
    close(lot)
    (deal,) = deals_of(lot)
    return deal, (a, b, c)


@pytest.fixture
def english_award(make_lot, bidder):  # noqa: F811
    """English: A bids with a limit, B outbids with a higher limit, C bids under B's limit.
    B wins at MLN + 5 STEP; C's limit MLN + 4 STEP is next, then A's MLN + 2 STEP."""
    a, b, c = bidder(), bidder(), bidder()
    lot = make_lot("english", qty="10")
    bid(lot, a, MLN, max_amount=MLN + 2 * STEP)
    bid(lot, b, MLN + STEP, max_amount=MLN + 5 * STEP)
    bid(lot, c, MLN + 4 * STEP)
    close(lot)
    (deal,) = deals_of(lot)
    return deal, (b, c, a)
