"""Officials: any organisation's registry, stocks by region / chapter / hazard, compliance."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user
from sqlalchemy import case, func, or_, select

from market.accounts.models import Organization
from market.accounts.views_official import official_required
from market.accounts.views_orgs import region_choices
from market.extensions import db
from market.refdata.models import Region, WasteChapter, WasteCode
from market.registry.limits import deadline
from market.registry.models import WasteStream

bp = Blueprint("registry_official", __name__, url_prefix="/official/registry")


def official_regions() -> list[str]:
    """The official's regions ([] = the whole country)."""
    if current_user.is_admin and not current_user.is_official:
        return []
    return [r.kato for r in current_user.official_regions]


def _region_filter(query, column):
    regions = official_regions()
    if regions:
        query = query.where(column.in_(regions))
    wanted = request.args.get("region", "")
    if wanted:
        query = query.where(column == wanted)
    return query


@bp.get("/")
@official_required
def organizations():
    """Organisations with their registry totals."""
    text = request.args.get("q", "").strip()
    q = _region_filter(select(Organization), Organization.region_kato)
    if text:
        q = q.where(or_(Organization.bin.startswith(text),
                        func.lower(Organization.name).contains(text.lower())))
    page = db.paginate(q.order_by(Organization.name, Organization.id),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    ids = [o.id for o in page.items]
    totals = {row.organization_id: row for row in db.session.execute(
        select(WasteStream.organization_id, func.count(WasteStream.id).label("streams"),
               func.coalesce(func.sum(WasteStream.balance), 0).label("stock"),
               func.count(WasteStream.must_offer_since).label("flagged"))
        .where(WasteStream.organization_id.in_(ids)).group_by(WasteStream.organization_id))}
    return render_template("registry/official_orgs.html", page=page, text=text, totals=totals,
                           regions=region_choices(), region=request.args.get("region", ""))


GROUPS = ("region", "chapter", "hazard")


@bp.get("/stocks")
@official_required
def stocks():
    """Stock on hand grouped by region, waste chapter or hazard."""
    group = request.args.get("group", "region")
    if group not in GROUPS:
        group = "region"
    hazardous = case((WasteCode.hazardous, "hazardous"), else_="non_hazardous")
    key = {"region": Organization.region_kato, "chapter": WasteCode.chapter,
           "hazard": hazardous}[group]
    q = (select(key.label("key"), func.count(WasteStream.id), func.sum(WasteStream.balance),
                func.count(WasteStream.must_offer_since))
         .select_from(WasteStream)
         .join(Organization, WasteStream.organization_id == Organization.id)
         .join(WasteCode, WasteStream.waste_code == WasteCode.code6)
         .group_by(key).order_by(func.sum(WasteStream.balance).desc()))
    q = _region_filter(q, Organization.region_kato)
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
    q = (select(WasteStream).join(Organization, WasteStream.organization_id == Organization.id)
         .where(WasteStream.must_offer_since.is_not(None)))
    q = _region_filter(q, Organization.region_kato)
    page = db.paginate(q.order_by(WasteStream.must_offer_since, WasteStream.id),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("registry/official_compliance.html", page=page, deadline=deadline,
                           regions=region_choices(), region=request.args.get("region", ""))
