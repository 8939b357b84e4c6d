"""Closing lots at their end time, exactly once, and the "offered, no taker" record.

A published lot whose `ends_at` has passed is closed by the periodic job (every minute) or by
the first page view after its end, whichever comes first. `close_lot` locks the lot's row
(PostgreSQL) and moves the state with one conditional UPDATE (`... WHERE state = 'published'`),
so the job and a viewer racing it close the lot once: the second finds nothing to do.

A mandatory offer stays published for its minimum period (MANDATORY_OFFER_DAYS after
publication) even when its auction ends earlier; it closes when both have passed. When a
mandatory offer closes without a taker — its time ran out, or the holder withdrew it after the
minimum period — the holder gets an OfferReport, the evidence officials see and the holder prints.

`decide_outcome` is the one place where the outcome is decided and FINISH the one place where
each outcome is carried out. The auctions and deals domains sit above this one, so they plug in
at start-up (market.deals.operations.install, no import cycle): END_HOOKS move the due time to
the auction's extended end, a decider in DECIDERS returns Outcome("award", winner=...) or NOT_YET,
FINISH["award"] makes the deal, INTEREST_HOOKS count the bids for the offer report.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from market.accounts.models import Membership, OrgRole
from market.core import audit
from market.core.locking import lock_for_update
from market.core.notify import notify
from market.core.txn import commit, rollback
from market.extensions import db
from market.lots import reservation, watch
from market.lots.interest import current_views, interest_counts
from market.lots.models import Lot, OfferReport
from market.lots.operations import LOT_FLOW, _event

log = logging.getLogger("qaldyq.lots")

BATCH = 500  # lots closed per run of the periodic job (it runs every minute)


@dataclass(frozen=True)
class Outcome:
    """How a lot ends: a LOT_FLOW action ("close": no taker; "award" with bidding) and the winner."""

    action: str
    winner: object | None = None


NO_TAKER = Outcome("close")
NOT_YET = Outcome("wait")  # a decider found the (extended) end still ahead: the lot stays published

# lot -> its end moved later (an auction's anti-sniping extensions), or None; installed by auctions.
END_HOOKS: list[Callable[[Lot], datetime | None]] = []
# lot -> (requests, bids) more than interest_counts knows of; installed by higher domains.
INTEREST_HOOKS: list[Callable[[Lot], tuple[int, int]]] = []


def minimum_until(lot: Lot) -> datetime | None:
    """The end of a mandatory offer's minimum publication period; None for other lots."""
    if not lot.mandatory or lot.published_at is None:
        return None
    return lot.published_at + timedelta(days=current_app.config["MANDATORY_OFFER_DAYS"])


def bidding_end(lot: Lot) -> datetime | None:
    """The end of bidding as shown: the lot's end time moved by END_HOOKS (anti-sniping)."""
    if lot.ends_at is None:
        return None
    return max([lot.ends_at, *(e for hook in END_HOOKS if (e := hook(lot)) is not None)])


def closes_at(lot: Lot) -> datetime | None:
    """When the lot is due to close: its end time, not before a mandatory minimum period.

    Lots without an end time (fixed price, free transfer) never close by time: they stay open
    until they are taken or withdrawn.
    """
    if lot.ends_at is None:
        return None
    end = max([lot.ends_at, *(e for hook in END_HOOKS if (e := hook(lot)) is not None)])
    floor = minimum_until(lot)
    return max(end, floor) if floor is not None else end


def is_due(lot: Lot, now: datetime) -> bool:
    due = closes_at(lot)
    return lot.state == "published" and due is not None and due <= now


def _due(now: datetime):
    """`is_due` as SQL, for the job (index ix_lot_state_ends)."""
    days = current_app.config["MANDATORY_OFFER_DAYS"]
    return and_(Lot.state == "published", Lot.ends_at.is_not(None), Lot.ends_at <= now,
                or_(Lot.mandatory.is_(False), Lot.published_at <= now - timedelta(days=days)))


# (lot, now) -> Outcome, or None to leave it to the next; installed by higher domains (auctions).
DECIDERS: list[Callable[[Lot, datetime], Outcome | None]] = []


def decide_outcome(lot: Lot, *, now: datetime) -> Outcome:
    """Who takes the lot at its close; nobody unless a decider says so.

    Runs under the lot's row lock, so a decider (the auctions domain: the best valid bid at or
    above the reserve price, by pricing mode) sees every bid committed before the close.
    """
    for decide in DECIDERS:
        outcome = decide(lot, now)
        if outcome is not None:
            return outcome
    return NO_TAKER


