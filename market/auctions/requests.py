"""Free transfer requests: organisations ask for a lot given away free ("free" pricing mode),
each with its processing plan and R/D operation; the holder accepts one, or declines them.

A request is a Bid on the free lot (mode "free", amount 0) with ``plan`` and
``operation_code``, so it shares the bid log, idempotency keys, the auction row lock and the
bid state machine with bids: one open request per organisation (revised in place), withdrawn
with a reason. Accepting one awards the lot exactly once (the lot's row lock, then the auction's,
then the conditional state move of lot closing), makes the deal at price 0 for the whole lot
and declines the other open requests. Partial transfers are not offered: a request is for the
whole lot. Operations flush, never commit; notices go in-app and to the e-mail outbox.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from market.accounts.models import Organization, OrgRole, User
from market.auctions.auction import lock_auction
from market.auctions.bidding import _clean_key, _log, _log_submission, _one_writer
from market.auctions.models import Auction, Bid, BidEvent
from market.auctions.request_notices import tell_accepted, tell_declined, tell_holder
from market.auctions.rules import BID_FLOW, BidRefused
from market.core import audit
from market.core.errors import DomainError, PermissionDenied
from market.core.locking import lock_for_update
from market.core.timeutil import to_almaty, utcnow
from market.deals.models import Deal
from market.deals.operations import create_deal
from market.extensions import db
from market.lots import closing, watch
from market.lots.eligibility import require_can_take
from market.lots.models import Lot
from market.lots.operations import LOT_FLOW, _event
from market.refdata.models import Operation

PLAN_MIN, PLAN_MAX = 20, 4000
REASON_MAX = 1000
OPEN = ("pending_deposit", "active")


class RequestRefused(BidRefused):
    """A rule of free transfer refused the request or the holder's decision."""


# Checks -------------------------------------------------------------------------------------
def _require_requester(org: Organization, actor: User) -> None:
    if not actor.has_org_role(org, OrgRole.manager):
        raise PermissionDenied(_l("Заявки от имени организации подают её владелец и менеджеры."))


def _require_holder(lot: Lot, actor: User) -> None:
    if not actor.has_org_role(lot.organization, OrgRole.manager):
        raise PermissionDenied(_l("Заявки на лот рассматривают владелец и менеджеры "
                                  "организации-держателя."))


def clean_plan(plan) -> str:
    """The processing plan, stripped; :raise RequestRefused: when empty, too short or too long."""
    plan = (plan if isinstance(plan, str) else "").replace("\x00", "").strip()
    if len(plan) < PLAN_MIN:
        raise RequestRefused(_l("Опишите план переработки: что вы сделаете с отходом, где и как "
                                "(не короче %(n)s символов)."), n=PLAN_MIN)
    if len(plan) > PLAN_MAX:
        raise RequestRefused(_l("План переработки — не длиннее %(n)s символов."), n=PLAN_MAX)
    return plan


def clean_operation(code) -> str:
    """The R/D operation code ("R4"); :raise RequestRefused: when missing or unknown."""
    code = (code if isinstance(code, str) else "").replace("\x00", "").strip().upper()
    if not code:
        raise RequestRefused(_l("Укажите операцию R/D, которой вы будете обращаться с отходом."))
    if len(code) > 4 or db.session.get(Operation, code) is None:
        raise RequestRefused(_l("Неизвестная операция R/D «%(code)s»."), code=code[:12])
    return code


def _clean_reason(reason, message) -> str:
    reason = (reason if isinstance(reason, str) else "").replace("\x00", "").strip()
    if not reason:
        raise RequestRefused(message)
    if len(reason) > REASON_MAX:
        raise RequestRefused(_l("Причина — не длиннее %(n)s символов."), n=REASON_MAX)
    return reason


def _check_requester(lot: Lot, org: Organization, operation: str, now: datetime) -> None:
    if lot.pricing_mode != "free":
        raise RequestRefused(_l("Заявки на передачу принимаются только по лотам безвозмездной "
                                "передачи."))
    if not org.can_act_on_market():
        raise RequestRefused(_l("Подавать заявки могут только подтверждённые организации: "
                                "«%(org)s» ещё не подтверждена."), org=org.name)
    if org.id == lot.organization_id:
        raise RequestRefused(_l("Нельзя подать заявку на лот своей организации."))
    require_can_take(org, lot, operation, on=to_almaty(now).date())


def _check_open(lot: Lot, auction: Auction, now: datetime) -> None:
    if lot.state != "published":
        raise RequestRefused(_l("Лот не принимает заявок: он в состоянии «%(state)s»."),
                             state=lot.state_label)
    if auction.ends_at is not None and now >= auction.ends_at:
        raise RequestRefused(_l("Приём заявок по лоту завершился %(at)s."),
                             at=to_almaty(auction.ends_at).strftime("%d.%m.%Y %H:%M"))


