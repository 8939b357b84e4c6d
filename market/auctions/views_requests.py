"""Free transfer requests on the web: the requests card of a free lot's page (the request form,
the requester's own request, the holder's list with accept and decline), and its POSTs."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from market.accounts.models import OrgRole
from market.auctions.auction import auction_of, bidding_open
from market.auctions.forms_requests import (
    AcceptRequestForm,
    DeclineRequestForm,
    TransferRequestForm,
    WithdrawRequestForm,
)
from market.auctions.models import Bid, BidEvent
from market.auctions.requests import (
    PLAN_MAX,
    accept_request,
    decline_request,
    request_transfer,
    withdraw_request,
)
from market.core.errors import DomainError
from market.core.forms import flash_form_errors, options
from market.core.timeutil import utcnow
from market.core.txn import commit, rollback
from market.extensions import db
from market.lots.eligibility import eligibility
from market.lots.models import Lot
from market.refdata.models import _localized
from market.refdata.search import operations_in_order

bp = Blueprint("transfers", __name__)

PUBLIC_STATES = ("published", "closed", "awarded", "transferred")


def _operations() -> list[tuple[str, str]]:
    by_kind = operations_in_order()
    return [(o.code, f"{o.code} — {_localized(o, 'description')[0][:80]}")
            for o in by_kind["recovery"] + by_kind["disposal"]]


def _member(org) -> bool:
    return bool(current_user.is_authenticated and current_user.membership_in(org))


def _barrier(lot: Lot, is_open: bool) -> tuple[str | None, str | None]:
    """Why the current user may not request the lot: (kind, message), or (None, None)."""
    if not is_open:
        return "closed", _("Приём заявок по лоту завершён.")
    if not current_user.is_authenticated:
        return "anonymous", None
    org = current_user.current_org
    if org is None:
        return "no_org", _("Заявки подают организации: создайте организацию или вступите в неё.")
    if org.id == lot.organization_id:
        return "holder", None
    if not org.can_act_on_market():
        return "unverified", _("Подавать заявки могут только подтверждённые организации: "
                               "«%(org)s» ещё не подтверждена.", org=org.name)
    if not current_user.has_org_role(org, OrgRole.manager):
        return "role", _("Заявки от имени организации подают её владелец и менеджеры.")
    result = eligibility(org, lot)
    if not result.allowed:
        return "licence", str(result.reason)
    return None, None


def _licence_status(bid: Bid, lot: Lot) -> tuple[bool, str]:
    """(ok, text) of the requester's licence for the lot and the request's operation, today."""
    result = eligibility(bid.organization, lot, bid.operation_code)
    if not result.hazardous:
        return True, _("не нужна (отход неопасный)") if result.code else _("не нужна")
    if result.allowed:
        return True, _("№ %(number)s покрывает код и операцию", number=result.licence.number)
    return False, str(result.reason)


def _reasons(bids: list[Bid]) -> dict[int, str]:
    """The holder's reasons of the declined requests among ``bids`` (from the bid log)."""
    ids = [b.id for b in bids if b.state == "declined"]
    if not ids:
        return {}
    rows = db.session.execute(select(BidEvent.bid_id, BidEvent.reason).where(
        BidEvent.bid_id.in_(ids), BidEvent.kind == "declined").order_by(BidEvent.id))
    return {bid_id: reason for bid_id, reason in rows}


def _row(bid: Bid, lot: Lot, reasons: dict[int, str], *, licence: bool) -> dict:
    op = bid.operation
    ok, text = _licence_status(bid, lot) if licence else (True, "")
    return {"bid": bid, "org": bid.organization.name, "plan": bid.plan,
            "op": bid.operation_code, "op_title": _localized(op, "description")[0] if op else "",
            "licence_ok": ok, "licence": text, "reason": reasons.get(bid.id)}


