"""Official review pages: the parties' submission (from the deal page), the officials' queue
with filters and the case page with the decision forms (approve, reject, return)."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from market.accounts.forms import REQUIRED
from market.accounts.views_official import official_required
from market.core.errors import DomainError
from market.core.forms import flash_form_errors
from market.core.timeutil import utcnow
from market.core.txn import commit, rollback
from market.core.web import db_int
from market.deals import agreements, review, signing
from market.deals import views as deal_views
from market.deals.models import Deal
from market.deals.models_review import Review
from market.extensions import db
from market.refdata.models import Region, WasteChapter, WasteCode

bp = Blueprint("review", __name__)

# The deal page's timeline names the review's steps too (deals.views.TIMELINE is its table).
deal_views.TIMELINE.update({
    "review.submitted": _l("Договор подан на проверку в уполномоченный орган"),
    "review.resubmitted": _l("Исправленный договор подан на проверку повторно"),
    "review.approve": _l("Договор одобрен уполномоченным органом"),
    "review.reject": _l("Договор отклонён уполномоченным органом"),
    "review.return": _l("Договор возвращён на доработку"),
    "deal.registered": _l("Передача прав зарегистрирована в реестре"),
})

AGES = {"3": _l("старше 3 дней"), "7": _l("старше 7 дней"), "14": _l("старше 14 дней")}
STATES = {"submitted": _l("Ждут решения"), "decided": _l("Решённые"), "all": _l("Все")}


def _site_id(value):
    return db_int(value) if value not in (None, "") else None


class SubmitReviewForm(FlaskForm):
    site_id = SelectField(_l("Площадка, на которую поступят отходы"), coerce=_site_id,
                          validate_choice=False, validators=[Optional()])


class ApproveForm(FlaskForm):
    """Approve: the CSRF token only (the page asks for confirmation)."""


class RejectForm(FlaskForm):
    reason = TextAreaField(_l("Причина отказа"),
                           validators=[DataRequired(REQUIRED), Length(max=review.NOTE_MAX)])


class ReturnForm(FlaskForm):
    comments = TextAreaField(_l("Замечания: что исправить"),
                             validators=[DataRequired(REQUIRED), Length(max=review.NOTE_MAX)])


# The deal page's panel -----------------------------------------------------------------------
@bp.app_template_global()
def review_panel(deal: Deal) -> dict:
    """What the deal page shows about the review: the case, whether the user may submit, the
    buyer's sites for the receiving-site select, the form."""
    case = review.review_of(deal)
    can = current_user.is_authenticated and review.can_submit(deal, current_user)
    form = SubmitReviewForm(formdata=None)
    sites = review.receiving_sites(deal) if can and review.needs_site(deal) else []
    form.site_id.choices = [(s.id, f"{s.name} — {s.address}") for s in sites]
    return {"case": case, "can_submit": can, "needs_site": review.needs_site(deal),
            "sites": sites, "form": form,
            "can_open": current_user.is_authenticated and (
                current_user.is_official or current_user.is_admin)}




def _refused(form) -> None:
    if form.errors:
        flash_form_errors(form)
    else:
        flash(_("Форма устарела: обновите страницу."), "danger")


def _party_deal(deal_id: int) -> Deal:
    deal = db.session.get(Deal, deal_id)
    if deal is None or not (current_user.membership_in(deal.seller)
                            or current_user.membership_in(deal.buyer)):
        abort(404)
    return deal


@bp.post("/deals/<int:deal_id>/review/submit")
@login_required
def submit(deal_id: int):
    """A party submits the fully signed agreement to the officials."""
    deal = _party_deal(deal_id)
    form = SubmitReviewForm()
    form.site_id.choices = []
    if not form.validate_on_submit():
        _refused(form)
        return redirect(url_for("deals.show_deal", deal_id=deal_id))
    try:
        review.submit(deal, actor=current_user, site_id=form.site_id.data)
        commit()
    except DomainError as exc:
        rollback()
        flash(str(exc), "danger")
    else:
        flash(_("Договор подан на проверку в уполномоченный орган."), "success")
    return redirect(url_for("deals.show_deal", deal_id=deal_id))


# The queue -----------------------------------------------------------------------------------
def _my_regions() -> list[str]:
    return [r.kato for r in current_user.official_regions] if current_user.is_official else []


