"""Complaints and cancellation pages: filing a complaint (the deal's parties, a losing bidder),
the officials' complaints list and the complaint page with the decision form; the cancellation
of a registered transfer by an official (a reason, a confirmation)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from sqlalchemy import select
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from market.accounts.forms import REQUIRED
from market.accounts.views_official import official_required
from market.core import documents
from market.core.errors import DomainError
from market.core.forms import flash_form_errors, options
from market.core.storage import get_storage
from market.core.timeutil import utcnow
from market.core.txn import commit, rollback
from market.core.web import db_int
from market.deals import cancellation, complaint_files, complaints
from market.deals.models import Deal
from market.deals.models_complaint import COMPLAINT_STATES, SUBJECTS, Complaint, ComplaintFile
from market.extensions import db

bp = Blueprint("complaints", __name__)


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Причина отмены"),
                           validators=[DataRequired(REQUIRED), Length(max=cancellation.REASON_MAX)])


class ComplaintForm(FlaskForm):
    subject = SelectField(_l("Что обжалуется"), choices=options(SUBJECTS.items()),
                          validators=[DataRequired(REQUIRED)])
    grounds = TextAreaField(_l("Основания жалобы"),
                            validators=[DataRequired(REQUIRED), Length(max=complaints.TEXT_MAX)])
    documents = MultipleFileField(_l("Документы (PDF)"), render_kw={"accept": ".pdf,application/pdf"})


class DecisionForm(FlaskForm):
    outcome = SelectField(_l("Решение"), choices=options([("upheld", _l("Удовлетворить жалобу")),
                                                          ("dismissed", _l("Отклонить жалобу"))]),
                          validators=[DataRequired(REQUIRED)])
    reason = TextAreaField(_l("Мотивы решения"),
                           validators=[DataRequired(REQUIRED), Length(max=complaints.TEXT_MAX)])


def _refused(form) -> None:
    if form.errors:
        flash_form_errors(form)
    else:
        flash(_("Форма устарела: обновите страницу."), "danger")


@bp.app_template_global()
def award_complaint_deals(lot) -> list[Deal]:
    """The deals of a closed lot a losing bidder (who cannot open the deal page) may complain
    about, for a link on the lot page."""
    if lot is None or not current_user.is_authenticated or lot.state in ("draft", "published"):
        return []
    deals = db.session.scalars(select(Deal).where(Deal.lot_id == lot.id).order_by(Deal.id)).all()
    return [d for d in deals if not d.can_view(current_user)
            and any(role == "bidder" for role, _org in complaints.filing_roles(d, current_user))]


@bp.app_template_global()
def cancel_panel(deal: Deal) -> dict:
    """Whether the deal page offers the current user the cancellation."""
    return {"can_cancel": current_user.is_authenticated and current_user.is_official
            and cancellation.may_cancel(deal, current_user),
            "can_complain": current_user.is_authenticated and complaints.can_file(deal, current_user),
            "complaints": db.session.scalars(select(Complaint).where(Complaint.deal_id == deal.id)
                                             .order_by(Complaint.id)).all()
            if current_user.is_authenticated else []}


def _deal(deal_id: int) -> Deal:
    deal = db.session.get(Deal, deal_id)
    if deal is None or not (current_user.official_covers(deal.region_kato) or current_user.is_admin):
        abort(404)
    return deal


@bp.get("/deals/<int:deal_id>/cancel")
@official_required
def cancel_form(deal_id: int):
    deal = _deal(deal_id)
    return render_template("deals/cancel.html", deal=deal, form=CancelForm(formdata=None),
                           refusal=cancellation.refusal_for(deal, current_user),
                           registered=cancellation.registration_entry(deal))


@bp.post("/deals/<int:deal_id>/cancel")
@official_required
def cancel(deal_id: int):
    deal = _deal(deal_id)
    form = CancelForm()
    back = redirect(url_for("complaints.cancel_form", deal_id=deal_id))
    if not form.validate_on_submit():
        _refused(form)
        return back
    try:
        cancellation.cancel(deal, actor=current_user, reason=form.reason.data)
        commit()
    except DomainError as exc:
        rollback()
        flash(str(exc), "danger")
        return back
    flash(_("Передача прав отменена; записи реестра возвращены, стороны уведомлены."), "success")
    return redirect(url_for("deals.show_deal", deal_id=deal_id))


# Complaints ------------------------------------------------------------------------------------
def _complain_deal(deal_id: int) -> tuple[Deal, list]:
    deal = db.session.get(Deal, deal_id)
    if deal is None:
        abort(404)
    roles = complaints.filing_roles(deal, current_user)
    if not roles:
        abort(403)
    return deal, roles


def _render_form(deal: Deal, roles: list, form: ComplaintForm, status: int = 200):
    allowed = complaints.subjects_for(deal, roles[0][0])
    form.subject.choices = options((k, v) for k, v in SUBJECTS.items() if k in allowed)
    return render_template("deals/complaint_new.html", deal=deal, form=form, role=roles[0][0],
                           organization=roles[0][1], limits=complaint_files.limits(),
                           pending=complaints.open_complaint(deal, roles[0][1].id)), status


@bp.get("/deals/<int:deal_id>/complaint")
@login_required
def complaint_form(deal_id: int):
    deal, roles = _complain_deal(deal_id)
    return _render_form(deal, roles, ComplaintForm(formdata=None))


@bp.post("/deals/<int:deal_id>/complaint")
@login_required
def file_complaint(deal_id: int):
    deal, roles = _complain_deal(deal_id)
    form = ComplaintForm()
    if not form.validate_on_submit():
        _refused(form)
        return redirect(url_for("complaints.complaint_form", deal_id=deal_id))
    uploads = [(f.filename or "", f.stream) for f in form.documents.data or []
               if f and getattr(f, "filename", None)]
    try:
        complaint_files.check_count(len(uploads))  # before anything is filed or stored
        complaint = complaints.file(deal, actor=current_user, subject=form.subject.data,
                                    grounds=form.grounds.data)
        complaint_files.attach(complaint, uploads, actor=current_user)
        commit()
    except DomainError as exc:
        rollback()  # nothing filed; stored bytes removed; the form keeps the typed grounds
        flash(str(exc), "danger")
        return _render_form(deal, roles, form, 422)
    flash(_("Жалоба подана; уполномоченный орган рассмотрит её в установленный срок."), "success")
    return redirect(url_for("complaints.show_complaint", complaint_id=complaint.id))


STATES = {"open": _l("На рассмотрении"), "decided": _l("Решённые"), "all": _l("Все")}


@bp.get("/complaints/")
@official_required
def list_complaints():
    """Complaints of the official's regions, soonest deadline first; overdue ones highlighted."""
    now = utcnow()
    q = select(Complaint)
    regions = [r.kato for r in current_user.official_regions] if current_user.is_official else []
    if regions:
        q = q.where(Complaint.region_kato.in_(regions))
    state = request.args.get("state", "open")
    if state not in STATES:
        state = "open"
    if state == "open":
        q = q.where(Complaint.state == "open")
    elif state == "decided":
        q = q.where(Complaint.state != "open")
    if request.args.get("mine") == "1":
        q = q.where(Complaint.official_id == current_user.id)
    number = request.args.get("page", 1, type=db_int)
    page = db.paginate(q.order_by(Complaint.deadline, Complaint.id),
                       page=number if 0 < number < 100_000 else 1,
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("deals/complaint_list.html", page=page, now=now, states=STATES,
                           state=state, mine=request.args.get("mine") == "1")


def _complaint(complaint_id: int) -> Complaint:
    complaint = db.session.get(Complaint, complaint_id)
    if complaint is None or not complaints.can_view(complaint, current_user):
        abort(404)
    return complaint


@bp.get("/complaints/<int:complaint_id>")
@login_required
def show_complaint(complaint_id: int):
    complaint = _complaint(complaint_id)
    refusal = complaints.refusal_for(complaint, current_user) if current_user.is_official else None
    return render_template(
        "deals/complaint.html", complaint=complaint, deal=complaint.deal, now=utcnow(),
        states=COMPLAINT_STATES, refusal=refusal,
        can_decide=current_user.is_official and complaints.may_decide(complaint, current_user),
        can_cancel=complaints.allows_cancellation(complaint)
        and cancellation.may_cancel(complaint.deal, current_user),
        form=DecisionForm(formdata=None))


@bp.get("/complaints/<int:complaint_id>/files/<int:file_id>")
@login_required
def serve_file(complaint_id: int, file_id: int):
    """A complaint document, for whoever sees the complaint (the complainant's organisation, the
    deal's parties, officials of the region); never cached publicly, never rendered as a page."""
    complaint = _complaint(complaint_id)
    row = db.session.get(ComplaintFile, file_id)
    if row is None or row.complaint_id != complaint.id:
        abort(404)
    storage = get_storage()
    if not storage.exists(row.storage_key):
        current_app.logger.error("complaint file %s: no bytes under %s", row.id, row.storage_key)
        abort(404)
    return documents.stored_response(
        storage, key=row.storage_key, content_type=row.content_type, size=row.size,
        sha256=row.sha256, created_at=row.created_at,
        disposition=documents.content_disposition(
            row.filename, f"complaint-{complaint.id}-{row.id}.{row.filename.rpartition('.')[2]}"))


@bp.post("/complaints/<int:complaint_id>/decide")
@official_required
def decide_complaint(complaint_id: int):
    complaint = _complaint(complaint_id)
    back = redirect(url_for("complaints.show_complaint", complaint_id=complaint_id))
    form = DecisionForm()
    if not form.validate_on_submit():
        _refused(form)
        return back
    try:
        complaints.decide(complaint, form.outcome.data, actor=current_user, reason=form.reason.data)
        commit()
    except DomainError as exc:
        rollback()
        flash(str(exc), "danger")
        return back
    flash(_("Решение по жалобе принято; стороны и заявитель уведомлены."), "success")
    return back