@bp.app_template_global()
def transfer_panel(lot: Lot) -> dict | None:
    """What the requests card of a free lot shows to the current user; None for other lots."""
    if lot is None or lot.pricing_mode != "free" or lot.state not in PUBLIC_STATES:
        return None
    is_open = bidding_open(lot, auction_of(lot), utcnow())
    all_bids = list(db.session.scalars(
        select(Bid).where(Bid.lot_id == lot.id, Bid.mode == "free")
        .options(selectinload(Bid.organization), selectinload(Bid.operation)).order_by(Bid.id)))
    holder = _member(lot.organization)
    decide = holder and is_open and current_user.has_org_role(lot.organization, OrgRole.manager)
    org = current_user.current_org if current_user.is_authenticated else None
    mine = [] if holder or org is None else [b for b in all_bids if b.organization_id == org.id]
    shown = all_bids if holder else mine
    reasons = _reasons(shown)
    rows = [_row(b, lot, reasons, licence=holder) for b in reversed(shown)]
    own_open = next((b for b in mine if b.state in ("pending_deposit", "active")), None)
    barrier, reason = _barrier(lot, is_open)
    form = None
    if barrier is None:
        form = TransferRequestForm(formdata=None, key=uuid.uuid4().hex)
        form.operation_code.choices = options([("", "—"), *_operations()])
        if own_open is not None:
            form.plan.data, form.operation_code.data = own_open.plan, own_open.operation_code
    return {
        "open": is_open, "holder": holder, "decide": decide, "rows": rows,
        "count": sum(1 for b in all_bids if b.state in ("pending_deposit", "active")),
        "own_open": own_open, "barrier": barrier, "reason": reason, "form": form,
        "plan_max": PLAN_MAX, "withdraw_form": WithdrawRequestForm(formdata=None),
        "accept_form": AcceptRequestForm(formdata=None),
        "decline_form": DeclineRequestForm(formdata=None),
    }


def _back(lot: Lot):
    return redirect(url_for("lots.show_lot", lot_id=lot.id) + "#transfer-requests")




def _run(lot: Lot, operation, done: str, category: str = "success"):
    """Run a domain operation and commit; a refusal becomes a flashed message."""
    try:
        operation()
        commit()
    except DomainError as exc:
        rollback()
        flash(str(exc), "danger")
        return _back(lot)
    flash(done, category)
    return _back(lot)


@bp.post("/lots/<int:lot_id>/transfer-requests")
@login_required
def request_lot(lot_id: int):
    """Request a free lot (or revise the organisation's open request)."""
    lot = db.session.get(Lot, lot_id)
    if lot is None or lot.pricing_mode != "free" or (
            lot.state not in PUBLIC_STATES and not _member(lot.organization)):
        abort(404)
    form = TransferRequestForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _back(lot)
    org = current_user.current_org
    if org is None:
        flash(_("Заявки подают организации: создайте организацию или вступите в неё."), "danger")
        return _back(lot)
    revising = any(b.state == "active" for b in db.session.scalars(select(Bid).where(
        Bid.lot_id == lot.id, Bid.organization_id == org.id, Bid.mode == "free")))
    return _run(lot, lambda: request_transfer(
        lot, actor=current_user, organization=org, plan=form.plan.data,
        operation_code=form.operation_code.data, idempotency_key=form.key.data or None),
        _("Заявка изменена.") if revising else _("Заявка отправлена держателю."))


def _request(transfer_id: int) -> Bid:
    bid = db.session.get(Bid, transfer_id)
    if bid is None or bid.mode != "free":
        abort(404)
    return bid


@bp.post("/transfer-requests/<int:transfer_id>/withdraw")
@login_required
def withdraw(transfer_id: int):
    """Withdraw my organisation's request, with a reason."""
    bid = _request(transfer_id)
    if not _member(bid.organization):
        abort(404)
    form = WithdrawRequestForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _back(bid.lot)
    return _run(bid.lot, lambda: withdraw_request(bid, actor=current_user, reason=form.reason.data),
                _("Заявка отозвана."), "info")


def _holder_request(transfer_id: int) -> Bid:
    bid = _request(transfer_id)
    if not _member(bid.lot.organization):
        abort(404)
    return bid


@bp.post("/transfer-requests/<int:transfer_id>/accept")
@login_required
def accept(transfer_id: int):
    """The holder accepts a request: the lot goes to the requester, the deal is made."""
    bid = _holder_request(transfer_id)
    form = AcceptRequestForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _back(bid.lot)
    if bid.state == "won":  # a double click: the first one accepted it
        flash(_("Заявка уже принята."), "info")
        return _back(bid.lot)
    return _run(bid.lot, lambda: accept_request(bid.lot, bid, actor=current_user),
                _("Заявка принята: лот передаётся организации %(org)s, сделка создана.",
                  org=bid.organization.name))


@bp.post("/transfer-requests/<int:transfer_id>/decline")
@login_required
def decline(transfer_id: int):
    """The holder declines a request, with a reason the requester sees."""
    bid = _holder_request(transfer_id)
    form = DeclineRequestForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _back(bid.lot)
    return _run(bid.lot, lambda: decline_request(bid.lot, bid, actor=current_user,
                                                 reason=form.reason.data),
                _("Заявка отклонена."), "info")
