"""Two-factor login pages: enrolment and switching off in the profile, and the login's second
step (the code after the password)."""

from __future__ import annotations

import time

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from market.accounts import twofactor
from market.accounts.models import User
from market.core.errors import DomainError
from market.core.forms import flash_form_errors
from market.core.txn import commit, rollback
from market.core.web import safe_next
from market.extensions import db, limiter

bp = Blueprint("twofactor", __name__)

REQUIRED = _l("Обязательное поле.")
PENDING = "2fa_pending"
PENDING_SECONDS = 300  # the code must follow the password within 5 minutes


class CodeForm(FlaskForm):
    code = StringField(_l("Код из приложения"), validators=[DataRequired(REQUIRED), Length(max=20)])


class DisableForm(FlaskForm):
    password = PasswordField(_l("Пароль"), validators=[DataRequired(REQUIRED), Length(max=200)])
    code = StringField(_l("Код из приложения или резервный код"),
                       validators=[DataRequired(REQUIRED), Length(max=20)])


class StartForm(FlaskForm):
    pass




# Profile ----------------------------------------------------------------------------------------
@bp.get("/profile/two-factor")
@login_required
def settings():
    """Two-factor login: its state; while enrolling, the QR code and the secret as text."""
    user = current_user._get_current_object()
    secret = twofactor.pending_secret(user)
    uri = twofactor.provisioning_uri(user, secret) if secret else None
    return render_template("accounts/twofactor.html", enabled=twofactor.is_enabled(user),
                           secret=secret, qr=twofactor.qr_svg(uri) if uri else None,
                           start_form=StartForm(formdata=None), code_form=CodeForm(formdata=None),
                           disable_form=DisableForm(formdata=None))


@bp.post("/profile/two-factor/start")
@login_required
def start():
    """A new secret: shown as a QR code until the first code confirms it."""
    if not StartForm().validate_on_submit():
        flash(_("Форма устарела: обновите страницу и повторите."), "danger")
        return redirect(url_for("twofactor.settings"))
    try:
        twofactor.start_enrolment(current_user._get_current_object())
        commit()
    except DomainError as exc:
        rollback()
        flash(str(exc), "danger")
    return redirect(url_for("twofactor.settings"))


@bp.post("/profile/two-factor/confirm")
@login_required
@limiter.limit("10 per 15 minutes", key_func=lambda: f"2fa-confirm:{current_user.get_id()}")
def confirm():
    """The first code enables two-factor login; the recovery codes are shown once."""
    form = CodeForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("twofactor.settings"))
    user = current_user._get_current_object()
    try:
        codes = twofactor.confirm_enrolment(user, form.code.data)
        commit()
    except twofactor.CodeRefused as exc:
        commit()  # the refusal is audited
        flash(str(exc), "danger")
        return redirect(url_for("twofactor.settings"))
    except DomainError as exc:
        rollback()
        flash(str(exc), "danger")
        return redirect(url_for("twofactor.settings"))
    flash(_("Двухфакторный вход включён."), "success")
    return render_template("accounts/twofactor_codes.html", codes=codes)


@bp.post("/profile/two-factor/disable")
@login_required
@limiter.limit("10 per 15 minutes", key_func=lambda: f"2fa-disable:{current_user.get_id()}")
def disable():
    """Switch two-factor login off with the password and a code."""
    form = DisableForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("twofactor.settings"))
    try:
        twofactor.disable(current_user._get_current_object(), password=form.password.data,
                          code=form.code.data)
        commit()
    except twofactor.CodeRefused as exc:
        commit()  # the refusal is audited
        flash(str(exc), "danger")
        return redirect(url_for("twofactor.settings"))
    except DomainError as exc:
        rollback()
        flash(str(exc), "danger")
        return redirect(url_for("twofactor.settings"))
    flash(_("Двухфакторный вход выключен."), "info")
    return redirect(url_for("twofactor.settings"))


# The login's second step ------------------------------------------------------------------------
def begin_login(user: User, *, remember: bool, next_url: str | None):
    """After the password: remember who is logging in (not logged in yet) and ask for the code."""
    session[PENDING] = {"uid": user.id, "nonce": user.session_nonce, "remember": bool(remember),
                        "next": next_url or "", "at": int(time.time())}
    return redirect(url_for("twofactor.login_code"))


def _pending() -> tuple[User, dict] | None:
    data = session.get(PENDING)
    if not isinstance(data, dict):
        return None
    user = db.session.get(User, data.get("uid")) if isinstance(data.get("uid"), int) else None
    fresh = int(time.time()) - int(data.get("at") or 0) <= PENDING_SECONDS
    if user is None or not user.active or user.session_nonce != data.get("nonce") or not fresh:
        session.pop(PENDING, None)
        return None
    return user, data


def _pending_key() -> str:
    data = session.get(PENDING)
    uid = data.get("uid") if isinstance(data, dict) else None
    return f"login-code:{uid}"


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], methods=["POST"],
               key_func=_pending_key)
def login_code():
    """The second step of the login for users with two-factor login: the current code."""
    from market.accounts.views_auth import _landing, _start_session

    if current_user.is_authenticated:
        return redirect(url_for("orgs.list_orgs"))
    pending = _pending()
    if pending is None:
        if request.method == "POST":
            flash(_("Время ввода кода истекло. Войдите ещё раз."), "warning")
        return redirect(url_for("auth.login"))
    user, data = pending
    form = CodeForm()
    if form.validate_on_submit():
        try:
            twofactor.second_step(user, form.code.data)
        except twofactor.CodeRefused as exc:
            commit()  # failed attempts and lockouts are recorded
            flash(str(exc), "danger")
            if getattr(exc, "locked", False):
                session.pop(PENDING, None)
                return redirect(url_for("auth.login"))
        else:
            if user.locale:
                session["lang"] = user.locale
            commit()
            _start_session(user, remember=data.get("remember", False))  # clears the pending step
            flash(_("Вы вошли как %(name)s.", name=user.full_name), "success")
            return redirect(safe_next(data.get("next") or None, _landing(user)))
    elif request.method == "POST":
        flash_form_errors(form)
    return render_template("accounts/twofactor_login.html", form=form)
