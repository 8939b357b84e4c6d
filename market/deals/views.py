"""The deal page (parties and officials of the region only), the buyer's withdrawal and refusal,
the holder's choice after a failed deal; links to deals from the lot page and My activity."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from market.accounts.models import OrgRole
from market.core.errors import DomainError
from market.core.forms import flash_form_errors
from market.core.timeutil import utcnow
from market.core.txn import commit, rollback
from market.deals import lifecycle, nextbest, timeline
from market.deals.forms import DealActionForm, DeclineDealForm, WithdrawDealForm
from market.deals.models import Deal
from market.deals.timeline import TIMELINE  # noqa: F401  (views_review adds its labels)
from market.extensions import db
from market.lots.models import DELIVERY_TERMS, PRICE_BASES

bp = Blueprint("deals", __name__, url_prefix="/deals")


def _deal(deal_id: int) -> Deal:
    deal = db.session.get(Deal, deal_id)
    if deal is None or not deal.can_view(current_user):
        abort(404)
    return deal


def _lapse_lazily(deal: Deal) -> Deal:
    deal_id = deal.id
    try:
        if lifecycle.lapse_deal(deal, now=utcnow()):
            commit()
    except (SQLAlchemyError, DomainError):
        rollback()
        current_app.logger.warning("lapsing deal %s on view failed", deal_id, exc_info=True)
    return _deal(deal_id)


@bp.get("/<int:deal_id>")
@login_required
def show_deal(deal_id: int):
    """The deal: parties, terms, total, deadline, bid log hash, state and what happened."""
    deal = _deal(deal_id)
    if lifecycle.is_overdue(deal, utcnow()):
        deal = _lapse_lazily(deal)
    is_buyer = current_user.has_org_role(deal.buyer, OrgRole.manager)
    is_holder = current_user.has_org_role(deal.seller, OrgRole.manager)
    choose = is_holder and nextbest.can_follow_up(deal)
    follow = (db.session.scalar(select(Deal).where(Deal.offered_after_id == deal.id))
              if deal.follow_up == "offered" else None)
    return render_template(
        "deals/show.html", deal=deal, lot=deal.lot, timeline=timeline.build(deal, current_user),
        origin=timeline.origin(deal), basis=PRICE_BASES.get(deal.price_basis, deal.price_basis),
        delivery=DELIVERY_TERMS.get(deal.delivery, deal.delivery),
        can_withdraw=is_buyer and deal.state == "agreed",
        can_decline=is_buyer and deal.state == "offered",
        choose=choose, next_best=nextbest.next_best(deal.lot) if choose else None,
        follow=follow if follow is not None and follow.can_view(current_user) else None,
        withdraw_form=WithdrawDealForm(formdata=None), decline_form=DeclineDealForm(formdata=None),
        action_form=DealActionForm(formdata=None))


def _back(deal_id: int):
    return redirect(url_for("deals.show_deal", deal_id=deal_id))


def _buyer_deal(deal_id: int) -> Deal:
    """404 unless the user belongs to the deal's buyer."""
    deal = db.session.get(Deal, deal_id)
    if deal is None or not current_user.membership_in(deal.buyer):
        abort(404)
    return deal


def _holder_deal(deal_id: int) -> Deal:
    """404 unless the user belongs to the deal's seller (the holder)."""
    deal = db.session.get(Deal, deal_id)
    if deal is None or not current_user.membership_in(deal.seller):
        abort(404)
    return deal


FLASHES = {
    "withdrawn": (_l("Вы отказались от сделки."), "info"),
    "declined": (_l("Вы отклонили предложение."), "info"),
    "already": (_l("Это уже сделано."), "info"),
    "lapsed": (_l("Срок подписания уже истёк: сделка не действует."), "warning"),
}


def _by_buyer(deal_id: int, form, operation):
    deal = _buyer_deal(deal_id)
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _back(deal_id)
    try:
        outcome = operation(deal, actor=current_user, reason=form.reason.data)
        commit()
    except DomainError as exc:
        rollback()
        flash(str(exc), "danger")
        return _back(deal_id)
    text, category = FLASHES[outcome]
    flash(str(text), category)
    return _back(deal_id)


@bp.post("/<int:deal_id>/withdraw")
@login_required
def withdraw_deal(deal_id: int):
    """The buyer backs out of the agreed deal, with a reason."""
    return _by_buyer(deal_id, WithdrawDealForm(), lifecycle.withdraw_deal)


@bp.post("/<int:deal_id>/decline")
@login_required
def decline_deal(deal_id: int):
    """The next bidder declines the deal offered to it."""
    return _by_buyer(deal_id, DeclineDealForm(), lifecycle.decline_deal)


def _by_holder(deal_id: int, operation):
    deal = _holder_deal(deal_id)
    if not DealActionForm().validate_on_submit():
        flash(_("Форма устарела: обновите страницу и повторите."), "danger")
        return _back(deal_id)
    try:
        result = operation(deal, actor=current_user)
        commit()
    except DomainError as exc:
        rollback()
        flash(str(exc), "danger")
        return _back(deal_id)
    return result


@bp.post("/<int:deal_id>/offer-next")
@login_required
def offer_next(deal_id: int):
    """The holder offers the lot to the next-best bidder at that bidder's own price."""
    result = _by_holder(deal_id, nextbest.offer_next)
    if isinstance(result, Deal):
        flash(_("Лот предложен участнику %(org)s: сделка №%(id)s.", org=result.buyer.name,
                id=result.id), "success")
        return _back(result.id)
    return result


@bp.post("/<int:deal_id>/close-lot")
@login_required
def close_lot(deal_id: int):
    """The holder closes the lot without an award; the registry reservation is released."""
    result = _by_holder(deal_id, nextbest.close_after)
    if isinstance(result, bool):
        flash(_("Лот закрыт без покупателя, резерв в реестре снят.") if result
              else _("Лот уже закрыт."), "info")
        return _back(deal_id)
    return result


# Links from other pages ----------------------------------------------------------------------
@bp.app_template_global()
def lot_deals(lot) -> list[Deal]:
    """The deals of ``lot`` the current user may open (the parties' members, officials)."""
    if lot is None or not current_user.is_authenticated:
        return []
    if lot.state in ("draft", "published") and lot.pricing_mode != "fixed":
        return []  # an auction has no deal before its award
    deals = db.session.scalars(select(Deal).where(Deal.lot_id == lot.id).order_by(Deal.id)).all()
    return [d for d in deals if d.can_view(current_user)]


@bp.app_template_global()
def deals_by_bid(bids) -> dict[int, Deal]:
    """bid id -> its deal, for My activity."""
    ids = [b.id for b in bids or ()]
    if not ids:
        return {}
    return {d.bid_id: d for d in db.session.scalars(select(Deal).where(Deal.bid_id.in_(ids)))}
