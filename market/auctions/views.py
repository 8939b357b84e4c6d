"""Bidding on the web: the bid panel of the lot page (also polled alone), placing and
withdrawing bids, and "Моя активность" (the bids of the user's organisation)."""

from __future__ import annotations

import hashlib
import uuid

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from market.accounts.models import OrgRole
from market.auctions.auction import auction_of, bidding_open
from market.auctions.bidding import place_bid, withdraw_bid
from market.auctions.forms import BidForm, WithdrawBidForm
from market.auctions.models import Auction, Bid, BidEvent
from market.auctions.query import reserve_met, visible_bids
from market.auctions.rules import next_bound
from market.core.errors import DomainError
from market.core.forms import flash_form_errors
from market.core.timeutil import utcnow
from market.core.txn import commit, rollback
from market.extensions import db
from market.lots.eligibility import eligibility
from market.lots.models import Lot

bp = Blueprint("auctions", __name__)

PANEL_MODES = ("fixed", "english", "sealed", "reverse")
PUBLIC_STATES = ("published", "closed", "awarded", "transferred")
POLL_SECONDS = 5


def _lot(lot_id: int) -> Lot:
    """404 for a lot the user may not see (drafts and withdrawn lots: members only) or that is
    not sold by bids or at a fixed price."""
    lot = db.session.get(Lot, lot_id)
    member = current_user.is_authenticated and current_user.membership_in(lot.organization) if lot else False
    if lot is None or (lot.state not in PUBLIC_STATES and not member) or lot.pricing_mode not in PANEL_MODES:
        abort(404)
    return lot


def _barrier(lot: Lot, is_open: bool) -> tuple[str | None, str | None]:
    """Why the current user may not bid on the lot: (kind, message), or (None, None)."""
    if not is_open:
        return "closed", _("Торги по лоту завершены: ставки больше не принимаются.")
    if not current_user.is_authenticated:
        return "anonymous", None
    org = current_user.current_org
    if org is None:
        return "no_org", _("Ставки делают организации: создайте организацию или вступите в неё.")
    if org.id == lot.organization_id:
        return "holder", _("Это лот вашей организации: ставки на него делают другие организации.")
    if not org.can_act_on_market():
        return "unverified", _("Делать ставки могут только подтверждённые организации: «%(org)s» "
                               "ещё не подтверждена.", org=org.name)
    if not current_user.has_org_role(org, OrgRole.manager):
        return "role", _("Ставки от имени организации делают её владелец и менеджеры.")
    result = eligibility(org, lot)
    if not result.allowed:
        return "licence", str(result.reason)
    return None, None


def _withdrawable(bid, lot: Lot, leader_id: int | None, is_open: bool) -> bool:
    if not (bid.own and is_open and lot.pricing_mode != "fixed"):
        return False
    if bid.state not in ("pending_deposit", "active", "outbid"):
        return False
    return not (lot.pricing_mode in ("english", "reverse") and bid.id == leader_id)


@bp.app_template_global()
def auction_panel(lot: Lot) -> dict | None:
    """What the bid panel of the lot page shows, for the current user; None when the lot is
    not sold by bids or at a fixed price or is not public."""
    if lot is None or lot.pricing_mode not in PANEL_MODES or lot.state not in PUBLIC_STATES:
        return None
    now = utcnow()
    auction = auction_of(lot)
    mode = lot.pricing_mode
    is_open = bidding_open(lot, auction, now)
    leader_id = auction.leader_bid_id if auction is not None else None
    price = auction.price if auction is not None and leader_id else None
    viewer = current_user if current_user.is_authenticated else None
    bids = visible_bids(lot, viewer, now=now)
    sealed_secret = mode == "sealed" and is_open
    minimum = None
    if mode in ("english", "reverse") and lot.increment is not None and lot.price is not None:
        minimum = next_bound(mode, start=lot.price, increment=lot.increment, price=price)
    remaining = auction.remaining(lot) if auction is not None else lot.quantity
    barrier, reason = _barrier(lot, is_open)
    return {
        "mode": mode, "auction": auction, "open": is_open, "live": lot.state == "published",
        "ends_at": auction.ends_at if auction is not None else lot.ends_at,
        "extensions": auction.extensions if auction is not None else 0,
        "price": price, "minimum": minimum, "remaining": remaining,
        "count": None if sealed_secret else (auction.bid_count if auction is not None else 0),
        "secret": sealed_secret,
        "reserve": (None if lot.reserve_price is None or sealed_secret or mode == "fixed"
                    else reserve_met(lot)),
        "bids": list(reversed(bids)),
        "withdrawable": {b.id for b in bids if _withdrawable(b, lot, leader_id, is_open)},
        "barrier": barrier, "reason": reason,
        "form": BidForm(formdata=None, key=uuid.uuid4().hex) if barrier is None else None,
        "withdraw_form": WithdrawBidForm(formdata=None),
        "poll": POLL_SECONDS,
    }


