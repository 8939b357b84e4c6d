"""Offered, no taker: the evidence of mandatory offers that closed without a taker.

The holder's list and printable report (with a PDF), the officials' list of their regions, and
the panel of the lot page that links to the report (templates/lots/_offer_report.html).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from market.accounts.models import Organization
from market.accounts.views_official import official_required
from market.core.forms import options
from market.core.timeutil import ALMATY
from market.extensions import db
from market.lots.closing import minimum_until
from market.lots.models import HOW_CLOSED, PRICE_BASES, Lot, OfferReport
from market.lots.money import format_kzt
from market.refdata.models import Region, WasteCode
from market.registry.access import viewable_org
from market.registry.oversight import regions_filter
from market.registry.pdf import render_pdf
from market.registry.views_official import official_regions

bp = Blueprint("offer_reports", __name__)


def _report(report_id: int) -> OfferReport:
    report = db.session.get(OfferReport, report_id)
    if report is None:
        abort(404)
    if not report.can_view(current_user):
        abort(403)
    return report


def _with_parts(query):
    return query.options(joinedload(OfferReport.lot), joinedload(OfferReport.organization),
                         joinedload(OfferReport.region))


def report_price(report: OfferReport) -> str:
    if report.pricing_mode == "free":
        return _("Безвозмездно")
    if report.price is None:
        return _("Цена — по предложениям покупателей")
    basis = PRICE_BASES.get(report.lot.price_basis, "") if report.lot else ""
    return f"{format_kzt(report.price)} {basis}".strip()


@bp.get("/offer-reports/orgs/<int:org_id>")
@login_required
def org_reports(org_id: int):
    """The organisation's "offered, no taker" records, newest first."""
    org = viewable_org(org_id)
    q = _with_parts(select(OfferReport).where(OfferReport.organization_id == org.id)
                    .order_by(OfferReport.closed_at.desc(), OfferReport.id.desc()))
    page = db.paginate(q, per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("offer_reports/list.html", org=org, page=page)


def _context(report: OfferReport) -> dict:
    return dict(report=report, lot=report.lot, org=report.organization,
                code=db.session.get(WasteCode, report.waste_code) if report.waste_code else None,
                price=report_price(report), min_days=current_app.config["MANDATORY_OFFER_DAYS"])


@bp.get("/offer-reports/<int:report_id>")
@login_required
def show_report(report_id: int):
    """The report as a page that prints as a clean A4 document."""
    report = _report(report_id)
    return render_template("offer_reports/show.html", **_context(report))


@bp.get("/offer-reports/<int:report_id>.pdf")
@login_required
def report_pdf(report_id: int):
    """The report as PDF (fonts with Cyrillic and Kazakh letters are embedded)."""
    report = _report(report_id)
    pdf = render_pdf(render_template("offer_reports/pdf.html", **_context(report)))
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="offer-report-{report.id}.pdf"',
        "X-Content-Type-Options": "nosniff"})


def _day(name: str, errors: list[str]) -> date | None:
    value = (request.args.get(name) or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.append(_("Дата должна быть в виде ГГГГ-ММ-ДД: «%(value)s».", value=value[:20]))
        return None


def _almaty_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=ALMATY).astimezone(UTC)


def _official_region_choices(regions: list[str]):
    q = select(Region).order_by(Region.kato)
    if regions:
        q = q.where(Region.kato.in_(regions))
    return options([("", "")] + [(r.kato, r.name) for r in db.session.scalars(q)])


@bp.get("/official/offer-reports")
@official_required
def official_reports():
    """Mandatory offers closed without a taker in the official's regions, with filters."""
    args, errors = request.args, []
    region, how = args.get("region", ""), args.get("how", "")
    text = (args.get("q") or "").strip()[:200]
    since, until = _day("from", errors), _day("to", errors)
    regions = official_regions()
    q = regions_filter(select(OfferReport), OfferReport.region_kato, regions, region)
    if how in HOW_CLOSED:
        q = q.where(OfferReport.how_closed == how)
    if since:
        q = q.where(OfferReport.closed_at >= _almaty_midnight(since))
    if until:
        q = q.where(OfferReport.closed_at < _almaty_midnight(until + timedelta(days=1)))
    if text:
        q = q.join(Organization, OfferReport.organization_id == Organization.id).where(or_(
            Organization.bin.startswith(text), func.lower(Organization.name).contains(text.lower()),
            OfferReport.waste_code.startswith(text.replace(" ", "").rstrip("*"))))
    page = db.paginate(_with_parts(q.order_by(OfferReport.closed_at.desc(), OfferReport.id.desc())),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    codes = {c.code6: c for c in db.session.scalars(select(WasteCode).where(
        WasteCode.code6.in_({r.waste_code for r in page.items if r.waste_code})))}
    return render_template("offer_reports/official.html", page=page, codes=codes, errors=errors,
                           regions=_official_region_choices(regions), region=region, how=how,
                           text=text, since=args.get("from", ""), until=args.get("to", ""),
                           HOW_CLOSED=HOW_CLOSED)


@bp.app_template_global()
def lot_offer_panel(lot: Lot) -> dict:
    """What templates/lots/_offer_report.html shows on a lot's page: the report when the user
    may see it, a mandatory offer's minimum period, and the view count for the holder."""
    report = None
    if lot.mandatory and lot.state in ("closed", "withdrawn"):
        report = db.session.scalar(select(OfferReport).where(OfferReport.lot_id == lot.id))
        if report is not None and not report.can_view(current_user):
            report = None
    member = bool(current_user.is_authenticated and current_user.membership_in(lot.organization))
    return {"report": report, "member": member,
            "minimum_until": minimum_until(lot) if lot.state == "published" else None,
            "min_days": current_app.config["MANDATORY_OFFER_DAYS"]}
