"""Permission-matrix rows for free transfer requests (blueprint transfers): requesting a free
lot, withdrawing one's request, the holder accepting or declining it.

Merged into tests/test_permissions.py's MATRIX; see there for the roles and the world. For the
request, SETUP turns the world's lot (hazardous dust 10 02 07*, of the pending organisation)
into a published free lot; the outsider's organisation holds a licence for the dust with R4
(permission_rows_auctions.build), so its request goes through; the others are refused with a
message (a redirect). The request to withdraw, accept or decline is the outsider
organisation's, on a second published free lot of the world's organisation: only the
requester's members may withdraw it, only the holder's members reach the decision (404 for
the others), and of them only its owner and managers decide (a plain member is refused).
"""

from __future__ import annotations

from sqlalchemy import func, select

from market.core.timeutil import utcnow
from market.extensions import db

LOGIN = "login"
ROLES = ("anonymous", "outsider", "member", "owner", "official", "admin")

PLAN = "Переплавка в индукционной печи на площадке в Темиртау."


def row(anonymous, outsider, member, owner, official, admin) -> dict:
    return dict(zip(ROLES, (anonymous, outsider, member, owner, official, admin), strict=True))


MATRIX = {
    "transfers.request_lot": ("POST", row(LOGIN, 302, 302, 302, 302, 302)),
    "transfers.withdraw":    ("POST", row(LOGIN, 302, 404, 404, 404, 404)),
    "transfers.accept":      ("POST", row(LOGIN, 404, 302, 302, 404, 404)),
    "transfers.decline":     ("POST", row(LOGIN, 404, 302, 302, 404, 404)),
}

FORMS = {
    "transfers.request_lot": {"plan": PLAN, "operation_code": "R4", "key": "perm-req-1"},
    "transfers.withdraw": {"reason": "Передумали"},
    "transfers.accept": {},
    "transfers.decline": {"reason": "Далеко везти"},
}

URL_ARGUMENTS = {"transfer_id"}


def _free_world_lot(world) -> None:
    world.lot.pricing_mode = "free"
    world.lot.state = "published"
    world.lot.published_at = utcnow()


SETUP = {"transfers.request_lot": _free_world_lot}


def _requested(world, _user) -> bool:
    from market.auctions.models import Bid

    return db.session.scalar(select(func.count(Bid.id)).where(
        Bid.lot_id == world.lot.id, Bid.mode == "free")) == 1


def _request_state(world):
    from market.auctions.models import Bid

    return db.session.get(Bid, world.extra_values["transfer_id"], populate_existing=True).state


EFFECTS = {
    "transfers.request_lot": (_requested, {"outsider"}),
    "transfers.withdraw": (lambda world, _user: _request_state(world) == "withdrawn", {"outsider"}),
    "transfers.accept": (lambda world, _user: _request_state(world) == "won", {"owner"}),
    "transfers.decline": (lambda world, _user: _request_state(world) == "declined", {"owner"}),
}


def build(world) -> dict:
    """A published free lot of the world's organisation with the outsider organisation's
    request (written directly: the organisation is still pending, so it cannot publish)."""
    from market.auctions.models import Bid
    from market.lots.operations import create_lot

    lot = create_lot(world.org, actor=world.owner, stream=world.stream, title="Пыль даром",
                     quantity="2", pricing_mode="free")
    lot.state, lot.published_at = "published", utcnow()
    rival = world.outsider.memberships[0].organization
    bid = Bid(lot_id=lot.id, organization_id=rival.id, placed_by_id=world.outsider.id,
              mode="free", amount=0, plan=PLAN, operation_code="R4", state="active")
    db.session.add(bid)
    db.session.flush()
    return {"transfer_id": bid.id}