def _etag(lot: Lot) -> str:
    """Changes whenever what the panel shows may change: the auction row, its bids, its end,
    the lot's state, the bid log, whether bidding is still open, the viewer and the language."""
    auction = auction_of(lot)
    last_event = db.session.scalar(select(func.max(BidEvent.id)).where(BidEvent.lot_id == lot.id))
    parts = (
        auction.version if auction else 0, auction.bid_count if auction else 0,
        (auction.ends_at if auction else lot.ends_at), lot.state, last_event,
        bidding_open(lot, auction, utcnow()),
        current_user.get_id() if current_user.is_authenticated else "-",
        getattr(current_user, "current_org_id", None), str(get_locale()),
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:20]


@bp.get("/lots/<int:lot_id>/auction/panel")
def panel(lot_id: int):
    """The bid panel alone, polled by the lot page; 304 while nothing changed."""
    lot = _lot(lot_id)
    etag = _etag(lot)
    if request.if_none_match.contains_weak(etag):
        response = make_response("", 304)
    else:
        response = make_response(render_template("auctions/_panel.html", lot=lot, partial=True))
    response.set_etag(etag, weak=True)
    response.headers["Cache-Control"] = "private, no-cache"
    response.vary.add("Cookie")
    return response


def _back(lot: Lot):
    return redirect(url_for("lots.show_lot", lot_id=lot.id) + "#auction-panel")


@bp.post("/lots/<int:lot_id>/bids")
@login_required
def place(lot_id: int):
    """Place a bid (or buy at the fixed price) for the organisation the user acts for."""
    lot = _lot(lot_id)
    form = BidForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _back(lot)
    org = current_user.current_org
    if org is None:
        flash(_("Ставки делают организации: создайте организацию или вступите в неё."), "danger")
        return _back(lot)
    if lot.pricing_mode == "fixed":
        amount = lot.price
    else:
        amount = form.amount.tiyn
        if amount is None:
            flash(_("Укажите сумму ставки."), "danger")
            return _back(lot)
    max_amount = form.max_amount.tiyn if lot.pricing_mode in ("english", "reverse") else None
    quantity = form.quantity.tonnes if lot.pricing_mode == "fixed" else None
    try:
        place_bid(lot, actor=current_user, organization=org, amount=amount, quantity=quantity,
                  max_amount=max_amount, idempotency_key=form.key.data or None)
        commit()
    except DomainError as exc:
        rollback()
        flash(str(exc), "danger")
        return _back(lot)
    flash(_("Покупка оформлена") if lot.pricing_mode == "fixed" else _("Ставка принята"), "success")
    return _back(lot)


@bp.post("/bids/<int:bid_id>/withdraw")
@login_required
def withdraw(bid_id: int):
    """Withdraw one of my organisation's bids, with a reason."""
    bid = db.session.get(Bid, bid_id)
    if bid is None or not current_user.membership_in(bid.organization):
        abort(404)
    form = WithdrawBidForm()
    if not form.validate_on_submit():
        flash(_("Укажите причину отзыва ставки."), "danger")
        return _back(bid.lot)
    try:
        withdraw_bid(bid, actor=current_user, reason=form.reason.data)
        commit()
    except DomainError as exc:
        rollback()
        flash(str(exc), "danger")
        return _back(bid.lot)
    flash(_("Ставка отозвана."), "info")
    return _back(bid.lot)


@bp.get("/activity")
@login_required
def activity():
    """My organisation's bids and purchases, newest first."""
    org = current_user.current_org
    page = None
    leaders: set[int] = set()
    if org is not None:
        q = (select(Bid).where(Bid.organization_id == org.id).options(selectinload(Bid.lot))
             .order_by(Bid.created_at.desc(), Bid.id.desc()))
        page = db.paginate(q, per_page=current_app.config["PAGE_SIZE"], error_out=False)
        lot_ids = {b.lot_id for b in page.items}
        if lot_ids:
            leaders = set(db.session.scalars(select(Auction.leader_bid_id).where(
                Auction.lot_id.in_(lot_ids), Auction.leader_bid_id.is_not(None))))
    return render_template("auctions/activity.html", org=org, page=page, leaders=leaders)
