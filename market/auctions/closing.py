"""Closing an auction: when it is due (its extended end), who wins, the bids' final states and
the frozen bid log. Plugs into market.lots.closing at start-up (``install``).

The lots domain closes the lot (row lock, conditional UPDATE: exactly once); this module only
answers its questions. The decider takes the auction's row lock after the lot's (the order the
bidding operations rely on), so it sees every bid committed before the close, and a bid that
extended the end while the closer waited makes the lot stay published ("not yet").

English: the leader wins at the visible price; reverse: the leader (lowest) at the visible
price; sealed: the highest active bid at its own amount, of equal ones the earliest. A best bid
that misses the reserve price, or no bid, closes the lot without an award. Bids pending a
deposit never win. What the award does (the deal) belongs to the deals domain (FINISH).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from market.auctions.auction import auction_of, lock_auction
from market.auctions.models import Bid, BidEvent
from market.auctions.query import leading_bid
from market.auctions.rules import BID_FLOW
from market.extensions import db
from market.lots import closing
from market.lots.models import Lot

AUCTION_MODES = ("english", "sealed", "reverse")


@dataclass(frozen=True)
class Award:
    """The winner of a closed auction: its bid and the price per the lot's basis (tiyn)."""

    bid: Bid
    unit_price: int


def extended_end(lot: Lot) -> datetime | None:
    """END hook: the auction's end with its anti-sniping extensions (None: no auction row)."""
    if lot.pricing_mode not in AUCTION_MODES:
        return None
    auction = auction_of(lot)
    return auction.ends_at if auction is not None else None


def _meets_reserve(lot: Lot, price: int) -> bool:
    if lot.reserve_price is None:
        return True
    return price <= lot.reserve_price if lot.pricing_mode == "reverse" else price >= lot.reserve_price


def winner(lot: Lot) -> Award | None:
    """The bid that takes the lot now, with its price; None when no bid meets the reserve."""
    if lot.pricing_mode in ("english", "reverse"):
        auction = auction_of(lot)
        bid = auction.leader if auction is not None else None
        if bid is None or bid.state != "active" or auction.price is None:
            return None
        price = auction.price
    elif lot.pricing_mode == "sealed":
        bid = leading_bid(lot)
        if bid is None:
            return None
        price = bid.amount
    else:
        return None
    return Award(bid=bid, unit_price=price) if _meets_reserve(lot, price) else None


def decide(lot: Lot, now: datetime) -> closing.Outcome | None:
    """DECIDER: under the auction's lock, "not yet", an award, or None (no taker)."""
    if lot.pricing_mode not in AUCTION_MODES:
        return None
    auction = lock_auction(lot, now=now)
    if auction.ends_at is not None and now < auction.ends_at:
        return closing.NOT_YET
    award = winner(lot)
    return closing.Outcome("award", winner=award) if award is not None else None


def settle_bids(lot: Lot, won: Bid | None, *, now: datetime) -> list[Bid]:
    """At the close: the winning bid is won, every other counted or pending bid lost.
    Returns the losing bids (whose bidders hear the auction ended)."""
    lost = []
    for bid in db.session.scalars(select(Bid).where(
            Bid.lot_id == lot.id, Bid.state.in_(("pending_deposit", "active", "outbid")))
            .order_by(Bid.id)):
        if won is not None and bid.id == won.id:
            BID_FLOW.fire(bid, "win")
        else:
            BID_FLOW.fire(bid, "lose")
            lost.append(bid)
        bid.updated_at = now
    db.session.flush()
    return lost


_finish_without_taker = closing.FINISH["close"]


def finish_without_award(lot: Lot, outcome: closing.Outcome, *, now: datetime, actor=None) -> None:
    """FINISH["close"] for auctions: the bids lose, their bidders hear it; then the lots domain
    closes the lot without a taker (the reserve released, a mandatory offer's report)."""
    if lot.pricing_mode in AUCTION_MODES:
        from market.auctions.bid_notices import tell_lost

        text = _l("Торги по лоту «%(title)s» завершены без победителя.", title=lot.title)
        tell_lost(lot, {b.organization_id for b in settle_bids(lot, None, now=now)}, text)
    elif lot.pricing_mode == "free":  # its time ran out: the open transfer requests are not accepted
        from market.auctions.requests import close_requests

        close_requests(lot, now=now)
    _finish_without_taker(lot, outcome, now=now, actor=actor)


# The frozen bid log ------------------------------------------------------------------------
def _canonical(value):
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, Decimal):
        return f"{value:.3f}"
    return value


LOG_FIELDS = ("id", "bid_id", "lot_id", "organization_id", "actor_id", "kind", "state", "amount",
              "max_amount", "quantity", "price", "ends_at", "reason", "idempotency_key", "created_at")


def log_rows(lot: Lot) -> list[dict]:
    """The lot's bid log as plain rows, in sequence (id) order."""
    events = db.session.scalars(select(BidEvent).where(BidEvent.lot_id == lot.id)
                                .order_by(BidEvent.id))
    return [{f: _canonical(getattr(e, f)) for f in LOG_FIELDS} for e in events]


def log_sha256(rows: list[dict]) -> str:
    """SHA-256 of the canonical JSON of bid log rows (sorted keys, compact, UTF-8)."""
    text = json.dumps(rows, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def bid_log_sha256(lot: Lot) -> str:
    return log_sha256(log_rows(lot))


# Interest ------------------------------------------------------------------------------------
def bid_interest(lot: Lot) -> tuple[int, int]:
    """INTEREST hook: (requests, bids) — bids that took part (pending deposits and withdrawn ones
    included: each is an organisation's interest in the lot); on a free lot they are transfer
    requests."""
    count = db.session.scalar(select(func.count(Bid.id)).where(Bid.lot_id == lot.id)) or 0
    return (count, 0) if lot.pricing_mode == "free" else (0, count)


def bidders(lot: Lot) -> int:
    """Distinct organisations that bid on the lot."""
    return db.session.scalar(select(func.count(func.distinct(Bid.organization_id)))
                             .where(Bid.lot_id == lot.id)) or 0


def install() -> None:
    """Plug the auctions domain into lot closing (idempotent: create_app may run many times)."""
    for hooks, hook in ((closing.END_HOOKS, extended_end), (closing.DECIDERS, decide),
                        (closing.INTEREST_HOOKS, bid_interest)):
        if hook not in hooks:
            hooks.append(hook)
    closing.FINISH["close"] = finish_without_award
