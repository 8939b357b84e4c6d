"""A deal that fails: it lapses (not signed by ``sign_by``), the buyer withdraws it, or the
next bidder declines the offer. Signing belongs to the rights-transfer slice: until then a
deal still open past its deadline counts as not signed.

Every change runs under the lot's row lock (the order closing and the holder's choices use:
lot, then the auction row), and the deal's state moves with a conditional UPDATE, so the
lapse job, a viewer lapsing the deal lazily and the buyer's withdrawal give one outcome.
A failed fixed-price purchase gives its tonnes back to the offer: Auction.sold decreases and a
sold-out lot is published again if its end has not passed (else the tonnes are released from
the registry reservation). A failed auction deal waits for the holder's choice (nextbest).
Operations flush, never commit (except the job's edge, one deal per transaction).
"""

from __future__ import annotations

import logging
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from market.accounts.models import OrgRole, User
from market.auctions.auction import lock_auction
from market.core import audit
from market.core.errors import DomainError, PermissionDenied
from market.core.locking import lock_for_update
from market.core.timeutil import utcnow
from market.core.txn import commit, rollback
from market.deals import notices
from market.deals.models import DEAL_FLOW, OPEN_STATES, Deal
from market.extensions import db
from market.lots import reservation
from market.lots.models import Lot
from market.lots.operations import LOT_FLOW, _event

log = logging.getLogger("qaldyq.deals")

REASON_MAX = 1000
BATCH = 500


class DealChanged(DomainError):
    """Another transaction changed the deal first."""


def lock_deal(deal: Deal) -> Deal:
    """Lock the deal's lot (PostgreSQL) and read the deal again: its state is current."""
    lock_for_update(deal.lot)
    db.session.refresh(deal)
    return deal


def move_deal(deal: Deal, action: str, now: datetime, **values) -> str:
    """deal.state -> DEAL_FLOW's target in one conditional UPDATE; DealChanged if it moved."""
    source = deal.state
    target = DEAL_FLOW.target(source, action)
    table = Deal.__table__
    values = {"state": target, "updated_at": now, **values}
    row = db.session.execute(update(table).where(table.c.id == deal.id, table.c.state == source)
                             .values(**values).returning(table.c.id)).first()
    if row is None:
        db.session.expire(deal)
        raise DealChanged(_l("Сделка уже изменилась: обновите страницу."))
    for key, value in values.items():
        set_committed_value(deal, key, value)
    return target


def move_lot(lot: Lot, action: str, now: datetime, *, closed_at) -> bool:
    """An awarded lot moves (reopen, close) in one conditional UPDATE; False if it had moved."""
    target = LOT_FLOW.target(lot.state, action)
    table = Lot.__table__
    row = db.session.execute(update(table).where(table.c.id == lot.id, table.c.state == lot.state)
                             .values(state=target, closed_at=closed_at, updated_at=now)
                             .returning(table.c.id)).first()
    if row is None:
        db.session.expire(lot)
        return False
    for key, value in (("state", target), ("closed_at", closed_at), ("updated_at", now)):
        set_committed_value(lot, key, value)
    return True


def clean_reason(reason, *, required: bool) -> str | None:
    reason = reason.strip() if isinstance(reason, str) else ""
    if required and not reason:
        raise DomainError(_l("Укажите причину."))
    if len(reason) > REASON_MAX:
        raise DomainError(_l("Причина — не длиннее %(n)s символов."), n=REASON_MAX)
    return reason or None


def require_buyer(deal: Deal, actor: User) -> None:
    if not actor.has_org_role(deal.buyer, OrgRole.manager):
        raise PermissionDenied(_l("От имени покупателя действуют его владелец и менеджеры."))


# A purchase gives its tonnes back -------------------------------------------------------------
def _return_purchase(deal: Deal, *, now: datetime, actor=None) -> dict:
    lot = deal.lot
    auction = lock_auction(lot, now=now)
    auction.sold = max((auction.sold or 0) - deal.quantity, 0)
    auction.updated_at = now
    outcome = {"returned": str(deal.quantity), "sold": str(auction.sold)}
    if lot.state == "awarded":
        if (lot.ends_at is None or now < lot.ends_at) and move_lot(lot, "reopen", now, closed_at=None):
            _event(lot, "reopened", actor, quantity=deal.quantity, deal=deal.id)
            audit.record("lot.reopened", lot, actor=actor, organization=lot.organization,
                         deal_id=deal.id, quantity=str(deal.quantity))
            outcome["reopened"] = True
        elif lot.stream is not None and not lot.is_recurring:
            reservation.release(lot.stream, deal.quantity)  # past its end: nobody holds them now
            outcome["released"] = str(deal.quantity)
    db.session.flush()
    return outcome


