"""Admins: users and platform roles, the e-mail outbox."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select

from market.accounts.forms import OfficialRoleForm
from market.accounts.models import User
from market.accounts.platform import set_platform_roles, set_user_active
from market.core.forms import options
from market.core.models import OutboxEmail
from market.core.txn import commit
from market.extensions import db
from market.refdata.models import Region

bp = Blueprint("admin", __name__, url_prefix="/admin")


def admin_required(view):
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


@bp.get("/users")
@admin_required
def list_users():
    """Every account, searchable by name or e-mail."""
    text = request.args.get("q", "").strip().lower()
    q = select(User)
    if text:
        q = q.where(or_(func.lower(User.email).contains(text),
                        func.lower(User.full_name).contains(text)))
    role = request.args.get("role")
    if role == "official":
        q = q.where(User.is_official.is_(True))
    elif role == "admin":
        q = q.where(User.is_admin.is_(True))
    page = db.paginate(q.order_by(User.id), per_page=current_app.config["PAGE_SIZE"],
                       error_out=False)
    return render_template("admin/users.html", page=page, text=text, role=role)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@admin_required
def edit_user(user_id: int):
    """Grant or revoke the official and admin roles; limit an official to regions."""
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    form = OfficialRoleForm(obj=user)
    regions = db.session.scalars(select(Region).order_by(Region.kato)).all()
    form.regions.choices = options((r.kato, r.name) for r in regions)
    if request.method == "GET":
        form.regions.data = [r.kato for r in user.official_regions]
    if form.validate_on_submit():
        set_platform_roles(user, actor=current_user, is_official=form.is_official.data,
                           is_admin=form.is_admin.data, region_katos=form.regions.data)
        commit()
        flash(_("Роли пользователя сохранены."), "success")
        return redirect(url_for("admin.edit_user", user_id=user.id))
    return render_template("admin/user.html", user=user, form=form)


@bp.post("/users/<int:user_id>/active")
@admin_required
def toggle_user_active(user_id: int):
    """Disable or re-enable an account."""
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    set_user_active(user, actor=current_user, active=request.form.get("active") == "1")
    commit()
    flash(_("Учётная запись включена.") if user.active else _("Учётная запись отключена."),
          "info")
    return redirect(url_for("admin.edit_user", user_id=user.id))


@bp.get("/outbox")
@admin_required
def outbox():
    """E-mails written by the platform (in development they are printed, not sent)."""
    status = request.args.get("status", "")
    q = select(OutboxEmail)
    if status:
        q = q.where(OutboxEmail.status == status)
    page = db.paginate(q.order_by(OutboxEmail.id.desc()),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("admin/outbox.html", page=page, status=status)


@bp.get("/outbox/<int:mail_id>")
@admin_required
def show_mail(mail_id: int):
    """One message with its full text."""
    mail = db.session.get(OutboxEmail, mail_id)
    if mail is None:
        abort(404)
    return render_template("admin/mail.html", mail=mail)
