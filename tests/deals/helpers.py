"""Helpers of the deals tests: bids, closing at the end, an awarded lot with its deal."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from market.auctions.auction import auction_of
from market.auctions.bidding import place_bid
from market.deals.models import Deal
from market.extensions import db
from market.lots.closing import close_lot

MLN, STEP = 100_000_000, 25_000_000
SECOND = timedelta(seconds=1)


def bid(lot, who, amount, **kw):
    org, user = who
    return place_bid(lot, actor=user, organization=org, amount=amount, **kw)


def close(lot):
    end = auction_of(lot).ends_at
    close_lot(lot, now=end + SECOND)
    return end + SECOND


def deals_of(lot):
    return db.session.scalars(select(Deal).where(Deal.lot_id == lot.id).order_by(Deal.id)).all()


def after(deal, seconds=1):
    """A moment past the deal's signing deadline."""
    return deal.sign_by + timedelta(seconds=seconds)
