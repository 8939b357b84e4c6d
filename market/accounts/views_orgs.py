"""Organisations: create, view, edit, join, members, invitations, switching, audit log."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from market.accounts import org_operations as ops
from market.accounts.forms import (
    InviteForm,
    JoinRequestForm,
    OrganizationEditForm,
    OrganizationForm,
    RoleForm,
)
from market.accounts.models import ROLE_LABELS, Invitation, JoinRequest, Membership, Organization
from market.accounts.verification import decide
from market.core import refcache
from market.core.audit_views import audit_page
from market.core.forms import options
from market.core.txn import commit
from market.core.web import safe_next
from market.extensions import db
from market.refdata.models import Region

bp = Blueprint("orgs", __name__, url_prefix="")


def region_choices() -> list[tuple[str, str]]:
    def build():
        regions = db.session.scalars(select(Region).order_by(Region.kato)).all()
        return options([("", "—")] + [(r.kato, r.name) for r in regions])

    return refcache.per_locale("regions", build)


def _org(org_id: int) -> Organization:
    org = db.session.get(Organization, org_id)
    if org is None:
        abort(404)
    return org


def _viewable(org_id: int) -> Organization:
    org = _org(org_id)
    if not org.can_view(current_user):
        abort(403)
    return org


@bp.get("/orgs")
@login_required
def list_orgs():
    """The organisations the user belongs to, and invitations waiting for them."""
    invitations = db.session.scalars(select(Invitation).where(
        Invitation.email == current_user.email, Invitation.status == "pending")).all()
    return render_template("orgs/list.html", memberships=current_user.memberships,
                           invitations=invitations)


@bp.route("/orgs/new", methods=["GET", "POST"])
@login_required
def new_org():
    """Register an organisation by BIN; it starts pending verification."""
    form = OrganizationForm()
    form.region_kato.choices = region_choices()
    taken = None
    if form.validate_on_submit():
        try:
            org = ops.create_organization(
                actor=current_user, bin=form.bin.data, name=form.name.data,
                region_kato=form.region_kato.data, address=form.address.data,
                kinds=form.kinds.data, contact_email=form.contact_email.data or None,
                contact_phone=form.contact_phone.data or None)
        except ops.BinTaken as exc:
            taken = exc.organization
            form.bin.errors.append(str(exc))
        else:
            commit()
            flash(_("Организация зарегистрирована и отправлена на проверку."), "success")
            return redirect(url_for("orgs.show_org", org_id=org.id))
    return render_template("orgs/new.html", form=form, taken=taken)


@bp.get("/orgs/<int:org_id>")
@login_required
def show_org(org_id: int):
    """Organisation card: details, state, members."""
    org = _viewable(org_id)
    return render_template("orgs/show.html", org=org, membership=current_user.membership_in(org))


@bp.route("/orgs/<int:org_id>/edit", methods=["GET", "POST"])
@login_required
def edit_org(org_id: int):
    """Edit name, region, address, kinds and contacts (owner or manager)."""
    org = _org(org_id)
    if not org.can_edit(current_user):
        abort(403)
    form = OrganizationEditForm(obj=org)
    form.region_kato.choices = region_choices()
    if request.method == "GET":
        form.kinds.data = org.kinds
    if form.validate_on_submit():
        ops.update_organization(org, actor=current_user, name=form.name.data.strip(),
                                region_kato=form.region_kato.data, address=form.address.data.strip(),
                                kinds=form.kinds.data,
                                contact_email=form.contact_email.data or None,
                                contact_phone=form.contact_phone.data or None)
        commit()
        flash(_("Изменения сохранены."), "success")
        return redirect(url_for("orgs.show_org", org_id=org.id))
    return render_template("orgs/edit.html", form=form, org=org)


@bp.route("/orgs/<int:org_id>/join", methods=["GET", "POST"])
@login_required
def join_org(org_id: int):
    """Ask the owners of an already registered organisation for access."""
    org = _org(org_id)
    form = JoinRequestForm()
    if form.validate_on_submit():
        ops.request_to_join(org, actor=current_user, message=form.message.data)
        commit()
        flash(_("Запрос отправлен владельцам организации."), "success")
        return redirect(url_for("orgs.list_orgs"))
    return render_template("orgs/join.html", form=form, org=org)


@bp.get("/orgs/<int:org_id>/members")
@login_required
def members(org_id: int):
    """Members, pending invitations and join requests."""
    org = _viewable(org_id)
    manage = org.can_manage_members(current_user)
    invitations = join_requests = []
    if manage:
        invitations = db.session.scalars(select(Invitation).where(
            Invitation.organization_id == org.id, Invitation.status == "pending")
            .order_by(Invitation.id.desc())).all()
        join_requests = db.session.scalars(select(JoinRequest).where(
            JoinRequest.organization_id == org.id, JoinRequest.status == "pending")).all()
    return render_template("orgs/members.html", org=org, manage=manage, invite_form=InviteForm(),
                           role_form=RoleForm(), invitations=invitations,
                           join_requests=join_requests)


@bp.post("/orgs/<int:org_id>/invitations")
@login_required
def invite_member(org_id: int):
    """Invite a person by e-mail with a role (owner only)."""
    org = _org(org_id)
    if not org.can_manage_members(current_user):
        abort(403)
    form = InviteForm()
    if form.validate_on_submit():
        ops.invite_member(org, actor=current_user, email=form.email.data, role=form.role.data)
        commit()
        flash(_("Приглашение отправлено на %(email)s.", email=form.email.data), "success")
    else:
        for errors in form.errors.values():
            for e in errors:
                flash(e, "danger")
    return redirect(url_for("orgs.members", org_id=org.id))


@bp.post("/orgs/<int:org_id>/invitations/<int:inv_id>/revoke")
@login_required
def revoke_invitation(org_id: int, inv_id: int):
    """Withdraw a pending invitation."""
    inv = db.session.get(Invitation, inv_id)
    if inv is None or inv.organization_id != org_id:
        abort(404)
    ops.revoke_invitation(inv, actor=current_user)
    commit()
    flash(_("Приглашение отозвано."), "info")
    return redirect(url_for("orgs.members", org_id=org_id))


def _membership(org_id: int, member_id: int) -> Membership:
    m = db.session.get(Membership, member_id)
    if m is None or m.organization_id != org_id:
        abort(404)
    return m


@bp.post("/orgs/<int:org_id>/members/<int:member_id>/role")
@login_required
def change_member_role(org_id: int, member_id: int):
    """Change a member's role (owner only; never the last owner)."""
    m = _membership(org_id, member_id)
    if not m.organization.can_manage_members(current_user):
        abort(403)
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400)
    ops.change_role(m, actor=current_user, role=form.role.data)
    commit()
    flash(_("Роль изменена."), "success")
    return redirect(url_for("orgs.members", org_id=org_id))


