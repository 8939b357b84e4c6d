"""Making deals: at an auction's award (plugged into lot closing) and on a fixed-price purchase.

A deal records seller, buyer, the winning bid, the price per the lot's basis, the quantity and
the total (tiyn), the terms as they were, the deadline to sign (DEAL_SIGN_WORKING_DAYS working
days, weekends skipped) and the SHA-256 of the lot's bid log at that moment (the ledger records
it later). One deal per bid (a unique key), on top of the exactly-once close of the lot.

The registry reservation stays with the lot: the tonnes leave the holder's balance only when
the rights transfer (a later slice), so an awarded lot keeps them reserved for its buyer.
Operations flush, never commit; notifications are rows of the same transaction (seen after
commit) and e-mails go through the outbox after commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from market.accounts.models import User
from market.auctions import bid_notices, bidding
from market.auctions import closing as auction_closing
from market.auctions.auction import auction_of
from market.auctions.bidding import place_bid
from market.auctions.models import Auction, Bid
from market.core import audit
from market.core.notify import notify, queue_email
from market.core.timeutil import to_almaty, utcnow
from market.deals import notices as deal_notices
from market.deals.models import Deal
from market.extensions import db
from market.ledger.operations import record_award
from market.lots import closing, watch
from market.lots import operations as lot_operations
from market.lots.models import Lot
from market.lots.money import format_kzt
from market.lots.operations import _event
from market.lots.wanted import managers

DEFAULT_SIGN_DAYS = 5


def sign_by(now: datetime, days: int | None = None) -> datetime:
    """``days`` working days after ``now`` (Saturdays and Sundays in Almaty skipped), same time."""
    if days is None:
        days = int(current_app.config.get("DEAL_SIGN_WORKING_DAYS", DEFAULT_SIGN_DAYS))
    local = to_almaty(now)
    while days > 0:
        local += timedelta(days=1)
        if local.weekday() < 5:
            days -= 1
    return local.astimezone(now.tzinfo)


def deal_total(unit_price: int, quantity: Decimal, price_basis: str) -> int:
    """Tiyn: per tonne × tonnes (rounded half up to the tiyn), or the price of the whole lot."""
    if price_basis == "per_lot":
        return unit_price
    return int((Decimal(unit_price) * quantity).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def deal_for_bid(bid: Bid) -> Deal | None:
    return db.session.scalar(select(Deal).where(Deal.bid_id == bid.id))


def create_deal(lot: Lot, bid: Bid, *, unit_price: int, quantity: Decimal, actor=None,
                now: datetime, state: str = "agreed", offered_after: Deal | None = None) -> Deal:
    """The deal of ``bid`` on ``lot`` (agreed, or offered to the next bidder after the failed
    deal ``offered_after``; to be signed), audited."""
    deal = Deal(offered_after_id=getattr(offered_after, "id", None), updated_at=now,
                lot_id=lot.id, seller_id=lot.organization_id, buyer_id=bid.organization_id,
                bid_id=bid.id, unit_price=unit_price, price_basis=lot.price_basis,
                quantity=quantity, total=deal_total(unit_price, quantity, lot.price_basis),
                delivery=lot.delivery, waste_code=lot.waste_code, region_kato=lot.region_kato,
                state=state, sign_by=sign_by(now),
                bid_log_sha256=auction_closing.bid_log_sha256(lot), created_at=now)
    db.session.add(deal)
    db.session.flush()
    audit.record("deal.created", deal, actor=actor, organization=lot.organization, lot_id=lot.id,
                 buyer_id=bid.organization_id, bid_id=bid.id, unit_price=unit_price,
                 quantity=str(quantity), total=deal.total, sign_by=deal.sign_by.isoformat(),
                 bid_log_sha256=deal.bid_log_sha256, state=state,
                 offered_after=getattr(offered_after, "id", None))
    return deal


# The award at the close ---------------------------------------------------------------------
def finish_award(lot: Lot, outcome: closing.Outcome, *, now: datetime, actor=None) -> None:
    """FINISH["award"]: the lot is awarded (already moved by close_lot); bids settle, the deal
    is made, the reserve stays for the buyer; winner, other bidders and holder are told."""
    award: auction_closing.Award = outcome.winner
    bid = award.bid
    lost = auction_closing.settle_bids(lot, bid, now=now)
    deal = create_deal(lot, bid, unit_price=award.unit_price, quantity=lot.quantity, actor=actor,
                       now=now)
    _event(lot, "awarded", actor, buyer=bid.organization.name, price=award.unit_price, deal=deal.id)
    record_award(lot, deal, bid)  # public ledger
    audit.record("lot.awarded", lot, actor=actor, organization=lot.organization, bid_id=bid.id,
                 deal_id=deal.id, buyer_id=bid.organization_id, unit_price=award.unit_price)
    _tell_award(lot, deal, losers={b.organization_id for b in lost} - {bid.organization_id})


def _tell_award(lot: Lot, deal: Deal, *, losers: set[int]) -> None:
    url = deal_notices.deal_url(deal)
    price = format_kzt(deal.total)
    won = _l("Вы выиграли торги по лоту «%(title)s»: сумма сделки %(total)s. Подпишите договор до "
             "%(by)s.", title=lot.title, total=price, by=to_almaty(deal.sign_by).strftime("%d.%m.%Y"))
    for user in managers(deal.buyer_id):
        notify(user, "deal.won", str(won), url)
        queue_email(user.email, _l("Вы выиграли торги по лоту «%(title)s»", title=lot.title),
                    "email/deal_won.txt", user=user, lot=lot, deal=deal, total=price,
                    sign_by=to_almaty(deal.sign_by).strftime("%d.%m.%Y"),
                    link=current_app.config["PUBLIC_URL"].rstrip("/") + url)
    ended = _l("Торги по лоту «%(title)s» завершены: победила другая ставка.", title=lot.title)
    bid_notices.tell_lost(lot, losers, ended)
    found = _l("Определён покупатель по лоту «%(title)s»: %(buyer)s, сумма сделки %(total)s.",
               title=lot.title, buyer=deal.buyer.name, total=price)
    for user in managers(lot.organization_id):
        notify(user, "deal.buyer_found", str(found), url)


# Fixed-price purchases -----------------------------------------------------------------------
def buy(lot: Lot, *, actor: User, organization, amount: int, quantity=None,
        idempotency_key: str | None = None, now: datetime | None = None) -> tuple[Bid, Deal | None]:
    """Buy (part of) a fixed-price lot: the purchase (auctions.place_bid) and at once its deal.

    A purchase pending its deposit has no deal yet (None). A repeated idempotency key returns
    the first purchase and its deal. When the lot is sold out it becomes 'awarded'; its registry
    reservation stays with it until the rights transfer.
    :raise DomainError: a refusal of the purchase (BidRefused) or a lot that is not fixed-price.
    """
    from market.auctions.rules import BidRefused

    if lot.pricing_mode != "fixed":
        raise BidRefused(_l("Купить сразу можно только лот с фиксированной ценой."))
    now = now or utcnow()
    bid = place_bid(lot, actor=actor, organization=organization, amount=amount, quantity=quantity,
                    idempotency_key=idempotency_key, now=now)
    if bid.state != "active":
        return bid, None
    deal = deal_for_bid(bid)
    if deal is not None:  # a replayed submission
        return bid, deal
    return bid, purchase_made(bid, actor=actor, now=now)


def purchase_made(bid: Bid, *, actor=None, now: datetime) -> Deal:
    """A counted fixed-price purchase (at once, or once its deposit is held: the ACTIVATED hook)
    gets its deal; a sold-out lot is awarded. Runs under the auction's lock."""
    lot = bid.lot
    organization = bid.organization
    deal = create_deal(lot, bid, unit_price=bid.amount, quantity=bid.quantity, actor=actor, now=now)
    _event(lot, "sold", actor, buyer=organization.name, quantity=bid.quantity, deal=deal.id)
    auction = auction_of(lot)  # locked by place_bid in this transaction
    if auction is not None and auction.remaining(lot) <= 0 and closing._move(lot, "awarded", now):
        _event(lot, "awarded", actor, sold_out=True)
        audit.record("lot.awarded", lot, actor=actor, organization=lot.organization,
                     sold_out=True, deal_id=deal.id)
        watch.notify_watchers(lot, watch.closed_text(lot), actor=actor)
    _tell_purchase(lot, deal)
    db.session.flush()
    return deal


