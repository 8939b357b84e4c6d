"""Officials: any organisation's registry, stocks by region / chapter / hazard, compliance."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user
from sqlalchemy import func, select

from market.accounts.views_official import official_required
from market.accounts.views_orgs import region_choices
from market.extensions import db
from market.refdata.models import Region, WasteChapter
from market.registry.limits import deadline
from market.registry.models import WasteStream
from market.registry.oversight import compliance_query, organizations_query, stocks_query

bp = Blueprint("registry_official", __name__, url_prefix="/official/registry")


def official_regions() -> list[str]:
    """The official's regions ([] = the whole country)."""
    if current_user.is_admin and not current_user.is_official:
        return []
    return [r.kato for r in current_user.official_regions]


@bp.get("/")
@official_required
def organizations():
    """Organisations with their registry totals."""
    text = request.args.get("q", "").strip()
    q = organizations_query(official_regions(), request.args.get("region", ""), text)
    page = db.paginate(q,
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    ids = [o.id for o in page.items]
    totals = {row.organization_id: row for row in db.session.execute(
        select(WasteStream.organization_id, func.count(WasteStream.id).label("streams"),
               func.coalesce(func.sum(WasteStream.balance), 0).label("stock"),
               func.count(WasteStream.must_offer_since).label("flagged"))
        .where(WasteStream.organization_id.in_(ids)).group_by(WasteStream.organization_id))}
    return render_template("registry/official_orgs.html", page=page, text=text, totals=totals,
                           regions=region_choices(), region=request.args.get("region", ""))


@bp.get("/stocks")
@official_required
def stocks():
    """Stock on hand grouped by region, waste chapter or hazard."""
    group, q = stocks_query(request.args.get("group", "region"), official_regions(),
                            request.args.get("region", ""))
    rows = db.session.execute(q).all()
    names: dict[str, str] = {}
    if group == "region":
        names = {r.kato: r.name for r in db.session.scalars(select(Region))}
    elif group == "chapter":
        names = {c.chapter: f"{c.chapter} — {c.title_en}" for c in db.session.scalars(select(WasteChapter))}
    total = sum((r[2] or 0) for r in rows)
    return render_template("registry/official_stocks.html", rows=rows, names=names, group=group,
                           total=total, regions=region_choices(),
                           region=request.args.get("region", ""))


@bp.get("/compliance")
@official_required
def compliance():
    """Every stream flagged as stored past its limit (must be offered for transfer)."""
    q = compliance_query(official_regions(), request.args.get("region", ""))
    page = db.paginate(q,
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("registry/official_compliance.html", page=page, deadline=deadline,
                           regions=region_choices(), region=request.args.get("region", ""))