@bp.post("/orgs/<int:org_id>/members/<int:member_id>/remove")
@login_required
def remove_member(org_id: int, member_id: int):
    """Remove a member, or leave the organisation yourself."""
    m = _membership(org_id, member_id)
    leaving = m.user_id == current_user.id
    ops.remove_member(m, actor=current_user)
    commit()
    if leaving:
        flash(_("Вы вышли из организации."), "info")
        return redirect(url_for("orgs.list_orgs"))
    flash(_("Участник удалён."), "info")
    return redirect(url_for("orgs.members", org_id=org_id))


@bp.post("/orgs/<int:org_id>/join-requests/<int:request_id>")
@login_required
def decide_join_request(org_id: int, request_id: int):
    """Approve or decline a request to join."""
    jr = db.session.get(JoinRequest, request_id)
    if jr is None or jr.organization_id != org_id:
        abort(404)
    approve = request.form.get("decision") == "approve"
    role = request.form.get("role", "member")
    if role not in ROLE_LABELS:
        abort(400)
    ops.decide_join_request(jr, actor=current_user, approve=approve, role=role)
    commit()
    flash(_("Запрос одобрен.") if approve else _("Запрос отклонён."), "info")
    return redirect(url_for("orgs.members", org_id=org_id))


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@login_required
def accept_invitation(token: str):
    """Accept an invitation from its e-mailed link."""
    inv = ops.invitation_from_token(token)
    if inv is None:
        flash(_("Приглашение недействительно или истекло."), "danger")
        return redirect(url_for("orgs.list_orgs"))
    if request.method == "POST":
        ops.accept_invitation(inv, actor=current_user)
        commit()
        flash(_("Вы присоединились к «%(org)s».", org=inv.organization.name), "success")
        return redirect(url_for("orgs.show_org", org_id=inv.organization_id))
    return render_template("orgs/invitation.html", inv=inv)


@bp.post("/orgs/<int:org_id>/switch")
@login_required
def switch_org(org_id: int):
    """Act for another of my organisations."""
    org = _org(org_id)
    ops.switch_organization(org, actor=current_user)
    commit()
    flash(_("Вы действуете от имени «%(org)s».", org=org.name), "info")
    return redirect(safe_next(request.form.get("next"), url_for("orgs.show_org", org_id=org.id)))


@bp.post("/orgs/<int:org_id>/resubmit")
@login_required
def resubmit_org(org_id: int):
    """Send a rejected organisation back for verification after corrections."""
    org = _org(org_id)
    decide(org, "resubmit", actor=current_user)
    commit()
    flash(_("Организация снова отправлена на проверку."), "success")
    return redirect(url_for("orgs.show_org", org_id=org.id))


@bp.get("/orgs/<int:org_id>/audit")
@login_required
def org_audit(org_id: int):
    """The organisation's audit log (owners, officials of its region, admins)."""
    org = _org(org_id)
    if not org.can_view_audit(current_user):
        abort(403)
    return audit_page(organization=org, per_page=current_app.config["PAGE_SIZE"])
