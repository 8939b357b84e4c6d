"""Placing, revising, activating and withdrawing bids, under the lock of the lot's auction row.

Every operation here first locks the lot's Auction row (auction.lock_auction), so bids on one
lot queue: never two leaders, a bid under the step or a lost bid; the closing of the lot
(which must take the same lock after the lot's) sees every bid committed before it and
refuses every bid after it. Operations flush, never commit.

Fixed-price purchases only count the tonnes sold (Auction.sold): the registry reservation
stays with the lot for now; the deals slice moves the bought tonnes with the deal.
"""

from __future__ import annotations

import functools
from datetime import datetime
from decimal import Decimal

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from market.accounts.models import Organization, OrgRole, User
from market.auctions import bid_notices
from market.auctions.auction import bidding_open, deposit_required, lock_auction
from market.auctions.models import Auction, Bid, BidEvent
from market.auctions.rules import (
    BID_FLOW,
    BIDDING_MODES,
    DEFAULT_MAX_MULTIPLE,
    BidRefused,
    Book,
    Entry,
    better,
    check_amount,
    check_plausible,
    extended_end,
    place,
    purchase_quantity,
    raise_limit,
)
from market.core import audit
from market.core.errors import PermissionDenied
from market.core.timeutil import to_almaty, utcnow
from market.extensions import db
from market.lots.eligibility import require_can_take
from market.lots.models import Lot
from market.lots.money import MAX_TIYN, format_kzt
from market.registry.journal import parse_quantity

KEY_MAX = 64
# (bid, actor=, now=) -> None, called under the auction's lock once a bid pending its deposit
# counts; installed by higher domains (market.deals: a fixed-price purchase gets its deal).
ACTIVATED: list = []


def _one_writer(operation):
    """A write that lost a race with another one on the same auction row (its version moved:
    possible on SQLite, where there is no row lock) becomes a clear refusal, not an error."""

    @functools.wraps(operation)
    def wrapper(*args, **kwargs):
        try:
            return operation(*args, **kwargs)
        except StaleDataError:
            raise BidRefused(_l("Пока вы делали ставку, торги по лоту изменились: обновите страницу "
                                "и повторите.")) from None

    return wrapper


# Checks --------------------------------------------------------------------------------------
def _require_bidder(org: Organization, actor: User) -> None:
    if not actor.has_org_role(org, OrgRole.manager):
        raise PermissionDenied(_l("Ставки от имени организации делают её владелец и менеджеры."))


def _check_eligible(lot: Lot, org: Organization, now: datetime) -> None:
    if lot.pricing_mode == "free":
        raise BidRefused(_l("Лот передаётся безвозмездно по заявке: ставки на него не принимаются."))
    if lot.pricing_mode not in BIDDING_MODES:
        raise BidRefused(_l("Неизвестный способ продажи лота."))
    if not org.can_act_on_market():
        raise BidRefused(_l("Делать ставки могут только подтверждённые организации: «%(org)s» "
                            "ещё не подтверждена."), org=org.name)
    if org.id == lot.organization_id:
        raise BidRefused(_l("Нельзя делать ставки на лот своей организации."))
    require_can_take(org, lot, on=to_almaty(now).date())


def _check_open(lot: Lot, auction: Auction, now: datetime) -> None:
    if lot.state != "published":
        raise BidRefused(_l("Лот не принимает ставки: он в состоянии «%(state)s»."),
                         state=lot.state_label)
    if auction.ends_at is not None and now >= auction.ends_at:
        raise BidRefused(_l("Торги по лоту завершились %(at)s."),
                         at=to_almaty(auction.ends_at).strftime("%d.%m.%Y %H:%M"))


