"""Files in and out of the registry: imports (upload, progress, report) and exports."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import SelectField

from market.accounts.models import Organization, User
from market.accounts.views_official import official_required
from market.core.errors import DomainError
from market.core.forms import options
from market.core.txn import commit
from market.core.web import db_int
from market.extensions import db
from market.refdata.models import Operation, Region
from market.registry import exports
from market.registry import imports as imp
from market.registry.access import viewable_org
from market.registry.models import RECORD_LABELS, ImportJob, WasteStream
from market.registry.views_official import official_regions

bp = Blueprint("registry_io", __name__, url_prefix="/registry")


class ImportForm(FlaskForm):
    kind = SelectField(_l("Что импортировать"), choices=options(imp.IMPORT_KINDS.items()))
    file = FileField(_l("Файл CSV или XLSX"), validators=[FileRequired(_l("Выберите файл."))],
                     render_kw={"accept": ".csv,.xlsx,text/csv,"
                                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})


def _importable_org(org_id: int) -> Organization:
    org = viewable_org(org_id)
    if not imp.can_import(current_user, org):
        abort(403)
    return org


def _viewable_job(job_id: int) -> ImportJob:
    row = db.session.get(ImportJob, job_id)
    if row is None:
        abort(404)
    viewable_org(row.organization_id)
    return row


def _help_context(org: Organization) -> dict:
    streams = db.session.scalars(select(WasteStream).where(WasteStream.organization_id == org.id)
                                 .order_by(WasteStream.site_id, WasteStream.name)).all()
    from market.cadastre.models import FORMATION_KINDS, FORMATION_STATUSES

    return {
        "journal_columns": imp.JOURNAL_COLUMNS, "journal_required": imp.JOURNAL_REQUIRED,
        "formation_columns": imp.FORMATION_COLUMNS, "formation_required": imp.FORMATION_REQUIRED,
        "record_kinds": [(k.value, RECORD_LABELS[k.value]) for k in imp.IMPORTABLE_KINDS],
        "formation_kinds": FORMATION_KINDS, "formation_statuses": FORMATION_STATUSES,
        "streams": streams,
        "regions": db.session.scalars(select(Region).order_by(Region.kato)).all(),
        "max_mb": imp.megabytes(current_app.config.get("MAX_CONTENT_LENGTH")),
        "max_rows": current_app.config.get("IMPORT_MAX_ROWS", imp.DEFAULT_MAX_ROWS),
    }


def _render_form(org: Organization, form: ImportForm, status: int = 200):
    jobs = db.session.scalars(select(ImportJob).where(ImportJob.organization_id == org.id)
                              .order_by(ImportJob.id.desc()).limit(10)).all()
    return render_template("registry/import.html", org=org, form=form, jobs=jobs,
                           **_help_context(org)), status


# imports ------------------------------------------------------------------------------------

@bp.route("/orgs/<int:org_id>/import", methods=["GET", "POST"])
@login_required
def new_import(org_id: int):
    """Upload a CSV or XLSX file of journal records or formations; it is imported by a job."""
    org = _importable_org(org_id)
    form = ImportForm(kind=request.args.get("kind", "journal"))
    if form.validate_on_submit():
        try:
            job = imp.accept_upload(org, actor=current_user, kind=form.kind.data,
                                    upload=form.file.data, locale=str(get_locale() or "ru"))
        except DomainError as exc:
            form.file.errors = [*form.file.errors, str(exc)]
        else:
            commit()
            return redirect(url_for("registry_io.show_import", job_id=job.id))
    return _render_form(org, form, 422 if request.method == "POST" else 200)


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_exc):
    """An upload over MAX_CONTENT_LENGTH: the form again, with a clear message."""
    org_id = (request.view_args or {}).get("org_id")
    org = db.session.get(Organization, org_id) if org_id else None
    if request.endpoint != "registry_io.new_import" or org is None or not imp.can_import(current_user, org):
        return _("Файл слишком большой."), 413
    form = ImportForm(formdata=None)
    form.file.errors = [_("Файл больше %(mb)s МБ: разделите его на несколько.",
                          mb=imp.megabytes(current_app.config.get("MAX_CONTENT_LENGTH")))]
    return _render_form(org, form, 413)


@bp.get("/imports/<int:job_id>")
@login_required
def show_import(job_id: int):
    """An import: its progress while it runs, then the result or the report of refused rows."""
    row = _viewable_job(job_id)
    org = db.session.get(Organization, row.organization_id)
    author = db.session.get(User, row.created_by_id) if row.created_by_id else None
    return render_template("registry/import_status.html", job=row, org=org, author=author,
                           kinds=imp.IMPORT_KINDS)


@bp.get("/imports/<int:job_id>/progress")
@login_required
def import_progress(job_id: int):
    """The progress block alone, polled by htmx every second while the job runs."""
    row = _viewable_job(job_id)
    org = db.session.get(Organization, row.organization_id)
    return render_template("registry/import_progress.html", job=row, org=org)


def _example_stream(org: Organization) -> WasteStream | None:
    return db.session.scalars(select(WasteStream).where(WasteStream.organization_id == org.id)
                              .order_by(WasteStream.id).limit(1)).first()


def _template(kind: str, org: Organization, fmt: str) -> tuple[list[str], list]:
    """The header and one example row of an import template."""
    today = date.today()
    if kind == "journal":
        stream = _example_stream(org)
        header = ["stream_id", "kind", "quantity", "event_date", "operation_code", "counterparty",
                  "document", "note"]
        example = [stream.id if stream else 1, "generated", Decimal("12.5"),
                   today if fmt == "xlsx" else today.isoformat(), None, None, _("Акт №15"), None]
        return header, example
    region = db.session.get(Region, org.region_kato)
    lat, lon = (region.lat, region.lon) if region and region.lat is not None else (47.8, 67.7)
    header = list(imp.FORMATION_COLUMNS)
    example = [_("Хвостохранилище №1"), "tailings", org.region_kato, round(lat, 4), round(lon, 4),
               "0", None, Decimal("12.5"), Decimal("150000"), Decimal("250000"), 1985, "active",
               4, "10 02 01", None]
    return header, example


def _help_sheet(kind: str) -> exports.Export:
    columns = imp.COLUMNS[kind]
    required = imp.JOURNAL_REQUIRED if kind == "journal" else imp.FORMATION_REQUIRED
    rows = [(name, _("да") if name in required else "", str(text)) for name, text in columns.items()]
    if kind == "journal":
        rows += [("kind", "", f"{k.value} — {RECORD_LABELS[k.value]}") for k in imp.IMPORTABLE_KINDS]
        ops = db.session.scalars(select(Operation).order_by(Operation.code)).all()
        rows += [("operation_code", "", o.code) for o in ops]
    else:
        from market.cadastre.models import FORMATION_KINDS, FORMATION_STATUSES

        rows += [("kind", "", f"{k} — {v}") for k, v in FORMATION_KINDS.items()]
        rows += [("status", "", f"{k} — {v}") for k, v in FORMATION_STATUSES.items()]
        lang = str(get_locale() or "ru")
        rows += [("region_kato", "", f"{r.kato} — {getattr(r, f'name_{lang}', r.name_en)}")
                 for r in db.session.scalars(select(Region).order_by(Region.kato))]
    return exports.Export(_("справка"), [_("Столбец"), _("Обязательный"), _("Описание")],
                          lambda: rows)


@bp.get("/orgs/<int:org_id>/import/template.<any(csv, xlsx):fmt>")
@login_required
def import_template(org_id: int, fmt: str):
    """A file to fill in: the header row and one example row (?kind=journal|formations)."""
    org = viewable_org(org_id)
    kind = request.args.get("kind", "journal")
    if kind not in imp.IMPORT_KINDS:
        abort(404)
    header, example = _template(kind, org, fmt)
    table = exports.Export(f"qaldyq-{kind}-template", header, lambda: [example])
    if fmt == "csv":
        return exports.csv_response(table)
    return exports.xlsx_response(table, extra_sheets=[_help_sheet(kind)])


# exports ------------------------------------------------------------------------------------

def _date_arg(name: str) -> date | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    parsed = imp.parse_date(value)
    if parsed is None:
        abort(400, _("Дата — в виде ГГГГ-ММ-ДД или ДД.ММ.ГГГГ, например 2026-03-01 или 01.03.2026."))
    return parsed


@bp.get("/orgs/<int:org_id>/export/<any(streams, sites, journal, formations):what>"
        ".<any(csv, xlsx):fmt>")
@login_required
def export(org_id: int, what: str, fmt: str):
    """Download an organisation's streams, sites, journal (?from=&to=&stream=) or formations."""
    org = viewable_org(org_id)
    if what == "journal":
        stream_id = request.args.get("stream", type=db_int)
        if stream_id is not None:
            stream = db.session.get(WasteStream, stream_id)
            if stream is None or stream.organization_id != org.id:
                abort(404)
        table = exports.journal_export(org, date_from=_date_arg("from"), date_to=_date_arg("to"),
                                       stream_id=stream_id)
    else:
        table = exports.ORG_EXPORTS[what](org)
    return exports.response(table, fmt)


@official_required
def export_official(what: str, fmt: str):
    """Officials' lists (organisations, stocks, compliance) within their regions."""
    regions = official_regions()
    region = request.args.get("region", "")
    if what == "organizations":
        table = exports.organizations_export(regions=regions, region=region,
                                             text=request.args.get("q", "").strip())
    elif what == "stocks":
        table = exports.stocks_export(regions=regions, region=region,
                                      group=request.args.get("group", "region"))
    else:
        table = exports.compliance_export(regions=regions, region=region)
    return exports.response(table, fmt)


@bp.record_once
def _official_route(state) -> None:
    # The officials' exports live beside the officials' registry pages, outside this
    # blueprint's /registry prefix; the endpoint keeps this blueprint's name.
    state.app.add_url_rule(
        "/official/registry/export/<any(organizations, stocks, compliance):what>.<any(csv, xlsx):fmt>",
        endpoint=f"{bp.name}.export_official", view_func=export_official)
