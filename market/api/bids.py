"""API v1 bids: what bidding on a lot looks like, placing and withdrawing bids, my bids.

The same operations and rules as the lot page (market.auctions.bidding, market.deals.operations):
the bids of a lot are shown as the page shows them (other bidders are "Участник N", sealed bids
stay hidden from everyone else until bidding ends); without a token only what an anonymous
visitor sees. Placing and withdrawing need a token with the scope `bids:write`, acting for its
organisation through the token's creator (owner or manager). Refusals are JSON errors in the
language of Accept-Language: the body does not fit the lot's pricing mode → 422; the
organisation may not bid on this lot (not verified, its own lot, no licence, not a manager)
→ 403; the state of bidding says no (the price moved on, the lot is closed or sold out, the
leading bid cannot be withdrawn...) → 409, with the current state of bidding in `auction`.
Audit events of API bids carry `source=api` and the token's prefix.
"""

from __future__ import annotations

from http import HTTPStatus

from flask import current_app, g, request, url_for
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint, abort
from sqlalchemy import select

from market.api import idempotency, tokens
from market.api.auth import REALM, acting_user, bearer_secret, rate_limit, rate_limit_key
from market.api.errors import MESSAGES, register_error_handlers
from market.api.lots import via_api
from market.api.schemas_bids import (
    BidIdempotencyHeaderSchema,
    BidPageQuerySchema,
    BidPlaceSchema,
    BidResultSchema,
    BidWithdrawSchema,
    LotBidsSchema,
    OwnBidPageSchema,
    own_bid_payload,
    visible_bid_payload,
)
from market.auctions.auction import auction_of, bidding_open
from market.auctions.bidding import place_bid, withdraw_bid
from market.auctions.models import Auction, Bid
from market.auctions.query import reserve_met, visible_bids
from market.auctions.rules import BidImplausible, better, check_amount, next_bound
from market.auctions.views import PANEL_MODES, PUBLIC_STATES
from market.core.errors import DomainError, NotFound, PermissionDenied
from market.core.timeutil import to_almaty, utcnow
from market.core.txn import commit, rollback
from market.deals.models import Deal
from market.deals.operations import buy
from market.extensions import csrf, db, limiter
from market.lots.eligibility import require_can_take
from market.lots.models import Lot
from market.lots.money import format_kzt

WRITE_SCOPE = "bids:write"
TAG = "Bids"
OPTIONAL_TOKEN = [{}, {"bearerAuth": []}]
ERROR = {code: HTTPStatus(code).name for code in (401, 403, 404, 409, 422)}

bp = Blueprint("api_bids", __name__, url_prefix="/api/v1",
               description="Bids on lots of the exchange: the bids of a lot as its page shows "
                           "them; the token organisation's bids, purchases and withdrawals.")


def _token() -> None:
    """before_request: a bad token → 401; only the bids of a lot may be read without one;
    writes need bids:write (checked before the body is read)."""
    g.api_token = None
    if "Authorization" in request.headers:
        secret = bearer_secret()
        if secret is None:
            abort(401, message=MESSAGES[401], headers={"WWW-Authenticate": REALM})
        token = tokens.find_active(secret)
        if token is None:
            abort(401, message=_l("API-токен недействителен или отозван."),
                  headers={"WWW-Authenticate": f'{REALM}, error="invalid_token"'})
        if tokens.touch(token):
            commit()  # a tiny transaction of its own, at most once a minute per token
        g.api_token = token
    if g.api_token is None and request.endpoint != "api_bids.lot_bids":
        abort(401, message=MESSAGES[401], headers={"WWW-Authenticate": REALM})
    if request.method == "POST" and WRITE_SCOPE not in (g.api_token.scopes or []):
        abort(403, message=_l("У токена нет права «%(scope)s».", scope=WRITE_SCOPE),
              headers={"WWW-Authenticate": f'{REALM}, error="insufficient_scope", scope="{WRITE_SCOPE}"'})


bp.before_request(_token)
register_error_handlers(bp)
csrf.exempt(bp)
limiter.shared_limit(rate_limit, scope="api-v1", key_func=rate_limit_key)(bp)


def _org_id() -> int | None:
    return g.api_token.organization_id if g.api_token is not None else None