def _check_plausible(lot: Lot, auction: Auction, amount: int, max_amount: int | None) -> None:
    """The typo guard: no amount or limit above BID_MAX_MULTIPLE × the current (or start) price."""
    multiple = int(current_app.config.get("BID_MAX_MULTIPLE", DEFAULT_MAX_MULTIPLE))
    reference = auction.price if auction.price is not None else lot.price
    for value in (amount, max_amount):
        if value is not None:
            check_plausible(lot.pricing_mode, value, reference=reference, multiple=multiple)


def _tiyn(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BidRefused(_l("Сумма ставки — целое число тиынов."))
    if not 0 <= value <= MAX_TIYN:
        raise BidRefused(_l("Сумма ставки не может быть отрицательной или больше %(max)s."),
                         max=format_kzt(MAX_TIYN))
    return value


def _clean_key(key) -> str | None:
    key = (key or "").strip() if isinstance(key, str | None) else str(key)
    if len(key) > KEY_MAX:
        raise BidRefused(_l("Ключ повторной отправки — не длиннее %(n)s символов."), n=KEY_MAX)
    return key or None


def _replayed(org: Organization, key: str | None, *, lot: Lot, amount, max_amount,
              quantity) -> Bid | None:
    """The bid a key was first used for (a double submission), None for a new key."""
    if key is None:
        return None
    event = db.session.scalar(select(BidEvent).where(
        BidEvent.organization_id == org.id, BidEvent.idempotency_key == key))
    if event is None:
        return None
    same = (event.lot_id == lot.id and event.amount == amount and event.max_amount == max_amount
            and (quantity is None or event.quantity == parse_quantity(quantity)))
    if not same:
        raise BidRefused(_l("Ключ повторной отправки «%(key)s» уже использован для другой ставки."),
                         key=key)
    return event.bid


def _log(bid: Bid, kind: str, *, actor: User | None, auction: Auction, now: datetime,
         key: str | None = None, reason: str | None = None, submitted: dict | None = None) -> BidEvent:
    """Append to the bid log: the bid as submitted (placed, revised) or as it is, its state
    and the auction's price and end after the event."""
    values = {"amount": bid.amount, "max_amount": bid.max_amount, **(submitted or {})}
    event = BidEvent(bid_id=bid.id, lot_id=bid.lot_id, organization_id=bid.organization_id,
                     actor_id=getattr(actor, "id", None), kind=kind, state=bid.state,
                     amount=values["amount"], max_amount=values["max_amount"], quantity=bid.quantity,
                     price=auction.price, ends_at=auction.ends_at, reason=reason,
                     idempotency_key=key, created_at=now)
    db.session.add(event)
    return event


def _log_submission(bid: Bid, kind: str, *, key: str | None, **kw) -> None:
    """Log a placed or revised bid. Its key is unique per organisation: the same key used at
    the same moment on another lot (which the lookup before the lock cannot see) is refused."""
    if key is None:
        _log(bid, kind, key=None, **kw)
        return
    try:
        with db.session.begin_nested():
            _log(bid, kind, key=key, **kw)
    except IntegrityError:
        raise BidRefused(_l("Ключ повторной отправки «%(key)s» уже использован для другой ставки."),
                         key=key) from None


def _entry(bid: Bid | None) -> Entry | None:
    if bid is None:
        return None
    return Entry(bid_id=bid.id, org_id=bid.organization_id, amount=bid.amount, limit=bid.limit)


def _own_bids(lot: Lot, org: Organization, *states: str) -> list[Bid]:
    return list(db.session.scalars(select(Bid).where(
        Bid.lot_id == lot.id, Bid.organization_id == org.id, Bid.state.in_(states))
        .order_by(Bid.id).execution_options(populate_existing=True)))


# Placing -------------------------------------------------------------------------------------
@_one_writer
def place_bid(lot: Lot, *, actor: User, organization: Organization, amount: int,
              quantity=None, max_amount: int | None = None, idempotency_key: str | None = None,
              now: datetime | None = None) -> Bid:
    """Bid on a lot, or buy (part of) a fixed-price lot, for ``organization``.

    ``amount`` is tiyn per the lot's price basis; ``max_amount`` a proxy limit (English: up to,
    reverse: down to); ``quantity`` tonnes of a fixed-price purchase (None: all that is left).
    A repeated ``idempotency_key`` returns the bid it was first used for.
    :raise BidRefused: (a DomainError) naming the rule; PermissionDenied for the actor.
    """
    now = now or utcnow()
    org = organization
    _require_bidder(org, actor)
    key = _clean_key(idempotency_key)
    amount = _tiyn(amount)
    max_amount = _tiyn(max_amount) if max_amount is not None else None
    replay = dict(lot=lot, amount=amount, max_amount=max_amount, quantity=quantity)
    if (bid := _replayed(org, key, **replay)) is not None:  # fast path, without the lock
        return bid
    _check_eligible(lot, org, now)
    if lot.pricing_mode != "fixed" and quantity is not None:
        raise BidRefused(_l("Торги идут за весь лот: количество указывают только при покупке по "
                            "фиксированной цене."))
    auction = lock_auction(lot, now=now)
    if (bid := _replayed(org, key, **replay)) is not None:  # a twin that waited for the lock
        return bid
    _check_open(lot, auction, now)
    _check_plausible(lot, auction, amount, max_amount)
    pending = deposit_required(lot, org)
    placing = {"fixed": _buy, "sealed": _seal, "english": _outbid, "reverse": _outbid}
    bid, kind = placing[lot.pricing_mode](lot, auction, org=org, actor=actor, amount=amount,
                                         max_amount=max_amount, quantity=quantity,
                                         pending=pending, now=now)
    auction.updated_at = now
    db.session.flush()
    _log_submission(bid, kind, actor=actor, auction=auction, now=now, key=key,
                    submitted={"amount": amount, "max_amount": max_amount})
    audit.record(f"bid.{kind}", bid, actor=actor, organization=org, lot_id=lot.id,
                 mode=lot.pricing_mode, amount=bid.amount, max_amount=bid.max_amount,
                 quantity=bid.quantity, state=bid.state, price=auction.price)
    db.session.flush()
    return bid


def _new_bid(lot: Lot, org: Organization, actor: User, *, amount: int, now: datetime,
             pending: bool, max_amount: int | None = None, quantity: Decimal | None = None) -> Bid:
    return Bid(lot_id=lot.id, organization_id=org.id, placed_by_id=actor.id, mode=lot.pricing_mode,
               amount=amount, max_amount=max_amount, quantity=quantity,
               state="pending_deposit" if pending else "active", ranked_at=now, created_at=now,
               updated_at=now)


def _buy(lot: Lot, auction: Auction, *, org, actor, amount, max_amount, quantity, pending, now):
    if max_amount is not None:
        raise BidRefused(_l("При покупке по фиксированной цене автоставки нет."))
    if amount != lot.price:
        raise BidRefused(_l("Цена лота — %(price)s: покупка только по ней."), price=format_kzt(lot.price))
    wanted = parse_quantity(quantity) if quantity not in (None, "") else None
    take = purchase_quantity(quantity=lot.quantity, sold=auction.sold, min_take=lot.min_take,
                             wanted=wanted, price_basis=lot.price_basis)
    bid = _new_bid(lot, org, actor, amount=amount, quantity=take, now=now, pending=pending)
    db.session.add(bid)
    if not pending:
        _count_purchase(auction, bid)
    return bid, "placed"


def _count_purchase(auction: Auction, bid: Bid) -> None:
    auction.sold = (auction.sold or Decimal("0")) + bid.quantity
    auction.bid_count += 1


def _seal(lot: Lot, auction: Auction, *, org, actor, amount, max_amount, quantity, pending, now):
    if max_amount is not None:
        raise BidRefused(_l("В закрытых предложениях автоставки нет: укажите свою цену."))
    if lot.price is not None and amount < lot.price:
        raise BidRefused(_l("Предложение должно быть не меньше %(start)s (начальная цена)."),
                         start=format_kzt(lot.price))
    mine = _own_bids(lot, org, "pending_deposit", "active")
    if mine:  # one sealed bid per organisation, revised until the close
        bid = mine[0]
        if bid.amount == amount:
            raise BidRefused(_l("Ваше предложение уже %(amount)s."), amount=format_kzt(amount))
        BID_FLOW.fire(bid, "revise", bidding_open=True)
        bid.amount, bid.ranked_at, bid.updated_at = amount, now, now
        return bid, "revised"
    bid = _new_bid(lot, org, actor, amount=amount, now=now, pending=pending)
    db.session.add(bid)
    if not pending:
        auction.bid_count += 1
    return bid, "placed"


def _outbid(lot: Lot, auction: Auction, *, org, actor, amount, max_amount, quantity, pending, now):
    mode = lot.pricing_mode
    if max_amount is not None and better(mode, amount, max_amount):
        if mode == "english":
            raise BidRefused(_l("Максимальная ставка не может быть меньше ставки %(amount)s."),
                             amount=format_kzt(amount))
        raise BidRefused(_l("Предел снижения не может быть выше ставки %(amount)s."),
                         amount=format_kzt(amount))
    leader = auction.leader
    if leader is not None and leader.organization_id == org.id:
        return _raise_own_limit(lot, auction, leader, amount=amount,
                                limit=max_amount if max_amount is not None else amount, now=now), "revised"
    if _own_bids(lot, org, "pending_deposit"):
        raise BidRefused(_l("Ваша прежняя ставка ждёт задатка: внесите его или отзовите ставку."))
    check_amount(mode, amount, start=lot.price, increment=lot.increment, price=auction.price)
    bid = _new_bid(lot, org, actor, amount=amount, max_amount=max_amount, now=now, pending=pending)
    if pending:
        db.session.add(bid)
        return bid, "placed"
    _apply(lot, auction, bid, now=now)
    return bid, "placed"


def _raise_own_limit(lot: Lot, auction: Auction, leader: Bid, *, amount: int, limit: int,
                     now: datetime) -> Bid:
    """The leader never bids against itself: a new bid of its organisation moves its limit."""
    mode = lot.pricing_mode
    if not better(mode, limit, leader.limit):
        raise BidRefused(_l("Ваша ставка лидирует с пределом %(limit)s: новый предел должен быть "
                            "%(direction)s."), limit=format_kzt(leader.limit),
                         direction=_l("выше") if mode == "english" else _l("ниже"))
    check_amount(mode, amount, start=lot.price, increment=lot.increment, price=auction.price)
    BID_FLOW.fire(leader, "revise", bidding_open=True)
    book = raise_limit(mode, _book(auction), limit, increment=lot.increment,
                       reserve=lot.reserve_price)
    leader.max_amount, leader.ranked_at, leader.updated_at = limit, now, now
    auction.price = book.price
    return leader


def _book(auction: Auction) -> Book:
    return Book(price=auction.price, leader=_entry(auction.leader), runner_up=auction.runner_up)


def _apply(lot: Lot, auction: Auction, bid: Bid, *, now: datetime) -> None:
    """Count a new English or reverse bid (state active, not flushed as such yet): the book
    moves, the displaced leader is outbid, a late bid extends the end."""
    mode = lot.pricing_mode
    new = Entry(bid_id=None, org_id=bid.organization_id, amount=bid.amount, limit=bid.limit)
    book, displaced = place(mode, _book(auction), new, increment=lot.increment,
                            reserve=lot.reserve_price)
    leads = book.leader is new
    if leads and displaced is not None:
        BID_FLOW.fire(auction.leader, "outbid")
        auction.leader.updated_at = now
        db.session.flush()  # the old leader stops being active before the new one is written
    if not leads:
        BID_FLOW.fire(bid, "outbid")
    if bid.id is None:
        db.session.add(bid)
    db.session.flush()
    if leads:
        overtaken = auction.leader
        auction.leader = bid
    else:
        overtaken = bid  # the leader's proxy limit outbid the new bid at once
    auction.price, auction.runner_up = book.price, book.runner_up
    if overtaken is not None:
        bid_notices.outbid(lot, overtaken, price=book.price, by_proxy=not leads)
    auction.bid_count += 1
    end = extended_end(auction.ends_at, now, lot.anti_snipe_minutes,
                       current_app.config["ANTI_SNIPE_MAX_MINUTES"])
    if end is not None:
        auction.ends_at = end
        auction.extensions += 1


# Activating and withdrawing ------------------------------------------------------------------
@_one_writer
def activate_bid(bid: Bid, *, actor: User | None = None, now: datetime | None = None) -> Bid:
    """A bid pending its deposit counts from now on (the payments issue calls this once the
    deposit is held): the rules are applied again against the auction as it is now.

    :raise BidRefused: when the bid no longer fits (outbid meanwhile, sold out, closed); the
        caller withdraws it and releases the deposit.
    """
    now = now or utcnow()
    lot = bid.lot
    auction = lock_auction(lot, now=now)
    db.session.refresh(bid)
    BID_FLOW.target(bid.state, "activate")
    _check_open(lot, auction, now)
    if bid.mode == "fixed":
        purchase_quantity(quantity=lot.quantity, sold=auction.sold, min_take=lot.min_take,
                          wanted=bid.quantity, price_basis=lot.price_basis)
        BID_FLOW.fire(bid, "activate")
        _count_purchase(auction, bid)
    elif bid.mode == "sealed":
        BID_FLOW.fire(bid, "activate")
        auction.bid_count += 1
    else:
        leader = auction.leader
        if leader is not None and leader.organization_id == bid.organization_id:
            raise BidRefused(_l("Ставка вашей организации уже лидирует."))
        check_amount(bid.mode, bid.amount, start=lot.price, increment=lot.increment,
                     price=auction.price)
        BID_FLOW.fire(bid, "activate")
        _apply(lot, auction, bid, now=now)
    bid.ranked_at = bid.updated_at = auction.updated_at = now
    db.session.flush()
    _log(bid, "activated", actor=actor, auction=auction, now=now)
    audit.record("bid.activated", bid, actor=actor, organization=bid.organization, lot_id=lot.id,
                 state=bid.state, price=auction.price)
    db.session.flush()
    for hook in ACTIVATED:  # the deals domain: an activated purchase gets its deal
        hook(bid, actor=actor, now=now)
    return bid


@_one_writer
def withdraw_bid(bid: Bid, *, actor: User, reason: str, now: datetime | None = None) -> Bid:
    """Withdraw a bid where the rules allow it, with a reason (audited, in the bid log).

    Sealed: until the close. English and reverse: any bid but the leading one, until the
    close; the visible price stays where the withdrawn bid pushed it (it was reached in the
    open), the bid just no longer counts for the award. Fixed-price purchases: never.
    """
    now = now or utcnow()
    _require_bidder(bid.organization, actor)
    reason = (reason or "").strip()
    if not reason:
        raise BidRefused(_l("Укажите причину отзыва ставки."))
    lot = bid.lot
    auction = lock_auction(lot, now=now)
    db.session.refresh(bid)
    BID_FLOW.fire(bid, "withdraw", auction=auction, bidding_open=bidding_open(lot, auction, now))
    bid.withdrawn_at = bid.updated_at = now
    bid.withdraw_reason = reason
    db.session.flush()
    _log(bid, "withdrawn", actor=actor, auction=auction, now=now, reason=reason)
    audit.record("bid.withdrawn", bid, actor=actor, organization=bid.organization, lot_id=lot.id,
                 amount=bid.amount, reason=reason)
    db.session.flush()
    return bid
