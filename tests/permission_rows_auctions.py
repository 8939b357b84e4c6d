"""Permission-matrix rows for bidding (blueprint auctions): the bid panel, placing and
withdrawing bids, "Моя активность".

Merged into tests/test_permissions.py's MATRIX; see there for the roles and the world. The
world's lot (a fixed-price draft of the pending organisation, hazardous dust 10 02 07*) is
published by SETUP. The outsider's (verified) organisation holds a licence for the dust, so
its purchase goes through; everyone else is refused with a message (a redirect). The bid to
withdraw is the outsider organisation's: only its members may touch it (404 for the others).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from market.core.timeutil import utcnow
from market.extensions import db

LOGIN = "login"
ROLES = ("anonymous", "outsider", "member", "owner", "official", "admin")


def row(anonymous, outsider, member, owner, official, admin) -> dict:
    return dict(zip(ROLES, (anonymous, outsider, member, owner, official, admin), strict=True))


MATRIX = {
    "auctions.panel":    ("GET",  row(200,   200, 200, 200, 200, 200)),
    "auctions.place":    ("POST", row(LOGIN, 302, 302, 302, 302, 302)),
    "auctions.withdraw": ("POST", row(LOGIN, 302, 404, 404, 404, 404)),
    "auctions.activity": ("GET",  row(LOGIN, 200, 200, 200, 200, 200)),
}

FORMS = {
    "auctions.place": {"quantity": "1", "key": "perm-1"},
    "auctions.withdraw": {"reason": "Передумали"},
}

URL_ARGUMENTS = {"bid_id"}


def _publish_world_lot(world) -> None:
    world.lot.state = "published"
    world.lot.published_at = utcnow()


SETUP = {
    "auctions.panel": _publish_world_lot,
    "auctions.place": _publish_world_lot,
    "auctions.withdraw": _publish_world_lot,
}


def _purchases(world) -> int:
    from market.auctions.models import Bid

    return db.session.scalar(select(func.count(Bid.id)).where(
        Bid.lot_id == world.lot.id, Bid.mode == "fixed"))


def _withdrawn(world, _user) -> bool:
    from market.auctions.models import Bid

    bid = db.session.get(Bid, world.extra_values["bid_id"], populate_existing=True)
    return bid.state == "withdrawn"


EFFECTS = {
    "auctions.place": (lambda world, _user: _purchases(world) == 1, {"outsider"}),
    "auctions.withdraw": (_withdrawn, {"outsider"}),
}


def build(world) -> dict:
    """A licence of the outsider's organisation for the world's dust, and a withdrawable bid
    of that organisation on the world's lot (written directly: the lot is still a draft)."""
    from market.accounts.licences import add_licence
    from market.auctions.models import Bid

    rival = world.outsider.memberships[0].organization
    add_licence(rival, actor=world.outsider, number="KZ01VEG00000099", issued_by="Комитет",
                valid_from=date(2025, 1, 1), scopes="10 02", operations=["R4"])
    bid = Bid(lot_id=world.lot.id, organization_id=rival.id, placed_by_id=world.outsider.id,
              mode="sealed", amount=150_000, state="active")
    db.session.add(bid)
    db.session.flush()
    return {"bid_id": bid.id}
