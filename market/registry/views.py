"""The registry of one organisation: sites, streams, the journal, passports, compliance."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from market.accounts.models import OrgRole
from market.accounts.views_orgs import region_choices
from market.core.errors import DomainError
from market.core.forms import options
from market.core.models import AuditEvent
from market.core.txn import commit
from market.core.web import db_int
from market.extensions import db
from market.refdata.search import hazards_in_order, operations_in_order
from market.registry import journal
from market.registry import operations as ops
from market.registry.access import (
    can_edit_registry,
    viewable_org,
    viewable_record,
    viewable_site,
    viewable_stream,
)
from market.registry.forms import CorrectionForm, RecordForm, SiteForm, StreamForm
from market.registry.limits import deadline, limit_months, stored_days
from market.registry.models import Site, WasteRecord, WasteStream

bp = Blueprint("registry", __name__, url_prefix="/registry")


def hazard_choices():
    return options((h.code, f"{h.code} — {h.name_en}") for h in hazards_in_order())


def operation_choices():
    by_kind = operations_in_order()
    rows = by_kind["recovery"] + by_kind["disposal"]
    return options([("", "—")] + [(o.code, f"{o.code} — {o.description_en[:70]}") for o in rows])


@bp.get("/")
@login_required
def index():
    """The registry of the organisation the user acts for."""
    org = current_user.current_org
    if org is None:
        flash(_("Сначала зарегистрируйте организацию или вступите в неё."), "info")
        return redirect(url_for("orgs.list_orgs"))
    return redirect(url_for("registry.org_registry", org_id=org.id))


@bp.get("/orgs/<int:org_id>")
@login_required
def org_registry(org_id: int):
    """Sites, streams with balances and storage flags, totals by waste code."""
    org = viewable_org(org_id)
    sites = db.session.scalars(select(Site).where(Site.organization_id == org.id)
                               .order_by(Site.name)).all()
    streams = db.session.scalars(select(WasteStream).where(WasteStream.organization_id == org.id)
                                 .order_by(WasteStream.site_id, WasteStream.name)).all()
    totals = db.session.execute(
        select(WasteStream.waste_code, func.sum(WasteStream.balance), func.count(WasteStream.id))
        .where(WasteStream.organization_id == org.id).group_by(WasteStream.waste_code)
        .order_by(WasteStream.waste_code)).all()
    return render_template("registry/org.html", org=org, sites=sites, streams=streams,
                           totals=totals, can_edit=can_edit_registry(current_user, org),
                           deadline=deadline, today=date.today())


@bp.route("/orgs/<int:org_id>/sites/new", methods=["GET", "POST"])
@login_required
def new_site(org_id: int):
    """Add a site; the point is picked on the map or typed."""
    org = viewable_org(org_id)
    if not can_edit_registry(current_user, org):
        abort(403)
    form = SiteForm(region_kato=org.region_kato)
    form.region_kato.choices = region_choices()
    if form.validate_on_submit():
        try:
            site = ops.create_site(org, actor=current_user, name=form.name.data, kind=form.kind.data,
                                   region_kato=form.region_kato.data, address=form.address.data,
                                   lat=form.lat.data, lon=form.lon.data)
        except DomainError as exc:
            form.lat.errors.append(str(exc))
        else:
            commit()
            flash(_("Площадка добавлена."), "success")
            return redirect(url_for("registry.show_site", site_id=site.id))
    return render_template("registry/site_form.html", form=form, org=org, site=None)


@bp.route("/sites/<int:site_id>/edit", methods=["GET", "POST"])
@login_required
def edit_site(site_id: int):
    """Change a site's name, kind, region, address or point."""
    site = viewable_site(site_id, edit=True)
    form = SiteForm(obj=site)
    form.region_kato.choices = region_choices()
    if form.validate_on_submit():
        try:
            ops.update_site(site, actor=current_user, name=form.name.data.strip(), kind=form.kind.data,
                            region_kato=form.region_kato.data, address=form.address.data.strip(),
                            lat=form.lat.data, lon=form.lon.data)
        except DomainError as exc:
            form.lat.errors.append(str(exc))
        else:
            commit()
            flash(_("Изменения сохранены."), "success")
            return redirect(url_for("registry.show_site", site_id=site.id))
    return render_template("registry/site_form.html", form=form, org=site.organization, site=site)


@bp.get("/sites/<int:site_id>")
@login_required
def show_site(site_id: int):
    """A site with its streams and balances."""
    site = viewable_site(site_id)
    return render_template("registry/site.html", site=site, org=site.organization,
                           can_edit=can_edit_registry(current_user, site.organization))


@bp.route("/sites/<int:site_id>/streams/new", methods=["GET", "POST"])
@login_required
def new_stream(site_id: int):
    """Declare a waste stream at a site."""
    site = viewable_site(site_id, edit=True)
    form = StreamForm()
    form.hazard_properties.choices = hazard_choices()
    if form.validate_on_submit():
        try:
            stream = ops.create_stream(site, actor=current_user, waste_code=form.waste_code.data,
                                       name=form.name.data, description=form.description.data,
                                       physical_state=form.physical_state.data,
                                       storage_purpose=form.storage_purpose.data,
                                       hazard_properties=form.hazard_properties.data)
        except DomainError as exc:
            form.waste_code.errors.append(str(exc))
        else:
            commit()
            if stream.needs_passport:
                flash(_("Отход опасный: заполните паспорт опасного отхода, прежде чем вносить записи."),
                      "warning")
                return redirect(url_for("passport.edit_passport", stream_id=stream.id))
            flash(_("Поток отходов добавлен."), "success")
            return redirect(url_for("registry.show_stream", stream_id=stream.id))
    return render_template("registry/stream_form.html", form=form, site=site, org=site.organization)