def _lot(lot_id: int) -> Lot:
    """404 for a lot the lot page would not show (drafts and withdrawn lots: the holder's token
    only) or that is not sold by bids or at a fixed price."""
    lot = db.session.get(Lot, lot_id)
    if lot is None or lot.pricing_mode not in PANEL_MODES or (
            lot.state not in PUBLIC_STATES and lot.organization_id != _org_id()):
        abort(404, message=_l("Лот не найден."))
    return lot


def auction_state(lot: Lot, auction: Auction | None = None, *, now=None) -> dict:
    """What the bid panel of the lot page shows of the bidding (market.auctions.views.auction_panel)."""
    now = now or utcnow()
    auction = auction if auction is not None else auction_of(lot)
    mode = lot.pricing_mode
    is_open = bidding_open(lot, auction, now)
    leader_id = auction.leader_bid_id if auction is not None else None
    price = auction.price if auction is not None and leader_id else None
    secret = mode == "sealed" and is_open
    minimum = None
    if mode in ("english", "reverse") and lot.increment is not None and lot.price is not None:
        minimum = next_bound(mode, start=lot.price, increment=lot.increment, price=price)
    remaining = None
    if mode == "fixed":
        remaining = auction.remaining(lot) if auction is not None else lot.quantity
    return {
        "lot_id": lot.id, "mode": mode, "open": is_open, "price": price,
        "price_display": format_kzt(price) if price is not None else None,
        "minimum": minimum, "minimum_display": format_kzt(minimum) if minimum is not None else None,
        "increment": lot.increment,
        "ends_at": auction.ends_at if auction is not None else lot.ends_at,
        "extensions": auction.extensions if auction is not None else 0,
        "bid_count": None if secret else (auction.bid_count if auction is not None else 0),
        "remaining": remaining,
        "reserve_met": (None if lot.reserve_price is None or secret or mode == "fixed" else reserve_met(lot)),
    }


def _conflict(lot: Lot, exc: DomainError):
    """409: the state of bidding refused; the body carries that state, to bid again from it."""
    rollback()
    response = current_app.json.response({
        "code": 409, "status": HTTPStatus.CONFLICT.phrase, "message": str(exc),
        "auction": BidResultSchema().dump({"auction": auction_state(lot)})["auction"]})
    response.status_code = 409
    return response


def _invalid(field: str, message) -> None:
    abort(422, message=MESSAGES[422], errors={"json": {field: [message]}})


def _leader_ids(lot_ids) -> set[int]:
    if not lot_ids:
        return set()
    return set(db.session.scalars(select(Auction.leader_bid_id).where(
        Auction.lot_id.in_(lot_ids), Auction.leader_bid_id.is_not(None))))


def _deal_ids(bid_ids) -> dict[int, int]:
    if not bid_ids:
        return {}
    return dict(db.session.execute(select(Deal.bid_id, Deal.id).where(Deal.bid_id.in_(bid_ids))).all())


# Reading ------------------------------------------------------------------------------------


@bp.route("/lots/<int:lot_id>/bids", tags=[TAG])
@bp.response(200, LotBidsSchema)
@bp.alt_response(401, response=ERROR[401])
@bp.alt_response(404, response=ERROR[404])
@bp.doc(security=OPTIONAL_TOKEN)
def lot_bids(lot_id: int):
    """The bids of a lot and the state of its bidding, as the lot page shows them (no token needed)

    Bidders are "Участник 1, 2, …" in the order of their first bid; with a token, the
    organisation's own bids come with `own: true` and their proxy limits. Sealed bids of
    others are hidden from everyone — the holder included — until bidding ends; bids waiting
    for a deposit are seen by their own bidder only.
    """
    lot = _lot(lot_id)
    now = utcnow()
    org = g.api_token.organization if g.api_token is not None else None
    bids = visible_bids(lot, None, organization=org, now=now)
    return {"auction": auction_state(lot, now=now), "items": [visible_bid_payload(b) for b in bids]}


