"""Permission-matrix rows for deals (blueprint deals): the deal page, the buyer's withdrawal and
refusal, the holder's choice after a failed deal.

Merged into tests/test_permissions.py's MATRIX; see there for the roles and the world. The
world's organisation sells a sealed lot (awarded) to the outsider's organisation: its members
and the officials (the whole country) may open the deal, nobody else (admins included: 404).
Only the buyer's members may post its forms, only the holder's the choice (404 for others; a
plain member is refused with a message). SETUP puts the deal in the state each action needs.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from market.core.timeutil import utcnow
from market.extensions import db

LOGIN = "login"
ROLES = ("anonymous", "outsider", "member", "owner", "official", "admin")


def row(anonymous, outsider, member, owner, official, admin) -> dict:
    return dict(zip(ROLES, (anonymous, outsider, member, owner, official, admin), strict=True))


MATRIX = {
    "deals.show_deal":      ("GET",  row(LOGIN, 200, 200, 200, 200, 404)),
    "deals.withdraw_deal":  ("POST", row(LOGIN, 302, 404, 404, 404, 404)),
    "deals.decline_deal":   ("POST", row(LOGIN, 302, 404, 404, 404, 404)),
    "deals.offer_next":     ("POST", row(LOGIN, 404, 302, 302, 404, 404)),
    "deals.close_lot":      ("POST", row(LOGIN, 404, 302, 302, 404, 404)),
}

FORMS = {
    "deals.withdraw_deal": {"reason": "Нет транспорта"},
    "deals.decline_deal": {"reason": "Нет мощностей"},
    "deals.offer_next": {},
    "deals.close_lot": {},
}

URL_ARGUMENTS = {"deal_id"}


def _deal(world):
    from market.deals.models import Deal

    return db.session.get(Deal, world.extra_values["deal_id"], populate_existing=True)


def _state(state):
    def setup(world) -> None:
        _deal(world).state = state

    return setup


SETUP = {
    "deals.decline_deal": _state("offered"),
    "deals.offer_next": _state("withdrawn"),
    "deals.close_lot": _state("withdrawn"),
}


EFFECTS = {
    "deals.withdraw_deal": (lambda world, _user: _deal(world).state == "withdrawn", {"outsider"}),
    "deals.decline_deal": (lambda world, _user: _deal(world).state == "declined", {"outsider"}),
    "deals.close_lot": (lambda world, _user: _deal(world).lot.state == "closed", {"owner"}),
}


def build(world) -> dict:
    """A sealed lot of the world's organisation awarded to the outsider's organisation (rows
    written directly: the organisation is still pending), with its agreed deal; the stream
    holds the lot's tonne in reserve."""
    from market.auctions.models import Bid
    from market.deals.models import Deal
    from market.lots.operations import create_lot

    now = utcnow()
    buyer = world.outsider.memberships[0].organization
    lot = create_lot(world.org, actor=world.owner, stream=world.stream, title="Пыль на торгах",
                     quantity="1", pricing_mode="sealed", price=100_000,
                     ends_at=now + timedelta(days=1))
    lot.state, lot.published_at, lot.closed_at = "awarded", now, now
    world.stream.reserved = Decimal("1")
    bid = Bid(lot_id=lot.id, organization_id=buyer.id, placed_by_id=world.outsider.id,
              mode="sealed", amount=150_000, state="won")
    db.session.add(bid)
    db.session.flush()
    deal = Deal(lot_id=lot.id, seller_id=world.org.id, buyer_id=buyer.id, bid_id=bid.id,
                unit_price=150_000, price_basis="per_t", quantity=Decimal("1"), total=150_000,
                delivery="pickup", waste_code=lot.waste_code, region_kato=lot.region_kato,
                state="agreed", sign_by=now + timedelta(days=7), bid_log_sha256="0" * 64,
                created_at=now)
    db.session.add(deal)
    db.session.flush()
    return {"deal_id": deal.id}
