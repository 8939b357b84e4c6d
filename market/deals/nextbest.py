"""After an auction deal failed (lapsed, withdrawn, declined): the holder offers the lot to the
next-best bidder at that bidder's own price, or closes the lot without an award.

The next-best bid is the best remaining eligible bid of an organisation that has had no deal
on the lot yet: English the highest limit (the most the bidder bound itself to), reverse the
lowest limit, sealed the highest amount; of equal ones the earlier. Only bids that counted
(active at some point; not pending a deposit, not withdrawn) and meet the reserve price, of
organisations that may still take the lot (verified, licence for a hazardous code).

The choice is made once per failed deal (Deal.follow_up), under the lot's row lock and with a
conditional UPDATE: a double click returns the first outcome, two holders' clicks at once give
one outcome and a clear refusal for the other choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from market.accounts.models import OrgRole, User
from market.auctions.models import COUNTED, Bid, BidEvent
from market.core import audit
from market.core.errors import DomainError, PermissionDenied
from market.core.timeutil import to_almaty, utcnow
from market.deals import notices
from market.deals.lifecycle import DealChanged, lapse_deal, lock_deal, move_lot
from market.deals.models import FAILED_STATES, Deal
from market.extensions import db
from market.lots import closing
from market.lots.eligibility import eligibility
from market.lots.models import Lot


@dataclass(frozen=True)
class Candidate:
    bid: Bid
    unit_price: int


def _price(bid: Bid) -> int:
    return bid.amount if bid.mode == "sealed" else bid.limit


def _meets_reserve(lot: Lot, price: int) -> bool:
    if lot.reserve_price is None:
        return True
    return price <= lot.reserve_price if lot.pricing_mode == "reverse" else price >= lot.reserve_price


def candidates(lot: Lot, *, now: datetime | None = None) -> list[Candidate]:
    """The remaining bidders in order, one (its best bid) per organisation."""
    now = now or utcnow()
    had_deal = select(Deal.buyer_id).where(Deal.lot_id == lot.id)
    counted = select(BidEvent.bid_id).where(BidEvent.lot_id == lot.id, BidEvent.state.in_(COUNTED))
    bids = db.session.scalars(select(Bid).where(
        Bid.lot_id == lot.id, Bid.state == "lost", Bid.id.in_(counted),
        Bid.organization_id.not_in(had_deal), Bid.organization_id != lot.organization_id)).all()
    sign = 1 if lot.pricing_mode == "reverse" else -1
    bids = sorted(bids, key=lambda b: (sign * _price(b), b.ranked_at, b.id))
    out, seen = [], set()
    day = to_almaty(now).date()
    for bid in bids:
        if bid.organization_id in seen:
            continue
        seen.add(bid.organization_id)
        org = bid.organization
        if not org.can_act_on_market() or not eligibility(org, lot, on=day).allowed:
            continue
        if _meets_reserve(lot, _price(bid)):
            out.append(Candidate(bid=bid, unit_price=_price(bid)))
    return out


def next_best(lot: Lot, *, now: datetime | None = None) -> Candidate | None:
    found = candidates(lot, now=now)
    return found[0] if found else None


# The holder's choice ---------------------------------------------------------------------------
def can_follow_up(deal: Deal) -> bool:
    """Whether the holder still has to choose after this deal (a failed auction deal of an
    awarded lot, no choice made yet)."""
    return (deal.state in FAILED_STATES and deal.follow_up is None and not deal.is_purchase
            and deal.lot.state == "awarded")


def _prepare(deal: Deal, actor: User, choice: str, now: datetime) -> Deal | None:
    """Checks under the lot's lock (after a lazy lapse); None when the choice may proceed, or
    the deal when the same choice was made before (a double click)."""
    if not actor.has_org_role(deal.seller, OrgRole.manager):
        raise PermissionDenied(_l("Решение по лоту принимают владелец и менеджеры держателя."))
    if deal.is_purchase:
        raise DomainError(_l("Покупка по фиксированной цене возвращается в продажу сама: "
                             "предлагать её следующему не нужно."))
    lock_deal(deal)
    lapse_deal(deal, now=now)
    if deal.follow_up == choice:
        return deal
    if deal.follow_up is not None:
        raise DealChanged(_l("По этой сделке уже принято решение: %(choice)s."),
                          choice=deal.follow_up_label)
    if deal.state not in FAILED_STATES:
        raise DomainError(_l("Сделка ещё действует: предложить лот другому или закрыть его можно "
                             "после отказа покупателя или истечения срока подписания."))
    if deal.lot.state != "awarded":
        raise DomainError(_l("Лот уже не ждёт покупателя: он в состоянии «%(state)s»."),
                          state=deal.lot.state_label)
    return None


def _claim(deal: Deal, choice: str, now: datetime) -> None:
    """Record the holder's choice once (a conditional UPDATE: a racing writer is refused)."""
    table = Deal.__table__
    row = db.session.execute(update(table).where(table.c.id == deal.id, table.c.follow_up.is_(None))
                             .values(follow_up=choice, updated_at=now).returning(table.c.id)).first()
    if row is None:
        db.session.expire(deal)
        raise DealChanged(_l("По этой сделке уже принято решение: обновите страницу."))
    set_committed_value(deal, "follow_up", choice)
    set_committed_value(deal, "updated_at", now)


def offer_next(deal: Deal, *, actor: User, now: datetime | None = None) -> Deal:
    """Offer the lot of a failed deal to the next-best bidder at its own price: a new deal
    (state offered, a new deadline), the bidder told in-app and by e-mail. A repeated click
    returns the deal offered the first time.
    :raise DomainError: nobody is left (the holder closes the lot), or the choice is not open."""
    from market.deals.operations import create_deal

    now = now or utcnow()
    done = _prepare(deal, actor, "offered", now)
    if done is not None:
        return db.session.scalar(select(Deal).where(Deal.offered_after_id == deal.id))
    lot = deal.lot
    best = next_best(lot, now=now)
    if best is None:
        raise DomainError(_l("Других участников, которым можно предложить лот, нет: закройте лот."))
    _claim(deal, "offered", now)
    offer = create_deal(lot, best.bid, unit_price=best.unit_price, quantity=lot.quantity,
                        actor=actor, now=now, state="offered", offered_after=deal)
    audit.record("deal.offered_next", deal, actor=actor, organization=deal.seller, lot_id=lot.id,
                 offer_id=offer.id, buyer_id=offer.buyer_id, bid_id=best.bid.id,
                 unit_price=best.unit_price, total=offer.total)
    notices.offered(offer)
    db.session.flush()
    return offer


def close_after(deal: Deal, *, actor: User, now: datetime | None = None) -> bool:
    """Close the lot of a failed deal without an award: the registry reservation released (a
    mandatory offer gets its "offered, no taker" record). False on a repeated click."""
    now = now or utcnow()
    if _prepare(deal, actor, "closed", now) is not None:
        return False
    _claim(deal, "closed", now)
    lot = deal.lot
    if not move_lot(lot, "close", now, closed_at=now):
        raise DealChanged(_l("Лот уже изменился: обновите страницу."))
    audit.record("deal.lot_closed", deal, actor=actor, organization=deal.seller, lot_id=lot.id)
    closing._finish_without_taker(lot, closing.NO_TAKER, now=now, actor=actor)
    notices.lot_closed(deal)
    db.session.flush()
    return True