@bp.route("/bids", tags=[TAG])
@bp.arguments(BidPageQuerySchema, location="query")
@bp.response(200, OwnBidPageSchema)
@bp.alt_response(401, response=ERROR[401])
def my_bids(args):
    """The token organisation's bids and purchases, newest first (a token of any scope)

    Filter by `lot_id` and `state`. Follow `next` (also the `Link: <…>; rel="next"` header)
    until it is null.
    """
    limit = args["limit"]
    q = select(Bid).where(Bid.organization_id == _org_id())
    if args["lot_id"] is not None:
        q = q.where(Bid.lot_id == args["lot_id"])
    if args["state"] is not None:
        q = q.where(Bid.state == args["state"])
    if args["before"] is not None:
        q = q.where(Bid.id < args["before"])
    rows = db.session.scalars(q.order_by(Bid.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    leaders = _leader_ids({b.lot_id for b in rows})
    deals = _deal_ids([b.id for b in rows])
    next_url = None
    if more:
        kept = {k: v for k, v in request.args.items() if k != "before"}
        next_url = url_for("api_bids.my_bids", **kept, before=rows[-1].id, _external=True)
    headers = {"Link": f'<{next_url}>; rel="next"'} if next_url else {}
    items = [own_bid_payload(b, leading=b.id in leaders, deal_id=deals.get(b.id)) for b in rows]
    return {"items": items, "limit": limit, "next": next_url}, 200, headers


# Placing ------------------------------------------------------------------------------------


def _check_body(lot: Lot, data: dict) -> None:
    """422 for a body that does not fit the lot's pricing mode (the web form's rules)."""
    mode, amount, max_amount = lot.pricing_mode, data["amount"], data["max_amount"]
    if mode == "fixed":
        if max_amount is not None:
            _invalid("max_amount", _l("При покупке по фиксированной цене автоставки нет."))
        return
    if amount is None:
        _invalid("amount", _l("Укажите сумму ставки."))
    if data["quantity"] is not None:
        _invalid("quantity", _l("Торги идут за весь лот: количество указывают только при покупке по "
                                "фиксированной цене."))
    if mode == "sealed":
        if max_amount is not None:
            _invalid("max_amount", _l("В закрытых предложениях автоставки нет: укажите свою цену."))
        if lot.price is not None and amount < lot.price:
            _invalid("amount", _l("Предложение должно быть не меньше %(start)s (начальная цена).",
                                  start=format_kzt(lot.price)))
    elif max_amount is not None and better(mode, amount, max_amount):
        if mode == "english":
            _invalid("max_amount", _l("Максимальная ставка не может быть меньше ставки %(amount)s.",
                                      amount=format_kzt(amount)))
        _invalid("max_amount", _l("Предел снижения не может быть выше ставки %(amount)s.",
                                  amount=format_kzt(amount)))


def _check_eligible(lot: Lot, org, actor) -> None:
    """403 when the organisation may not bid on this lot (the lot page's reasons)."""
    if not tokens.can_write_with(g.api_token, actor):
        raise PermissionDenied(_l("Создатель токена больше не может делать ставки от имени этой "
                                  "организации; выпустите новый токен."))
    if org.id == lot.organization_id:
        raise PermissionDenied(_l("Нельзя делать ставки на лот своей организации."))
    if not org.can_act_on_market():
        raise PermissionDenied(_l("Делать ставки могут только подтверждённые организации: «%(org)s» "
                                  "ещё не подтверждена."), org=org.name)
    try:
        require_can_take(org, lot, on=to_almaty(utcnow()).date())
    except DomainError as exc:
        raise PermissionDenied(str(exc)) from None


def _below_the_price(lot: Lot, amount: int) -> Auction | None:
    """Refuse, before queueing for the lot's lock, a bid that the price read without the lock
    already rules out: English prices only rise and reverse ones only fall, so the locked
    check would refuse it too (it stays the judge of everything else). Returns the auction
    row read: the operation's lock re-reads this same object, so the answer needs no query
    under the lock (the session keeps only weak references: hold it)."""
    auction = auction_of(lot)
    if lot.pricing_mode in ("english", "reverse") and lot.price is not None and lot.increment is not None \
            and auction is not None and auction.price is not None:
        check_amount(lot.pricing_mode, amount, start=lot.price, increment=lot.increment,
                     price=auction.price)
    return auction


@bp.route("/lots/<int:lot_id>/bids", methods=["POST"], tags=[TAG])
@bp.arguments(BidIdempotencyHeaderSchema, location="headers", as_kwargs=True)
@bp.arguments(BidPlaceSchema)
@bp.response(201, BidResultSchema)
@bp.alt_response(401, response=ERROR[401])
@bp.alt_response(403, response=ERROR[403])
@bp.alt_response(404, response=ERROR[404])
@bp.alt_response(409, response=ERROR[409])
def place(data, lot_id: int, idempotency_key: str | None = None):
    """Bid on a lot, or buy (part of) a fixed-price lot (scope bids:write)

    English: at least the current price + the step (the start price first); `max_amount` makes
    it a proxy bid that answers others up to that limit; a new bid of the leading organisation
    moves its limit. Reverse (gate fee): at most the price − the step, lower wins. Sealed: one
    offer per organisation, revised by bidding again, hidden until the close. Fixed price:
    `quantity` tonnes (at least the minimum take; left out: all that is left) at the lot's
    price, and the deal is made at once (`deal_id`). A bid more than `BID_MAX_MULTIPLE` times
    the current (or start) price is refused as a typo (422).

    Send an `Idempotency-Key` header (up to 64 characters) to make retries safe: the same key
    with the same body returns the first answer (header `Idempotent-Replayed: true`), even
    when two retries arrive at the same moment; with another body it is refused (422).
    """
    lot = _lot(lot_id)
    _check_body(lot, data)
    org, actor = g.api_token.organization, acting_user()

    def perform():
        _check_eligible(lot, org, actor)
        auction = _below_the_price(lot, data["amount"])
        if lot.pricing_mode == "fixed":
            amount = data["amount"] if data["amount"] is not None else lot.price
            bid, deal = buy(lot, actor=actor, organization=org, amount=amount,
                            quantity=data["quantity"], idempotency_key=idempotency_key)
            deal_id = deal.id if deal is not None else None
        else:
            bid = place_bid(lot, actor=actor, organization=org, amount=data["amount"],
                            max_amount=data["max_amount"], idempotency_key=idempotency_key)
            deal_id = None
        auction = auction if auction is not None else auction_of(lot)  # the first bid made it
        leading = auction.leader_bid_id == bid.id
        return BidResultSchema().dump({"bid": own_bid_payload(bid, leading=leading, deal_id=deal_id),
                                       "auction": auction_state(lot, auction)})

    return _write(lot, idempotency_key, 201, perform)


def _write(lot: Lot, key: str | None, status: int, perform):
    """The idempotent write; a refusal of the state of bidding becomes 409 with that state."""
    try:
        with via_api():
            return idempotency.idempotent_write(g.api_token.organization_id, key, status, perform,
                                                journal=False)
    except (PermissionDenied, NotFound, BidImplausible, idempotency.IdempotencyMismatch):
        raise  # 403, 404, 422 (register_error_handlers)
    except DomainError as exc:
        return _conflict(lot, exc)


# Withdrawing --------------------------------------------------------------------------------


@bp.route("/bids/<int:bid_id>/withdraw", methods=["POST"], tags=[TAG])
@bp.arguments(BidIdempotencyHeaderSchema, location="headers", as_kwargs=True)
@bp.arguments(BidWithdrawSchema)
@bp.response(200, BidResultSchema)
@bp.alt_response(401, response=ERROR[401])
@bp.alt_response(403, response=ERROR[403])
@bp.alt_response(404, response=ERROR[404])
@bp.alt_response(409, response=ERROR[409])
def withdraw(data, bid_id: int, idempotency_key: str | None = None):
    """Withdraw a bid of the organisation, with a reason (scope bids:write)

    Where the rules allow it, until bidding ends: a sealed offer; an English or reverse bid
    that is not leading. A leading bid, a fixed-price purchase, a bid already withdrawn or a
    closed lot → 409. Bids of other organisations answer 404.
    """
    bid = db.session.get(Bid, bid_id)
    if bid is None or bid.organization_id != _org_id():
        abort(404, message=_l("Ставка не найдена."))
    lot = bid.lot
    actor = acting_user()

    def perform():
        if not tokens.can_write_with(g.api_token, actor):
            raise PermissionDenied(_l("Создатель токена больше не может делать ставки от имени этой "
                                      "организации; выпустите новый токен."))
        auction = auction_of(lot)  # read now, re-read by the lock: no query under the lock after
        withdraw_bid(bid, actor=actor, reason=data["reason"])
        return BidResultSchema().dump({
            "bid": own_bid_payload(bid, leading=False, deal_id=None),
            "auction": auction_state(lot, auction)})

    return _write(lot, idempotency_key, 200, perform)
