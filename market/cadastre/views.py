"""The TMO cadastre: formations, assays, the map."""

from __future__ import annotations

import json
from decimal import Decimal

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_date, format_decimal
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from market.accounts.models import Organization, OrgRole
from market.accounts.views_orgs import region_choices
from market.cadastre import operations as ops
from market.cadastre.forms import COMPONENTS, HAZARD_CLASS_LABELS, AssayForm, FormationForm
from market.cadastre.geo import centroid, polygon_area_ha, validate_outline
from market.cadastre.models import FORMATION_KINDS, FORMATION_STATUSES, Assay, Formation
from market.core.errors import DomainError, PermissionDenied
from market.core.txn import commit
from market.core.web import db_int
from market.extensions import db
from market.refdata.models import Region
from market.registry.access import can_view_registry
from market.registry.models import Site

bp = Blueprint("cadastre", __name__, url_prefix="/cadastre")


# helpers ---------------------------------------------------------------------------------

def can_edit(user, org: Organization) -> bool:
    """Members of the owning organisation (not viewers) enter and change its formations."""
    return bool(user.is_authenticated and user.has_org_role(org, OrgRole.member))


MAX_ID = 2**31 - 1  # ids are INTEGER: a bigger number in a URL is simply not there


def _get(model, ident: int):
    obj = db.session.get(model, ident) if 0 < ident <= MAX_ID else None
    if obj is None:
        abort(404)
    return obj


def _editable_formation(formation_id: int) -> Formation:
    formation = _get(Formation, formation_id)
    if not can_edit(current_user, formation.organization):
        abort(403)
    return formation


def num(value, digits: int = 1) -> str:
    """A number in the user's locale, with up to `digits` decimals; a dash for nothing."""
    if value is None:
        return "—"
    return format_decimal(value, format="#,##0." + "#" * digits if digits else "#,##0")


@bp.context_processor
def _helpers():
    return {"num": num, "day": lambda d: format_date(d) if d else "—",
            "hazard_labels": HAZARD_CLASS_LABELS, "components": COMPONENTS, "can_edit": can_edit}


def _filters() -> dict:
    """The map and list filters from the query string; unknown values are ignored."""
    args = request.args
    region = args.get("region", "")
    kind = args.get("kind", "")
    status = args.get("status", "")
    org = args.get("org", type=db_int)
    org = org if org and 0 < org <= MAX_ID else None
    known_region = len(region) == 9 and region.isdigit() and db.session.get(Region, region) is not None
    return {"region": region if known_region else "",
            "kind": kind if kind in FORMATION_KINDS else "",
            "status": status if status in FORMATION_STATUSES else "",
            "org": org}


def _formations_query(f: dict):
    q = select(Formation)
    if f["region"]:
        q = q.where(Formation.region_kato == f["region"])
    if f["kind"]:
        q = q.where(Formation.kind == f["kind"])
    if f["status"]:
        q = q.where(Formation.status == f["status"])
    if f["org"]:
        q = q.where(Formation.organization_id == f["org"])
    return q


def _sites_query(f: dict):
    q = select(Site).where(Site.lat.is_not(None), Site.lon.is_not(None))
    if f["region"]:
        q = q.where(Site.region_kato == f["region"])
    if f["org"]:
        q = q.where(Site.organization_id == f["org"])
    return q


def _query_args(f: dict) -> dict:
    return {k: v for k, v in f.items() if v}


# the map and the lists ---------------------------------------------------------------------