def close_lot(lot: Lot, *, now: datetime, actor=None) -> Outcome | None:
    """Close a published lot whose time is up; None when it is not due or was closed already.

    Exactly once: the row is locked and re-read (PostgreSQL), and the state moves with a
    conditional UPDATE, so a second closer racing the first finds the lot closed.
    """
    lock_for_update(lot)
    if not is_due(lot, now):
        return None
    outcome = decide_outcome(lot, now=now)
    if outcome.action == NOT_YET.action:
        return None
    finish = FINISH[outcome.action]
    target = LOT_FLOW.target(lot.state, outcome.action)
    if not _move(lot, target, now):
        return None
    finish(lot, outcome, now=now, actor=actor)
    watch.notify_watchers(lot, watch.closed_text(lot), actor=actor)
    db.session.flush()
    return outcome


def _move(lot: Lot, target: str, now: datetime) -> bool:
    """published -> target in one statement; False when another transaction moved it first."""
    table = Lot.__table__
    row = db.session.execute(
        update(table).where(table.c.id == lot.id, table.c.state == "published")
        .values(state=target, closed_at=now, updated_at=now).returning(table.c.id)).first()
    if row is None:
        db.session.expire(lot)
        return False
    for key, value in (("state", target), ("closed_at", now), ("updated_at", now)):
        set_committed_value(lot, key, value)
    return True


def _finish_without_taker(lot: Lot, outcome: Outcome, *, now: datetime, actor=None) -> None:
    """Nobody took the lot: release its reserve; a mandatory offer gets its record."""
    if lot.stream is not None:
        reservation.release(lot.stream, lot.reserve_quantity)
    _event(lot, "closed", actor, outcome="no_taker")
    audit.record("lot.closed", lot, actor=actor, organization=lot.organization, outcome="no_taker",
                 mandatory=lot.mandatory)
    report = record_no_taker(lot, how_closed="expired", now=now, actor=actor) if lot.mandatory else None
    _tell_holder(lot, report)


# outcome action -> what closing does; the bidding issue adds "award" (the deal, the reserve
# kept for the buyer).
FINISH: dict[str, Callable] = {"close": _finish_without_taker}


def record_no_taker(lot: Lot, *, how_closed: str, now: datetime, actor=None) -> OfferReport:
    """The "offered, no taker" record of a mandatory lot that closed without a taker.

    `how_closed`: "expired" (its time ran out) or "withdrawn" (the holder took it off the
    market after the minimum period).
    """
    requests, bids = interest_counts(lot)
    for count in INTEREST_HOOKS:
        more_requests, more_bids = count(lot)
        requests, bids = requests + more_requests, bids + more_bids
    report = OfferReport(
        lot_id=lot.id, organization_id=lot.organization_id, stream_id=lot.stream_id,
        region_kato=lot.region_kato, waste_code=lot.waste_code, quantity=lot.quantity,
        unit=lot.unit, pricing_mode=lot.pricing_mode, price=lot.price,
        published_at=lot.published_at, closed_at=now, how_closed=how_closed,
        views=current_views(lot), requests=requests, bids=bids)
    db.session.add(report)
    db.session.flush()
    audit.record("offer_report.created", report, actor=actor, organization=lot.organization,
                 lot_id=lot.id, how_closed=how_closed, views=report.views)
    return report


def _tell_holder(lot: Lot, report: OfferReport | None) -> None:
    """An in-app notification to the holder's owners and managers."""
    if report is not None:
        text = _l("Обязательное предложение «%(title)s» закрыто без покупателя: справка "
                  "«Предложено, покупателя нет» готова.", title=lot.title)
        url = f"/offer-reports/{report.id}"
    else:
        text = _l("Торги по лоту «%(title)s» завершились без покупателя.", title=lot.title)
        url = f"/lots/{lot.id}"
    people = db.session.scalars(select(Membership).where(
        Membership.organization_id == lot.organization_id,
        Membership.role.in_([OrgRole.owner.value, OrgRole.manager.value]))).all()
    for m in people:
        notify(m.user, "lot.closed", str(text), url)


def due_lot_ids(now: datetime, limit: int = BATCH) -> list[int]:
    return list(db.session.scalars(select(Lot.id).where(_due(now))
                                   .order_by(Lot.ends_at, Lot.id).limit(limit)))


def close_expired_lots(now: datetime, *, limit: int = BATCH) -> int:
    """Close every lot that is due (up to `limit`); returns how many this call closed.

    The periodic job's body, and an edge like a CLI command: it commits after each lot, so a
    lot's row and its stream's row are held only while that lot closes. A viewer closing a lot
    lazily takes the same two rows in the same order, so the two never deadlock. A lot that
    fails is logged and left for the next run; the others still close.
    """
    closed = 0
    for lot_id in due_lot_ids(now, limit):
        lot = db.session.get(Lot, lot_id)
        try:
            if lot is not None and close_lot(lot, now=now):
                closed += 1
            commit()
        except Exception:
            rollback()
            log.exception("closing lot %s failed", lot_id)
    return closed
