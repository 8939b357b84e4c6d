"""The protocol of an auction after its close: the lot, the terms, every bid in the log, the
extensions, the result and the SHA-256 of the frozen bid log.

Anyone logged in may read it once the lot is closed, awarded or transferred. Bidders are
"Участник N", numbered in the order of their first bid as on the lot page; a viewer's own
organisation is marked, and after the close the holder sees the bidders' names too (officials
and everyone else see labels only). Proxy limits stay with their own bidder. The hash is
closing.bid_log_sha256, the value the award's deal recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from market.auctions.auction import auction_of
from market.auctions.closing import bid_log_sha256
from market.auctions.models import COUNTED, Bid, BidEvent
from market.core.timeutil import utcnow
from market.extensions import db
from market.lots.models import PRICE_BASES, Lot

PROTOCOL_MODES = ("fixed", "english", "sealed", "reverse")
CLOSED_STATES = ("closed", "awarded", "transferred")

NO_AWARD_REASONS = {
    "no_bids": _l("ставок не было"),
    "no_valid_bids": _l("действующих ставок не осталось: ставки отозваны или не подтверждены "
                        "задатком"),
    "reserve": _l("резервная цена не достигнута"),
    "other": _l("победитель не определён"),
}


@dataclass(frozen=True)
class Row:
    """One event of the bid log as the viewer may read it."""

    seq: int
    at: datetime
    label: str
    name: str | None  # the organisation's name, for the holder and the bidder itself
    own: bool
    kind: str
    kind_label: str
    amount: int | None
    max_amount: int | None  # the proxy limit: its own bidder only
    quantity: Decimal | None
    price: int | None  # the auction's visible price after the event
    state_label: str
    ends_at: datetime | None
    extended: bool  # this event moved the end later
    reason: str | None


@dataclass(frozen=True)
class Extension:
    n: int
    at: datetime  # the time of the late bid
    label: str
    before: datetime
    after: datetime


@dataclass(frozen=True)
class Sale:
    """A deal made from the lot: the winner's, a next-best offer, or a fixed-price purchase."""

    label: str
    name: str | None
    own: bool
    unit_price: int
    quantity: Decimal
    total: int
    state_label: str
    created_at: datetime


@dataclass
class Protocol:
    lot: Lot
    sha256: str
    rows: list[Row]
    extensions: list[Extension]
    sales: list[Sale]
    bidders: int
    start_at: datetime | None
    planned_end: datetime | None
    final_end: datetime | None
    awarded: bool
    winner_label: str | None = None
    winner_name: str | None = None
    winner_price: int | None = None
    no_award: str | None = None  # why nobody won, for a lot closed without an award
    names_shown: bool = False
    basis_label: str = ""
    generated_at: datetime = field(default_factory=utcnow)


def available(lot: Lot | None) -> bool:
    """Whether the lot has a protocol: bidding or a fixed price, and bidding is over."""
    return lot is not None and lot.pricing_mode in PROTOCOL_MODES and lot.state in CLOSED_STATES


def _viewer(viewer, lot: Lot) -> tuple[set[int], bool]:
    """(the viewer's organisation ids, whether the viewer may see bidders' names)."""
    if viewer is None or not getattr(viewer, "is_authenticated", False):
        return set(), False
    orgs = {m.organization_id for m in viewer.memberships}
    return orgs, lot.organization_id in orgs


def _labels(lot: Lot) -> tuple[dict[int, str], dict[int, str]]:
    """Bidder labels ("Участник N" in the order of the first bid) and organisation names."""
    labels: dict[int, str] = {}
    names: dict[int, str] = {}
    for bid in db.session.scalars(select(Bid).where(Bid.lot_id == lot.id).order_by(Bid.id)):
        labels.setdefault(bid.organization_id, str(_l("Участник %(n)s", n=len(labels) + 1)))
        names.setdefault(bid.organization_id, bid.organization.name)
    return labels, names


def _no_award_reason(lot: Lot, events: list[BidEvent]) -> str:
    if not events:
        return "no_bids"
    counted = {e.bid_id for e in events if e.state in COUNTED}
    live = set(db.session.scalars(select(Bid.id).where(Bid.lot_id == lot.id,
                                                       Bid.state != "withdrawn")))
    if not counted & live:
        return "no_valid_bids"
    if lot.reserve_price is not None:
        return "reserve"
    return "other"


def build(lot: Lot, viewer=None) -> Protocol:
    """The protocol of a closed lot as ``viewer`` may read it."""
    from market.deals.models import Deal

    mine, names_shown = _viewer(viewer, lot)
    labels, names = _labels(lot)

    def name_of(org_id: int) -> str | None:
        return names.get(org_id) if names_shown or org_id in mine else None

    events = list(db.session.scalars(select(BidEvent).where(BidEvent.lot_id == lot.id)
                                     .order_by(BidEvent.id)))
    auction = auction_of(lot)
    rows, extensions = [], []
    end = lot.ends_at
    for seq, e in enumerate(events, start=1):
        label = labels.get(e.organization_id, "—")
        moved = e.ends_at is not None and end is not None and e.ends_at > end
        if moved:
            extensions.append(Extension(n=len(extensions) + 1, at=e.created_at, label=label,
                                        before=end, after=e.ends_at))
        if e.ends_at is not None and (end is None or e.ends_at > end):
            end = e.ends_at
        own = e.organization_id in mine
        rows.append(Row(
            seq=seq, at=e.created_at, label=label, name=name_of(e.organization_id), own=own,
            kind=e.kind, kind_label=e.kind_label, amount=e.amount,
            max_amount=e.max_amount if own else None, quantity=e.quantity, price=e.price,
            state_label=str(_state_label(e.state)), ends_at=e.ends_at, extended=moved,
            reason=e.reason))
    deals = db.session.scalars(select(Deal).where(Deal.lot_id == lot.id).order_by(Deal.id)).all()
    sales = [Sale(label=labels.get(d.buyer_id, "—"), name=name_of(d.buyer_id),
                  own=d.buyer_id in mine, unit_price=d.unit_price, quantity=d.quantity,
                  total=d.total, state_label=d.state_label, created_at=d.created_at)
             for d in deals]
    protocol = Protocol(
        lot=lot, sha256=bid_log_sha256(lot), rows=rows, extensions=extensions, sales=sales,
        bidders=len(labels), start_at=lot.published_at, planned_end=lot.ends_at,
        final_end=auction.ends_at if auction is not None and auction.ends_at else lot.ends_at,
        awarded=lot.state in ("awarded", "transferred"), names_shown=names_shown,
        basis_label=str(PRICE_BASES.get(lot.price_basis, "")))
    if lot.pricing_mode == "fixed":
        return protocol
    won = db.session.scalar(select(Bid).where(Bid.lot_id == lot.id, Bid.state == "won")
                            .order_by(Bid.id).limit(1))
    if won is None and deals and protocol.awarded:  # the winner's bid moved on after the award
        won = db.session.get(Bid, deals[0].bid_id)
    if won is not None:
        deal = next((d for d in deals if d.bid_id == won.id), None)
        protocol.awarded = True
        protocol.winner_label = labels.get(won.organization_id)
        protocol.winner_name = name_of(won.organization_id)
        protocol.winner_price = deal.unit_price if deal is not None else won.amount
    else:
        protocol.awarded = False
        protocol.no_award = str(NO_AWARD_REASONS[_no_award_reason(lot, events)])
    return protocol


def _state_label(state: str):
    from market.auctions.models import BID_STATES

    return BID_STATES.get(state, state)
