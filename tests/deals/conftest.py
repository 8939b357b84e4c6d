"""The deals tests use the bidding fixtures: a stocked stream, published lots, bidders."""

from tests.auctions.conftest import bidder, make_lot, stocked  # noqa: F401
