"""Reading bids: the leader, and what a viewer may see of the bids (sealed secrecy, labels)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from market.auctions.auction import auction_of, bidding_open
from market.auctions.models import Bid
from market.core.timeutil import utcnow
from market.extensions import db
from market.lots.models import Lot


def leading_bid(lot: Lot) -> Bid | None:
    """The bid that would win if the auction ended now (reserve price aside).

    English and reverse: the leader of the book. Sealed: the highest active bid, of equal
    ones the earlier. Not for display (sealed bids are secret until the close: pages use
    visible_bids). Fixed price has no leader: None.
    """
    if lot.pricing_mode in ("english", "reverse"):
        auction = auction_of(lot)
        return auction.leader if auction is not None else None
    if lot.pricing_mode == "sealed":
        return db.session.scalar(select(Bid).where(Bid.lot_id == lot.id, Bid.state == "active")
                                 .order_by(Bid.amount.desc(), Bid.ranked_at, Bid.id).limit(1))
    return None


@dataclass(frozen=True)
class VisibleBid:
    """One bid as a viewer may see it: bidders are "Участник N", except the viewer's own."""

    id: int
    label: str
    own: bool
    leading: bool
    amount: int
    max_amount: int | None  # only on the viewer's own bids
    quantity: Decimal | None
    state: str
    state_label: str
    created_at: datetime


def _viewer_orgs(viewer, organization) -> set[int]:
    if organization is not None:
        return {organization.id}
    if viewer is None or not getattr(viewer, "is_authenticated", False):
        return set()
    return {m.organization_id for m in viewer.memberships}


def visible_bids(lot: Lot, viewer=None, *, organization=None,
                 now: datetime | None = None) -> list[VisibleBid]:
    """The bids on ``lot`` that ``viewer`` may see, oldest first.

    Bidders are numbered "Участник 1, 2, …" in the order of their first bid; the viewer's
    own organisations (``organization`` if given, else every membership) see their own bids
    with their limits. Sealed bids stay hidden from everyone else, the holder and officials
    included, until bidding ends; bids pending a deposit are seen by their own bidder only.
    """
    now = now or utcnow()
    auction = auction_of(lot)
    mine = _viewer_orgs(viewer, organization)
    secret = lot.pricing_mode == "sealed" and bidding_open(lot, auction, now)
    leader_id = auction.leader_bid_id if auction is not None else None
    labels: dict[int, str] = {}
    out = []
    for bid in db.session.scalars(select(Bid).where(Bid.lot_id == lot.id).order_by(Bid.id)):
        labels.setdefault(bid.organization_id, str(_l("Участник %(n)s", n=len(labels) + 1)))
        own = bid.organization_id in mine
        if not own and (secret or bid.state == "pending_deposit"):
            continue
        out.append(VisibleBid(
            id=bid.id, label=labels[bid.organization_id], own=own, leading=bid.id == leader_id,
            amount=bid.amount, max_amount=bid.max_amount if own else None, quantity=bid.quantity,
            state=bid.state, state_label=bid.state_label, created_at=bid.created_at))
    return out


def reserve_met(lot: Lot) -> bool:
    """Whether the best bid so far respects the reserve price (the holder's limit): English
    and sealed at or above it, reverse at or below it. No bid: False; no reserve: any bid."""
    if lot.pricing_mode in ("english", "reverse"):
        auction = auction_of(lot)
        price = auction.price if auction is not None and auction.leader_bid_id else None
    elif lot.pricing_mode == "sealed":
        best = leading_bid(lot)
        price = best.amount if best is not None else None
    else:
        return False
    if price is None:
        return False
    if lot.reserve_price is None:
        return True
    return price <= lot.reserve_price if lot.pricing_mode == "reverse" else price >= lot.reserve_price