@bp.get("/review/")
@official_required
def queue():
    """Cases of the official's regions, soonest deadline first; overdue ones highlighted."""
    now = utcnow()
    args = request.args
    regions = _my_regions()
    q = select(Review).join(Deal, Deal.id == Review.deal_id)
    if regions:
        q = q.where(Review.region_kato.in_(regions))
    state = args.get("state", "submitted")
    if state == "submitted":
        q = q.where(Review.state == "submitted")
    elif state == "decided":
        q = q.where(Review.state != "submitted")
    region = args.get("region", "")
    if region:
        q = q.where(Review.region_kato == region)
    chapter = args.get("chapter", "")
    if chapter:
        q = q.where(Deal.waste_code.startswith(chapter[:2], autoescape=True))
    hazardous = args.get("hazardous", "")
    if hazardous in ("1", "0"):
        q = q.join(WasteCode, WasteCode.code6 == Deal.waste_code).where(
            WasteCode.hazardous.is_(hazardous == "1"))
    age = args.get("age", "")
    if age == "overdue":
        q = q.where(Review.state == "submitted", Review.deadline <= now)
    elif age in AGES:
        q = q.where(Review.submitted_at <= now - timedelta(days=int(age)))
    number = request.args.get("page", 1, type=db_int)
    page = db.paginate(q.order_by(Review.deadline, Review.id), page=number if 0 < number < 100_000 else 1,
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    region_q = select(Region).order_by(Region.name_ru)
    if regions:
        region_q = region_q.where(Region.kato.in_(regions))
    return render_template(
        "deals/review_queue.html", page=page, now=now, ages=AGES, states=STATES,
        regions=db.session.scalars(region_q).all(),
        chapters=db.session.scalars(select(WasteChapter).order_by(WasteChapter.chapter)).all(),
        args=args, state=state)


# The case --------------------------------------------------------------------------------------
def _case(deal_id: int) -> tuple[Deal, Review]:
    deal = db.session.get(Deal, deal_id)
    case = review.review_of(deal) if deal is not None else None
    if case is None or not (current_user.official_covers(deal.region_kato) or current_user.is_admin):
        abort(404)
    return deal, case


@bp.get("/review/<int:deal_id>")
@official_required
def case(deal_id: int):
    """The case: the agreement submitted, its signatures, the history and the decision forms."""
    deal, case = _case(deal_id)
    agreement = agreements.agreement_of(deal)
    refusal = review.refusal_for(deal, current_user)
    return render_template(
        "deals/review_case.html", deal=deal, case=case, agreement=agreement,
        version=case.version, signatures=signing.valid_signatures(agreement),
        all_signatures=case.version.signatures, now=utcnow(), refusal=refusal,
        can_decide=refusal is None and case.state == "submitted",
        approve_form=ApproveForm(formdata=None), reject_form=RejectForm(formdata=None),
        return_form=ReturnForm(formdata=None))


DONE = {"approve": _l("Договор одобрен, передача прав зарегистрирована."),
        "reject": _l("Договор отклонён; стороны уведомлены."),
        "return": _l("Договор возвращён на доработку; стороны уведомлены.")}


def _decide(deal_id: int, action: str, form, note_field: str | None):
    if not current_user.is_official:
        abort(403)  # admins may read the cases; only officials decide
    deal = _case(deal_id)[0]
    back = redirect(url_for("review.case", deal_id=deal_id))
    if not form.validate_on_submit():
        _refused(form)
        return back
    note = getattr(form, note_field).data if note_field else None
    try:
        review.decide(deal, action, actor=current_user, note=note)
        commit()
    except DomainError as exc:
        rollback()
        flash(str(exc), "danger")
        return back
    flash(str(DONE[action]), "success")
    return back


@bp.post("/review/<int:deal_id>/approve")
@official_required
def approve(deal_id: int):
    return _decide(deal_id, "approve", ApproveForm(), None)


@bp.post("/review/<int:deal_id>/reject")
@official_required
def reject(deal_id: int):
    return _decide(deal_id, "reject", RejectForm(), "reason")


@bp.post("/review/<int:deal_id>/return")
@official_required
def return_(deal_id: int):
    return _decide(deal_id, "return", ReturnForm(), "comments")


import market.deals.jobs_review  # noqa: E402,F401  (the reminders job known to web and consumer)