@bp.get("/")
@login_required
def map_view():
    """All formations and registry sites on a map, filterable; formations in a table below."""
    f = _filters()
    q = _formations_query(f).options(joinedload(Formation.organization))
    page = db.paginate(q.order_by(Formation.name, Formation.id),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("cadastre/map.html", page=page, filters=f, regions=region_choices(),
                           kinds=FORMATION_KINDS, statuses=FORMATION_STATUSES,
                           data_url=url_for("cadastre.map_data", **_query_args(f)))


def _formation_feature(fm: Formation) -> dict:
    point = {"type": "Point", "coordinates": [fm.lon, fm.lat]}
    geometry = ({"type": "GeometryCollection", "geometries": [point, fm.outline]}
                if fm.outline else point)
    return {"type": "Feature", "id": f"formation-{fm.id}", "geometry": geometry, "properties": {
        "type": "formation", "id": fm.id, "name": fm.name, "kind": fm.kind,
        "kind_label": fm.kind_label, "status": fm.status, "status_label": fm.status_label,
        "state_owned": fm.state_owned, "region": fm.region.name,
        "organization": fm.organization.name,
        "tonnage": float(fm.tonnage) if fm.tonnage is not None else None,
        "tonnage_text": (num(fm.tonnage) + " " + _("т")) if fm.tonnage is not None else None,
        "area_ha": float(fm.area_ha) if fm.area_ha is not None else None,
        "url": url_for("cadastre.show_formation", formation_id=fm.id)}}


def _site_feature(site: Site, viewable: bool) -> dict:
    return {"type": "Feature", "id": f"site-{site.id}",
            "geometry": {"type": "Point", "coordinates": [site.lon, site.lat]},
            "properties": {
                "type": "site", "id": site.id, "name": site.name, "kind": site.kind,
                "kind_label": site.kind_label, "region": site.region.name,
                "organization": site.organization.name,
                # Registry pages are for the organisation, its officials and admins.
                "url": url_for("registry.show_site", site_id=site.id) if viewable else None}}


@bp.get("/map.json")
@login_required
def map_data():
    """GeoJSON FeatureCollection of formations (point, outline) and registry sites.

    Filters: region (KATO), kind and status (of formations), org (id). Sites are filtered by
    region and org only: kind and status describe formations.
    """
    f = _filters()
    formations = db.session.scalars(_formations_query(f).options(joinedload(Formation.organization))
                                    .order_by(Formation.id)).all()
    sites = db.session.scalars(_sites_query(f).options(joinedload(Site.organization))
                               .order_by(Site.id)).all()
    seen: dict[int, bool] = {}

    def viewable(org):
        if org.id not in seen:
            seen[org.id] = can_view_registry(current_user, org)
        return seen[org.id]

    features = [_formation_feature(fm) for fm in formations]
    features += [_site_feature(s, viewable(s.organization)) for s in sites]
    response = jsonify({"type": "FeatureCollection", "features": features})
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/orgs/<int:org_id>")
@login_required
def list_org_formations(org_id: int):
    """The formations an organisation holds (or, for a state body, manages)."""
    org = _get(Organization, org_id)
    formations = db.session.scalars(select(Formation).where(Formation.organization_id == org.id)
                                    .order_by(Formation.name, Formation.id)).all()
    return render_template("cadastre/org.html", org=org, formations=formations,
                           editable=can_edit(current_user, org),
                           data_url=url_for("cadastre.map_data", org=org.id))


# a formation ---------------------------------------------------------------------------------

def _point_and_outline(form: FormationForm):
    """(lat, lon, outline text) from the form; a missing point is taken from the outline."""
    lat, lon = form.lat.data, form.lon.data
    if (lat is None) != (lon is None):
        raise ops.FormationError("lat", _("Укажите обе координаты: широту и долготу."))
    if lat is None and (form.outline.data or "").strip():
        try:
            middle = centroid(validate_outline(form.outline.data))
        except DomainError:
            middle = None  # the operation reports both the outline and the missing point
        if middle:
            lat, lon = round(middle[0], 6), round(middle[1], 6)
    return lat, lon


def _formation_fields(form: FormationForm) -> dict:
    lat, lon = _point_and_outline(form)
    return {"name": form.name.data, "kind": form.kind.data, "status": form.status.data,
            "state_owned": form.state_owned.data, "region_kato": form.region_kato.data,
            "address": form.address.data, "lat": lat, "lon": lon, "outline": form.outline.data,
            "area_ha": form.area_ha.data, "volume_m3": form.volume_m3.data,
            "tonnage": form.tonnage.data, "year_formed": form.year_formed.data,
            "hazard_class": form.hazard_class.data or None, "waste_code": form.waste_code.data,
            "description": form.description.data}


def _show_error(form, exc: DomainError, fallback: str = "name") -> None:
    """Put the refusal (or each of them) next to its field."""
    errors = getattr(exc, "errors", None) or {getattr(exc, "field", fallback): exc}
    for name, error in errors.items():
        field = getattr(form, name or fallback, None) or getattr(form, fallback)
        field.errors = [*field.errors, str(error)]


@bp.route("/orgs/<int:org_id>/new", methods=["GET", "POST"])
@login_required
def new_formation(org_id: int):
    """Enter a formation: the point is picked on the map, the outline pasted as GeoJSON."""
    org = _get(Organization, org_id)
    if not can_edit(current_user, org):
        abort(403)
    form = FormationForm(region_kato=org.region_kato, state_owned="state_body" in org.kinds)
    form.region_kato.choices = region_choices()
    status = 200
    if form.validate_on_submit():
        try:
            formation = ops.create_formation(org, actor=current_user, **_formation_fields(form))
        except PermissionDenied:
            raise
        except DomainError as exc:
            _show_error(form, exc)
            status = 422
        else:
            commit()
            flash(_("ТМО внесено в кадастр."), "success")
            return redirect(url_for("cadastre.show_formation", formation_id=formation.id))
    elif form.is_submitted():
        status = 422
    return render_template("cadastre/formation_form.html", form=form, org=org, formation=None), status


@bp.route("/<int:formation_id>/edit", methods=["GET", "POST"])
@login_required
def edit_formation(formation_id: int):
    """Change a formation's data, point or outline."""
    formation = _editable_formation(formation_id)
    form = FormationForm(obj=formation)
    form.region_kato.choices = region_choices()
    if not form.is_submitted():
        form.outline.data = _outline_text(formation.outline)
        form.hazard_class.data = str(formation.hazard_class) if formation.hazard_class else ""
        form.waste_code.data = formation.code.code if formation.code else ""
        for name in ("area_ha", "volume_m3", "tonnage"):
            value = getattr(formation, name)
            getattr(form, name).data = _plain(value)
    status = 200
    if form.validate_on_submit():
        try:
            changed = ops.update_formation(formation, actor=current_user, **_formation_fields(form))
        except PermissionDenied:
            raise
        except DomainError as exc:
            _show_error(form, exc)
            status = 422
        else:
            commit()
            flash(_("Изменения сохранены.") if changed else _("Изменений нет."),
                  "success" if changed else "info")
            return redirect(url_for("cadastre.show_formation", formation_id=formation.id))
    elif form.is_submitted():
        status = 422
    return render_template("cadastre/formation_form.html", form=form, org=formation.organization,
                           formation=formation), status


def _outline_text(outline) -> str:
    if not outline:
        return ""
    return json.dumps(outline, ensure_ascii=False)


def _plain(value: Decimal | None) -> str:
    """A stored number as the user would type it: no exponent, no trailing zeros."""
    if value is None:
        return ""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _render_formation(formation: Formation, assay_form: AssayForm | None = None, status: int = 200):
    org = formation.organization
    editable = can_edit(current_user, org)
    contour_ha = polygon_area_ha(formation.outline) if formation.outline else None
    feature = _formation_feature(formation)
    return render_template("cadastre/formation.html", formation=formation, org=org,
                           editable=editable, assay_form=assay_form or AssayForm(),
                           contour_ha=contour_ha,
                           feature={"type": "FeatureCollection", "features": [feature]},
                           org_viewable=org.can_view(current_user)), status


@bp.get("/<int:formation_id>")
@login_required
def show_formation(formation_id: int):
    """Everything known about a formation: data, map, assays."""
    return _render_formation(_get(Formation, formation_id))


@bp.post("/<int:formation_id>/assays")
@login_required
def add_assay(formation_id: int):
    """Add a laboratory result to a formation."""
    formation = _editable_formation(formation_id)
    form = AssayForm()
    if form.validate_on_submit():
        try:
            ops.add_assay(formation, actor=current_user, component=form.component.data,
                          grade=form.grade.data, unit=form.unit.data,
                          laboratory=form.laboratory.data, sampled_on=form.sampled_on.data)
        except PermissionDenied:
            raise
        except DomainError as exc:
            _show_error(form, exc, fallback="grade")
        else:
            commit()
            flash(_("Результат анализа добавлен."), "success")
            return redirect(url_for("cadastre.show_formation", formation_id=formation.id) + "#assays")
    return _render_formation(formation, form, 422)


@bp.post("/<int:formation_id>/assays/<int:assay_id>/delete")
@login_required
def delete_assay(formation_id: int, assay_id: int):
    """Delete a laboratory result entered by mistake."""
    formation = _editable_formation(formation_id)
    assay = _get(Assay, assay_id)
    if assay.formation_id != formation.id:
        abort(404)
    ops.delete_assay(assay, actor=current_user)
    commit()
    flash(_("Результат анализа удалён."), "success")
    return redirect(url_for("cadastre.show_formation", formation_id=formation.id) + "#assays")
