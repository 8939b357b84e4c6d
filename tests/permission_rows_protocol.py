"""Permission-matrix rows for the auction protocol (blueprint auction_protocol): the page and
the PDF, for anyone logged in once the lot's bidding is over.

Merged into tests/test_permissions.py's MATRIX. The world's lot (a fixed-price draft) is sold
out by SETUP: a purchase of the outsider's organisation with its bid log entry, and the lot
awarded, so every logged-in role reads the protocol. A lot still on offer has none (404: see
tests/auctions/test_protocol.py).
"""

from __future__ import annotations

from datetime import timedelta

from market.core.timeutil import utcnow
from market.extensions import db

LOGIN = "login"
ROLES = ("anonymous", "outsider", "member", "owner", "official", "admin")


def row(anonymous, outsider, member, owner, official, admin) -> dict:
    return dict(zip(ROLES, (anonymous, outsider, member, owner, official, admin), strict=True))


MATRIX = {
    "auction_protocol.show": ("GET", row(LOGIN, 200, 200, 200, 200, 200)),
    "auction_protocol.pdf":  ("GET", row(LOGIN, 200, 200, 200, 200, 200)),
}


def _sold_out(world) -> None:
    """The world's lot published, bought whole by the outsider's organisation, awarded."""
    from market.auctions.models import Bid, BidEvent

    now = utcnow()
    lot = world.lot
    rival = world.outsider.memberships[0].organization
    purchase = Bid(lot_id=lot.id, organization_id=rival.id, placed_by_id=world.outsider.id,
                   mode="fixed", amount=lot.price, quantity=lot.quantity, state="active",
                   created_at=now, ranked_at=now, updated_at=now)
    db.session.add(purchase)
    db.session.flush()
    db.session.add(BidEvent(bid_id=purchase.id, lot_id=lot.id, organization_id=rival.id,
                            actor_id=world.outsider.id, kind="placed", state="active",
                            amount=lot.price, quantity=lot.quantity, created_at=now))
    lot.state = "awarded"
    lot.published_at = now - timedelta(days=1)
    lot.closed_at = now
    db.session.flush()


SETUP = {
    "auction_protocol.show": _sold_out,
    "auction_protocol.pdf": _sold_out,
}
