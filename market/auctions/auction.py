"""The lot's auction row: read it, or create and lock it; whether bidding is open; deposits.

Every operation that changes bidding on a lot goes through ``lock_auction``: the lot's Auction
row is created on its first bid and locked (SELECT ... FOR UPDATE on PostgreSQL; SQLite
serialises writers), and the lot is read again after the lock. Closing the lot must take the
lot's row first, then this one: bids take only this one, so the two never deadlock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from market.accounts.models import Organization
from market.auctions.models import Auction, Bid
from market.core.timeutil import utcnow
from market.extensions import db
from market.lots.models import Lot


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def auction_of(lot: Lot) -> Auction | None:
    """The lot's auction row without locking it; None before the first bid."""
    return db.session.scalar(select(Auction).where(Auction.lot_id == lot.id))


def lock_auction(lot: Lot, *, now: datetime | None = None) -> Auction:
    """The lot's Auction row, created on first use, locked for this transaction and re-read;
    the lot is re-read after the lock too (PostgreSQL), so its state is current."""
    stmt = (select(Auction).where(Auction.lot_id == lot.id).with_for_update()
            .execution_options(populate_existing=True))
    auction = db.session.scalars(stmt).one_or_none()
    if auction is None:  # two first bids at once: one inserts, the other finds the row
        now = now or utcnow()
        insert = pg_insert if _dialect() == "postgresql" else sqlite_insert
        db.session.execute(insert(Auction.__table__).values(
            lot_id=lot.id, ends_at=lot.ends_at, extensions=0, bid_count=0, sold=Decimal("0"),
            version=1, created_at=now, updated_at=now).on_conflict_do_nothing(index_elements=["lot_id"]))
        auction = db.session.scalars(stmt).one()
    if _dialect() == "postgresql":  # what this session read before the lock may be stale
        db.session.refresh(lot)
        if auction.leader_bid_id is not None:
            db.session.get(Bid, auction.leader_bid_id, populate_existing=True)
    return auction


def ends_at(lot: Lot) -> datetime | None:
    """When bidding on the lot ends: its end time with anti-sniping extensions."""
    auction = auction_of(lot)
    return auction.ends_at if auction is not None else lot.ends_at


def bidding_open(lot: Lot, auction: Auction | None, now: datetime) -> bool:
    """The lot is published and its (extended) end has not come."""
    end = auction.ends_at if auction is not None else lot.ends_at
    return lot.state == "published" and (end is None or now < end)


# Deposits: the payments issue plugs its rule in ----------------------------------------------
def _no_deposit(lot: Lot, org: Organization) -> bool:
    return False


_deposit_policy: Callable[[Lot, Organization], bool] = _no_deposit


def deposit_required(lot: Lot, org: Organization) -> bool:
    """Whether ``org``'s bid on ``lot`` counts only once a deposit is held (pending_deposit
    until bidding.activate_bid). No deposits yet: always False."""
    return bool(_deposit_policy(lot, org))


def set_deposit_policy(policy: Callable[[Lot, Organization], bool] | None):
    """Install the deposit rule (None: no deposits); returns the previous one."""
    global _deposit_policy
    previous, _deposit_policy = _deposit_policy, policy or _no_deposit
    return previous
