"""The interest a lot draws: page views, transfer requests, bids.

Views are counted once per visitor session and lot, for visitors who are not members of the
holder, with one atomic UPDATE (`views = views + 1`): two visitors at the same moment both
count, which a read-modify-write would lose.
"""

from __future__ import annotations

from collections.abc import MutableMapping

from sqlalchemy import update

from market.extensions import db
from market.lots.models import Lot

SEEN_KEY = "seen_lots"
SEEN_CAP = 100  # lot ids remembered per session (the cookie stays small); oldest forgotten first


def count_view(lot: Lot, seen_store: MutableMapping, *, member: bool) -> bool:
    """Count a view of a published lot unless this session saw it already; True if counted.

    `seen_store` is the visitor's session; `member` says the visitor belongs to the holder,
    whose own visits are not interest.
    """
    if member or lot.state != "published":
        return False
    seen = list(seen_store.get(SEEN_KEY) or [])
    if lot.id in seen:
        return False
    seen_store[SEEN_KEY] = [*seen, lot.id][-SEEN_CAP:]
    table = Lot.__table__
    db.session.execute(update(table).where(table.c.id == lot.id).values(views=table.c.views + 1))
    return True


def current_views(lot: Lot) -> int:
    """The counter as stored now (it moves outside the ORM, so the loaded value may be old)."""
    table = Lot.__table__
    return db.session.scalar(db.select(table.c.views).where(table.c.id == lot.id)) or 0


def interest_counts(lot: Lot) -> tuple[int, int]:
    """(transfer requests, bids) the lot received.

    Neither requests nor bids exist yet, so both are 0 — a true count, not an estimate. The
    bidding issue counts the real rows here (bids on the lot, transfer requests for it).
    """
    return 0, 0