def _request_of(lot: Lot, bid: Bid) -> None:
    if bid.lot_id != lot.id or bid.mode != "free":
        raise RequestRefused(_l("Это не заявка на передачу этого лота."))


def open_requests(lot: Lot, org: Organization | None = None) -> list[Bid]:
    """The lot's open transfer requests (of ``org`` only, if given), oldest first, re-read."""
    stmt = select(Bid).where(Bid.lot_id == lot.id, Bid.mode == "free", Bid.state.in_(OPEN))
    if org is not None:
        stmt = stmt.where(Bid.organization_id == org.id)
    return list(db.session.scalars(stmt.order_by(Bid.id).execution_options(populate_existing=True)))


def _replayed(org: Organization, key: str | None, lot: Lot) -> Bid | None:
    """The request a key was first used for (a double submission), None for a new key."""
    if key is None:
        return None
    event = db.session.scalar(select(BidEvent).where(
        BidEvent.organization_id == org.id, BidEvent.idempotency_key == key))
    if event is None:
        return None
    if event.lot_id != lot.id or event.bid.mode != "free":
        raise RequestRefused(_l("Ключ повторной отправки «%(key)s» уже использован для другой "
                                "ставки."), key=key)
    return event.bid


# Requesting and withdrawing -----------------------------------------------------------------
@_one_writer
def request_transfer(lot: Lot, *, actor: User, organization: Organization, plan: str,
                     operation_code: str, idempotency_key: str | None = None,
                     now: datetime | None = None) -> Bid:
    """Ask for a free lot (the whole of it) for ``organization``, or revise its open request.

    :raise RequestRefused: (a DomainError) naming the rule; PermissionDenied for the actor;
        DomainError from the licence rule (a hazardous code: the licence must cover the code
        and the operation).
    """
    now = now or utcnow()
    org = organization
    _require_requester(org, actor)
    key = _clean_key(idempotency_key)
    plan = clean_plan(plan)
    operation = clean_operation(operation_code)
    if (bid := _replayed(org, key, lot)) is not None:  # fast path, without the lock
        return bid
    _check_requester(lot, org, operation, now)
    auction = lock_auction(lot, now=now)
    if (bid := _replayed(org, key, lot)) is not None:  # a twin that waited for the lock
        return bid
    _check_open(lot, auction, now)
    mine = open_requests(lot, org)
    if mine:
        bid, kind = mine[0], "revised"
        if bid.plan == plan and bid.operation_code == operation:
            raise RequestRefused(_l("Ваша заявка уже такая: измените план или операцию."))
        BID_FLOW.fire(bid, "revise", bidding_open=True)
        bid.plan, bid.operation_code, bid.updated_at = plan, operation, now
    else:
        kind = "placed"
        bid = Bid(lot_id=lot.id, organization_id=org.id, placed_by_id=actor.id, mode="free",
                  amount=0, plan=plan, operation_code=operation, state="active", ranked_at=now,
                  created_at=now, updated_at=now)
        db.session.add(bid)
        auction.bid_count += 1
    auction.updated_at = now
    db.session.flush()
    _log_submission(bid, kind, key=key, actor=actor, auction=auction, now=now)
    audit.record(f"transfer_request.{kind}", bid, actor=actor, organization=org, lot_id=lot.id,
                 operation=operation, plan=plan)
    tell_holder(lot, bid, kind)
    db.session.flush()
    return bid


@_one_writer
def withdraw_request(bid: Bid, *, actor: User, reason: str, now: datetime | None = None) -> Bid:
    """Withdraw one's open request, with a reason (audited, in the bid log)."""
    now = now or utcnow()
    _require_requester(bid.organization, actor)
    reason = _clean_reason(reason, _l("Укажите причину отзыва заявки."))
    lot = bid.lot
    _request_of(lot, bid)
    auction = lock_auction(lot, now=now)
    db.session.refresh(bid)
    if bid.state not in OPEN:
        raise RequestRefused(_l("Отозвать можно только рассматриваемую заявку, а эта — "
                                "«%(state)s»."), state=bid.state_label)
    BID_FLOW.fire(bid, "withdraw", auction=auction, bidding_open=lot.state == "published")
    bid.withdrawn_at = bid.updated_at = auction.updated_at = now
    bid.withdraw_reason = reason
    db.session.flush()
    _log(bid, "withdrawn", actor=actor, auction=auction, now=now, reason=reason)
    audit.record("transfer_request.withdrawn", bid, actor=actor, organization=bid.organization,
                 lot_id=lot.id, reason=reason)
    tell_holder(lot, bid, "withdrawn")
    db.session.flush()
    return bid


# The holder's decision ----------------------------------------------------------------------
def _decline(bid: Bid, *, actor: User | None, auction: Auction, reason: str, now: datetime) -> None:
    BID_FLOW.fire(bid, "decline")
    bid.updated_at = now
    db.session.flush()
    _log(bid, "declined", actor=actor, auction=auction, now=now, reason=reason)
    audit.record("transfer_request.declined", bid, actor=actor, organization=bid.lot.organization,
                 lot_id=bid.lot_id, requester_id=bid.organization_id, reason=reason)