# Lapse ----------------------------------------------------------------------------------------
def is_overdue(deal: Deal, now: datetime) -> bool:
    """Open past its signing deadline, and not signed by both parties (a fully signed
    agreement waits for its submission to an official: it does not lapse)."""
    if deal.state not in OPEN_STATES or deal.sign_by > now:
        return False
    from market.deals.models_complaint import Complaint
    from market.deals.signing import is_fully_signed  # signing builds on this module

    if db.session.scalar(select(Complaint.id).where(Complaint.deal_id == deal.id,
                                                    Complaint.state == "open").limit(1)):
        return False  # paused: the deadline moves on when the complaint is decided
    return not is_fully_signed(deal)


def lapse_deal(deal: Deal, *, now: datetime | None = None, actor=None) -> bool:
    """Lapse an open deal past its deadline; False when it is not due or was changed already."""
    now = now or utcnow()
    if not is_overdue(deal, now):
        return False
    lock_deal(deal)
    if not is_overdue(deal, now):
        return False
    move_deal(deal, "lapse", now, ended_at=now)
    data = _return_purchase(deal, now=now, actor=actor) if deal.is_purchase else {}
    audit.record("deal.lapsed", deal, actor=actor, organization=deal.seller, lot_id=deal.lot_id,
                 buyer_id=deal.buyer_id, sign_by=deal.sign_by.isoformat(), **data)
    notices.lapsed(deal)
    db.session.flush()
    return True


def overdue_deal_ids(now: datetime, limit: int = BATCH) -> list[int]:
    from market.deals.models_agreement import Agreement
    from market.deals.models_complaint import Complaint

    signed = select(Agreement.id).where(Agreement.deal_id == Deal.id, Agreement.state == "signed")
    complained = select(Complaint.id).where(Complaint.deal_id == Deal.id, Complaint.state == "open")
    return list(db.session.scalars(select(Deal.id).where(
        Deal.state.in_(OPEN_STATES), Deal.sign_by <= now, ~signed.exists(), ~complained.exists())
        .order_by(Deal.sign_by, Deal.id).limit(limit)))


def lapse_overdue_deals(now: datetime, *, limit: int = BATCH) -> int:
    """The periodic job's body: lapse every overdue deal, each in its own transaction."""
    lapsed = 0
    for deal_id in overdue_deal_ids(now, limit):
        try:
            deal = db.session.get(Deal, deal_id)
            if deal is not None and lapse_deal(deal, now=now):
                lapsed += 1
            commit()
        except Exception:
            rollback()
            log.exception("lapsing deal %s failed", deal_id)
    return lapsed


# Withdraw and decline ---------------------------------------------------------------------------
def _end_by_buyer(deal: Deal, action: str, *, actor: User, reason, required: bool,
                  now: datetime | None) -> str:
    now = now or utcnow()
    require_buyer(deal, actor)
    reason = clean_reason(reason, required=required)
    lock_deal(deal)
    target = DEAL_FLOW.transitions.get((deal.state, action))
    if deal.state == {"withdraw": "withdrawn", "decline": "declined"}[action]:
        return "already"  # a double click: done already
    if is_overdue(deal, now) and target is not None:
        lapse_deal(deal, now=now)  # too late: the deal lapsed (the caller commits that)
        return "lapsed"
    if target is None:
        message = (_l("Отказаться можно только от предложения, которое ждёт подписания.")
                   if action == "decline" else
                   _l("Отказаться можно только от согласованной сделки, которая ждёт подписания."))
        raise DomainError(message)
    move_deal(deal, action, now, ended_at=now, ended_by_id=actor.id, end_reason=reason)
    data = _return_purchase(deal, now=now, actor=actor) if deal.is_purchase else {}
    audit.record(f"deal.{target}", deal, actor=actor, organization=deal.buyer, lot_id=deal.lot_id,
                 reason=reason, **data)
    (notices.withdrawn if action == "withdraw" else notices.declined)(deal)
    db.session.flush()
    return target


def withdraw_deal(deal: Deal, *, actor: User, reason, now: datetime | None = None) -> str:
    """The buyer's owner or manager backs out of an agreed deal, with a reason.

    Returns "withdrawn"; "already" for a double submission; "lapsed" when the deadline had
    passed (the deal lapses instead: commit it).
    """
    return _end_by_buyer(deal, "withdraw", actor=actor, reason=reason, required=True, now=now)


def decline_deal(deal: Deal, *, actor: User, reason=None, now: datetime | None = None) -> str:
    """The next bidder does not take the deal offered to it (a reason is optional); returns
    "declined", "already" or "lapsed" like withdraw_deal."""
    return _end_by_buyer(deal, "decline", actor=actor, reason=reason, required=False, now=now)
