"""The agreement pages of a deal: the document (HTML), its PDF in Russian and Kazakh, its
canonical JSON, the buyer's plan and the parties' signatures. Visible to the parties' members and
the officials of the deal's region (404 for anyone else, like the deal page)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy.exc import SQLAlchemyError
from wtforms import BooleanField, HiddenField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from market.accounts import twofactor
from market.accounts.models import OrgRole
from market.core.errors import DomainError
from market.core.forms import flash_form_errors
from market.core.timeutil import utcnow
from market.core.txn import commit, rollback
from market.deals import agreement_pdf, agreements, signing
from market.deals.models import OPEN_STATES, Deal
from market.extensions import db, limiter
from market.lots.models import DELIVERY_TERMS, PRICE_BASES
from market.refdata.models import Operation

bp = Blueprint("agreements", __name__, url_prefix="/deals")

REQUIRED = _l("Обязательное поле.")


class SignForm(FlaskForm):
    digest = HiddenField(validators=[DataRequired(REQUIRED), Length(max=64)])
    confirm = BooleanField(_l("Я проверил(а) договор и подтверждаю его хэш"),
                           validators=[DataRequired(_l("Подтвердите хэш договора."))])
    password = PasswordField(_l("Пароль"), validators=[Optional(), Length(max=200)])
    code = StringField(_l("Код из приложения"), validators=[Optional(), Length(max=20)])


class PlanForm(FlaskForm):
    plan = TextAreaField(_l("План переработки"), validators=[DataRequired(REQUIRED), Length(max=4000)])
    operation_code = StringField(_l("Операция R/D"), validators=[DataRequired(REQUIRED), Length(max=4)])


def _deal(deal_id: int) -> Deal:
    deal = db.session.get(Deal, deal_id)
    if deal is None or not deal.can_view(current_user):
        abort(404)
    return deal


def _synced(deal: Deal):
    """The agreement, brought up to date when the deal waits for signatures (committed)."""
    deal_id = deal.id
    if not agreements.needs_sync(deal):
        return agreements.agreement_of(deal)
    try:
        agreements.sync_agreement(deal, actor=current_user._get_current_object())
        commit()
    except (SQLAlchemyError, DomainError):
        rollback()
        current_app.logger.warning("agreement of deal %s not synced", deal_id, exc_info=True)
    return agreements.agreement_of(db.session.get(Deal, deal_id))


def _back(deal_id: int):
    return redirect(url_for("agreements.show_agreement", deal_id=deal_id))


@bp.get("/<int:deal_id>/agreement")
@login_required
def show_agreement(deal_id: int):
    """The agreement: its current version, hash, signatures, and the forms of the parties."""
    deal = _deal(deal_id)
    agreement = _synced(deal)
    version = agreement.current if agreement else None
    mine = signing.party_of(deal, current_user)
    signatures = signing.valid_signatures(agreement)
    signed_mine = mine is not None and mine[0] in signatures
    can_sign = bool(version and mine and not signed_mine and deal.state in OPEN_STATES
                    and agreement.state == "signing" and agreement.plan)
    is_buyer = current_user.has_org_role(deal.buyer, OrgRole.manager)
    can_plan = bool(version and is_buyer and deal.state in OPEN_STATES and agreement.state == "signing")
    sign_form = SignForm(formdata=None, digest=version.sha256 if version else "")
    plan_form = PlanForm(formdata=None, plan=agreement.plan if agreement else "",
                         operation_code=agreement.operation_code if agreement else "")
    return render_template(
        "deals/agreement.html", deal=deal, agreement=agreement, version=version,
        doc=agreements.document_of(version) if version else None, signatures=signatures,
        mine=mine, can_sign=can_sign, can_plan=can_plan, sign_form=sign_form, plan_form=plan_form,
        uses_totp=twofactor.is_enabled(current_user),
        fully_signed=signing.is_fully_signed(deal),
        operations=db.session.scalars(db.select(Operation).order_by(Operation.code)).all(),
        basis=PRICE_BASES, delivery=DELIVERY_TERMS, day=agreement_pdf.day, moment=agreement_pdf.moment)


def _current_version(deal_id: int):
    deal = _deal(deal_id)
    agreement = _synced(deal)
    if agreement is None or agreement.current is None:
        abort(404)
    return deal, agreement, agreement.current


@bp.get("/<int:deal_id>/agreement-<any(ru, kk):lang>.pdf")
@login_required
def agreement_file(deal_id: int, lang: str):
    """The current version as PDF in Russian or Kazakh, with its hash printed."""
    deal, agreement, version = _current_version(deal_id)
    signatures = signing.valid_signatures(agreement)
    pdf = agreement_pdf.agreement_pdf(deal, agreement, version, signatures, lang)
    filename = f"agreement-{deal.id}-v{version.number}-{lang}.pdf"
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "X-Content-Type-Options": "nosniff"})


@bp.get("/<int:deal_id>/agreement.json")
@login_required
def agreement_json(deal_id: int):
    """The canonical JSON of the current version: its SHA-256 is the agreement's hash."""
    version = _current_version(deal_id)[2]
    return Response(version.document.encode("utf-8"), mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="agreement-{deal_id}-v{version.number}.json"',
        "X-Agreement-SHA256": version.sha256, "X-Content-Type-Options": "nosniff"})




def _party_deal(deal_id: int) -> Deal:
    """404 unless the user belongs to one of the parties."""
    deal = db.session.get(Deal, deal_id)
    if deal is None or not (current_user.membership_in(deal.seller)
                            or current_user.membership_in(deal.buyer)):
        abort(404)
    return deal


@bp.post("/<int:deal_id>/agreement/sign")
@login_required
@limiter.limit("10 per 15 minutes", key_func=lambda: f"agreement-sign:{current_user.get_id()}")
def sign_agreement(deal_id: int):
    """A party's owner or manager signs the current version after re-authenticating."""
    deal = _party_deal(deal_id)
    form = SignForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _back(deal_id)
    actor = current_user._get_current_object()
    credentials = {"password": form.password.data or "", "code": form.code.data or ""}
    try:
        _signature, made = signing.sign(deal, actor=actor, digest=form.digest.data,
                                        credentials=credentials, now=utcnow())
        commit()
    except signing.SignRefused as exc:
        rollback()
        deal = db.session.get(Deal, deal_id)
        signing.record_refusal(deal, actor=actor, reason="credentials")
        commit()
        flash(str(exc), "danger")
        return _back(deal_id)
    except DomainError as exc:
        rollback()
        flash(str(exc), "danger")
        return _back(deal_id)
    if not made:
        flash(_("Вы уже подписали эту редакцию договора."), "info")
    elif signing.is_fully_signed(db.session.get(Deal, deal_id)):
        flash(_("Договор подписан обеими сторонами."), "success")
    else:
        flash(_("Договор подписан. Ждём подписи другой стороны."), "success")
    return _back(deal_id)


@bp.post("/<int:deal_id>/agreement/plan")
@login_required
def set_plan(deal_id: int):
    """The buyer states or changes its processing plan: a new version of the agreement."""
    deal = _party_deal(deal_id)
    form = PlanForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _back(deal_id)
    try:
        changed = agreements.set_plan(deal, actor=current_user._get_current_object(),
                                      plan=form.plan.data, operation_code=form.operation_code.data)
        commit()
    except DomainError as exc:
        rollback()
        flash(str(exc), "danger")
        return _back(deal_id)
    flash(_("План сохранён: договор получил новую редакцию и новый хэш.") if changed
          else _("План не изменился."), "success" if changed else "info")
    return _back(deal_id)