@_one_writer
def accept_request(lot: Lot, bid: Bid, *, actor: User, now: datetime | None = None) -> Deal:
    """The holder gives the lot to ``bid``'s organisation: the lot is awarded (exactly once),
    the deal is made at price 0 for the whole lot, the other open requests are declined.

    :raise RequestRefused: when the lot is no longer open, the request is not open, or the
        requester may no longer take the lot (its licence lapsed, its verification was lost).
    """
    now = now or utcnow()
    _require_holder(lot, actor)
    _request_of(lot, bid)
    lock_for_update(lot)  # the lot's row first, then the auction's: the order closing uses
    auction = lock_auction(lot, now=now)
    db.session.refresh(bid)
    if lot.state != "published":
        raise RequestRefused(_l("Лот уже не принимает заявок: он в состоянии «%(state)s»."),
                             state=lot.state_label)
    if auction.ends_at is not None and now >= auction.ends_at:
        raise RequestRefused(_l("Срок лота истёк %(at)s: он закрывается без передачи."),
                             at=to_almaty(auction.ends_at).strftime("%d.%m.%Y %H:%M"))
    if bid.state != "active":
        raise RequestRefused(_l("Принять можно только рассматриваемую заявку, а эта — «%(state)s»."),
                             state=bid.state_label)
    requester = bid.organization
    try:
        if not requester.can_act_on_market():
            raise RequestRefused(_l("организация не подтверждена"))
        require_can_take(requester, lot, bid.operation_code, on=to_almaty(now).date())
    except DomainError as exc:
        raise RequestRefused(_l("Организация «%(org)s» сейчас не может принять лот: %(reason)s"),
                             org=requester.name, reason=str(exc)) from None
    LOT_FLOW.target(lot.state, "award")
    if not closing._move(lot, "awarded", now):
        raise RequestRefused(_l("Лот уже передан или закрыт."))
    BID_FLOW.fire(bid, "win")
    bid.quantity, bid.updated_at, auction.updated_at = lot.quantity, now, now
    db.session.flush()
    _log(bid, "accepted", actor=actor, auction=auction, now=now)
    others = [b for b in open_requests(lot) if b.id != bid.id]
    why = str(_l("Держатель передал лот по другой заявке."))
    for other in others:
        _decline(other, actor=actor, auction=auction, reason=why, now=now)
    deal = create_deal(lot, bid, unit_price=0, quantity=lot.quantity, actor=actor, now=now)
    audit.record("transfer_request.accepted", bid, actor=actor, organization=lot.organization,
                 lot_id=lot.id, requester_id=requester.id, deal_id=deal.id,
                 declined=[b.id for b in others])
    _event(lot, "awarded", actor, buyer=requester.name, price=0, deal=deal.id)
    audit.record("lot.awarded", lot, actor=actor, organization=lot.organization, bid_id=bid.id,
                 deal_id=deal.id, buyer_id=requester.id, unit_price=0, free_transfer=True)
    from market.ledger.operations import record_award  # the public ledger, as auction awards

    record_award(lot, deal, bid)
    watch.notify_watchers(lot, watch.closed_text(lot), actor=actor)
    tell_accepted(lot, bid, deal)
    for other in others:
        tell_declined(lot, other, why)
    db.session.flush()
    return deal


@_one_writer
def decline_request(lot: Lot, bid: Bid, *, actor: User, reason: str,
                    now: datetime | None = None) -> Bid:
    """The holder turns one open request down, with a reason the requester sees."""
    now = now or utcnow()
    _require_holder(lot, actor)
    _request_of(lot, bid)
    reason = _clean_reason(reason, _l("Укажите причину отказа: заявитель её увидит."))
    auction = lock_auction(lot, now=now)
    db.session.refresh(bid)
    if bid.state not in OPEN:
        raise RequestRefused(_l("Отклонить можно только рассматриваемую заявку, а эта — "
                                "«%(state)s»."), state=bid.state_label)
    auction.updated_at = now
    _decline(bid, actor=actor, auction=auction, reason=reason, now=now)
    tell_declined(lot, bid, reason)
    db.session.flush()
    return bid


def close_requests(lot: Lot, *, now: datetime) -> list[Bid]:
    """At a close without a taker (the lot's time ran out): open requests are not accepted."""
    closed = open_requests(lot)
    for bid in closed:
        BID_FLOW.fire(bid, "lose")
        bid.updated_at = now
    db.session.flush()
    for bid in closed:
        tell_declined(lot, bid, None)
    return closed


def decline_reason(bid: Bid) -> str | None:
    """Why the holder declined the request (from the bid log), or None."""
    return db.session.scalar(select(BidEvent.reason).where(
        BidEvent.bid_id == bid.id, BidEvent.kind == "declined").order_by(BidEvent.id.desc()).limit(1))