def _activated(bid: Bid, *, actor=None, now: datetime) -> None:
    if bid.mode == "fixed" and bid.state == "active" and deal_for_bid(bid) is None:
        purchase_made(bid, actor=actor, now=now)


def sold_floor(lot: Lot) -> Decimal | None:
    """QUANTITY_FLOORS hook: the tonnes already sold at a fixed price (the auction row locked,
    so a purchase cannot slip in while the holder lowers the quantity)."""
    if lot.pricing_mode != "fixed":
        return None
    auction = db.session.scalar(select(Auction).where(Auction.lot_id == lot.id).with_for_update()
                                .execution_options(populate_existing=True))
    return auction.sold if auction is not None else None


def _tell_purchase(lot: Lot, deal: Deal) -> None:
    url = deal_notices.deal_url(deal)
    price = format_kzt(deal.total)
    bought = _l("Вы купили %(qty)s т по лоту «%(title)s»: сумма сделки %(total)s. Подпишите договор "
                "до %(by)s.", qty=str(deal.quantity), title=lot.title, total=price,
                by=to_almaty(deal.sign_by).strftime("%d.%m.%Y"))
    for user in managers(deal.buyer_id):
        notify(user, "deal.bought", str(bought), url)
    found = _l("Определён покупатель по лоту «%(title)s»: %(buyer)s, %(qty)s т, сумма сделки "
               "%(total)s.", title=lot.title, buyer=deal.buyer.name, qty=str(deal.quantity),
               total=price)
    for user in managers(lot.organization_id):
        notify(user, "deal.buyer_found", str(found), url)


def install() -> None:
    """Plug the deals domain (and the auctions domain under it) into lot closing."""
    auction_closing.install()
    closing.FINISH["award"] = finish_award
    if _activated not in bidding.ACTIVATED:
        bidding.ACTIVATED.append(_activated)
    if sold_floor not in lot_operations.QUANTITY_FLOORS:
        lot_operations.QUANTITY_FLOORS.append(sold_floor)
    import market.deals.jobs  # noqa: F401  (the lapse job known to web and consumer)
