"""API tokens page of an organisation (owner and managers): list, issue, revoke."""

from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from market.accounts.models import Organization, User
from market.api import tokens as ops
from market.api.forms import TokenForm
from market.api.models import ApiToken
from market.api.tokens import SCOPE_LABELS, can_manage_tokens
from market.core.txn import commit
from market.extensions import db

bp = Blueprint("tokens", __name__)


def _org(org_id: int) -> Organization:
    org = db.session.get(Organization, org_id)
    if org is None:
        abort(404)
    if not can_manage_tokens(current_user, org):
        abort(403)
    return org


def _render_list(org: Organization, form: TokenForm):
    items = db.session.scalars(select(ApiToken).where(ApiToken.organization_id == org.id)
                               .order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())).all()
    creator_ids = {t.created_by_id for t in items if t.created_by_id}
    creators = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(creator_ids)))}
    return render_template("api/tokens.html", org=org, tokens=items, creators=creators, form=form,
                           scope_labels=SCOPE_LABELS)


@bp.get("/orgs/<int:org_id>/api-tokens")
@login_required
def list_tokens(org_id: int):
    """Tokens of the organisation and the form to issue one."""
    return _render_list(_org(org_id), TokenForm())


@bp.post("/orgs/<int:org_id>/api-tokens")
@login_required
def create_token(org_id: int):
    """Issue a token; its secret is on this response only (never stored, never shown again)."""
    org = _org(org_id)
    form = TokenForm()
    if not form.validate_on_submit():
        return _render_list(org, form), 422
    token, secret = ops.create_token(org, actor=current_user, name=form.name.data,
                                     scopes=form.scopes.data)
    commit()
    response = make_response(render_template("api/token_created.html", org=org, token=token,
                                             secret=secret, scope_labels=SCOPE_LABELS))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/orgs/<int:org_id>/api-tokens/<int:token_id>/revoke")
@login_required
def revoke_token(org_id: int, token_id: int):
    """Revoke a token: every later request with it is refused."""
    org = _org(org_id)
    token = db.session.get(ApiToken, token_id)
    if token is None or token.organization_id != org.id:
        abort(404)
    ops.revoke_token(token, actor=current_user)
    commit()
    flash(_("Токен «%(name)s» отозван: запросы с ним больше не принимаются.", name=token.name), "info")
    return redirect(url_for("tokens.list_tokens", org_id=org.id))
