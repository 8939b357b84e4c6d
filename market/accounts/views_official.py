"""Officials: the verification queue, decisions on organisations, the audit log."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select

from market.accounts.forms import ReasonForm
from market.accounts.models import ORG_STATE_LABELS, Organization
from market.accounts.verification import OFFICIAL_ACTIONS, decide
from market.accounts.views_orgs import region_choices
from market.core.audit_views import audit_page
from market.core.txn import commit
from market.extensions import db

bp = Blueprint("official", __name__, url_prefix="/official")


def official_required(view):
    """Coarse role check: officials and admins only."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not (current_user.is_official or current_user.is_admin):
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def _my_regions() -> list[str]:
    if current_user.is_admin and not current_user.is_official:
        return []
    return [r.kato for r in current_user.official_regions]


@bp.get("/organizations")
@official_required
def list_organizations():
    """Organisations to verify, filterable by state, region and name/BIN."""
    state = request.args.get("state", "pending")
    region = request.args.get("region", "")
    text = request.args.get("q", "").strip()
    q = select(Organization)
    regions = _my_regions()
    if regions:
        q = q.where(Organization.region_kato.in_(regions))
    if state in ORG_STATE_LABELS:
        q = q.where(Organization.state == state)
    if region:
        q = q.where(Organization.region_kato == region)
    if text:
        q = q.where(or_(Organization.bin.startswith(text),
                        func.lower(Organization.name).contains(text.lower())))
    page = db.paginate(q.order_by(Organization.created_at, Organization.id),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("official/organizations.html", page=page, state=state,
                           region=region, text=text, states=ORG_STATE_LABELS,
                           regions=region_choices())


@bp.route("/organizations/<int:org_id>/review", methods=["GET", "POST"])
@official_required
def review_organization(org_id: int):
    """Verify, reject (with reason), suspend (with reason) or reinstate."""
    org = db.session.get(Organization, org_id)
    if org is None:
        abort(404)
    if not org.can_review(current_user):
        abort(403)
    form = ReasonForm()
    if request.method == "POST":
        action = request.form.get("action")
        if action not in OFFICIAL_ACTIONS or not form.validate():
            abort(400)
        decide(org, action, actor=current_user, reason=form.reason.data)
        commit()
        flash(_("Решение сохранено: %(state)s.", state=org.state_label), "success")
        return redirect(url_for("official.list_organizations"))
    return render_template("official/review.html", org=org, form=form)


@bp.get("/audit")
@official_required
def audit_log():
    """The platform's audit log (officials: their regions; admins: everything)."""
    regions = _my_regions()
    return audit_page(per_page=current_app.config["PAGE_SIZE"], region_katos=regions or None)