def _journal_page(stream: WasteStream, per_page: int):
    q = select(WasteRecord).where(WasteRecord.stream_id == stream.id)
    before = request.args.get("before", type=db_int)
    if before:
        q = q.where(WasteRecord.id < before)
    rows = db.session.scalars(q.order_by(WasteRecord.id.desc()).limit(per_page + 1)).all()
    more = len(rows) > per_page
    rows = rows[:per_page]
    return rows, (rows[-1].id if more and rows else None)


@bp.get("/streams/<int:stream_id>")
@login_required
def show_stream(stream_id: int):
    """A stream: balance, storage time, passport, the journal and the form for a new record."""
    stream = viewable_stream(stream_id)
    records, next_before = _journal_page(stream, current_app.config["PAGE_SIZE"])
    form = RecordForm()
    form.operation_code.choices = operation_choices()
    return render_template("registry/stream.html", stream=stream, org=stream.organization,
                           records=records, next_before=next_before, form=form,
                           can_edit=can_edit_registry(current_user, stream.organization),
                           deadline=deadline(stream), stored_days=stored_days(stream),
                           limit_months=limit_months(stream),
                           can_offer=current_user.has_org_role(stream.organization, OrgRole.manager))


@bp.post("/streams/<int:stream_id>/records")
@login_required
def add_record(stream_id: int):
    """Append a record to the stream's journal."""
    stream = viewable_stream(stream_id, edit=True)
    form = RecordForm()
    form.operation_code.choices = operation_choices()
    if form.validate_on_submit():
        try:
            journal.record(stream, actor=current_user, kind=form.kind.data,
                           quantity=form.quantity.data, event_date=form.event_date.data,
                           operation_code=form.operation_code.data or None,
                           counterparty=form.counterparty.data, document=form.document.data,
                           note=form.note.data)
        except DomainError as exc:
            form.quantity.errors.append(str(exc))
        else:
            commit()
            flash(_("Запись внесена. Остаток: %(balance)s т.", balance=journal.fmt_t(stream.balance)),
                  "success")
            return redirect(url_for("registry.show_stream", stream_id=stream.id))
    records, next_before = _journal_page(stream, current_app.config["PAGE_SIZE"])
    return render_template("registry/stream.html", stream=stream, org=stream.organization,
                           records=records, next_before=next_before, form=form, can_edit=True,
                           deadline=deadline(stream), stored_days=stored_days(stream),
                           limit_months=limit_months(stream)), 422


@bp.get("/records/<int:record_id>")
@login_required
def show_record(record_id: int):
    """One journal record with its corrections and audit history."""
    rec = viewable_record(record_id)
    corrections = db.session.scalars(select(WasteRecord).where(WasteRecord.corrects_id == rec.id)
                                     .order_by(WasteRecord.id)).all()
    ids = [str(rec.id)] + [str(c.id) for c in corrections]
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "WasteRecord", AuditEvent.object_id.in_(ids))
        .order_by(AuditEvent.id)).all()
    return render_template("registry/record.html", rec=rec, stream=rec.stream,
                           org=rec.stream.organization, corrections=corrections, events=events,
                           can_edit=can_edit_registry(current_user, rec.stream.organization))


@bp.route("/records/<int:record_id>/correct", methods=["GET", "POST"])
@login_required
def correct_record(record_id: int):
    """Correct a record by a new record that references it (nothing is ever edited)."""
    rec = viewable_record(record_id, edit=True)
    stream = rec.stream
    form = CorrectionForm(event_date=rec.event_date)
    if form.validate_on_submit():
        try:
            journal.record(stream, actor=current_user, kind="correction", quantity=form.quantity.data,
                           event_date=form.event_date.data, note=form.note.data, corrects=rec,
                           increase=form.direction.data == "increase")
        except DomainError as exc:
            form.quantity.errors.append(str(exc))
        else:
            commit()
            flash(_("Исправление внесено."), "success")
            return redirect(url_for("registry.show_record", record_id=rec.id))
    return render_template("registry/correct.html", form=form, rec=rec, stream=stream,
                           org=stream.organization)


@bp.get("/orgs/<int:org_id>/compliance")
@login_required
def compliance(org_id: int):
    """Stock stored past its legal limit, which must be offered for transfer."""
    org = viewable_org(org_id)
    streams = db.session.scalars(select(WasteStream).where(
        WasteStream.organization_id == org.id, WasteStream.must_offer_since.is_not(None))
        .order_by(WasteStream.must_offer_since)).all()
    can_offer = current_user.has_org_role(org, OrgRole.manager)
    return render_template("registry/compliance.html", org=org, streams=streams, deadline=deadline,
                           can_offer=can_offer)
