"""Registration, login/logout, e-mail confirmation, password reset, profile."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from market.accounts import operations as ops
from market.accounts import twofactor
from market.accounts.forms import (
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    ProfileForm,
    RegisterForm,
    ResetPasswordForm,
)
from market.accounts.views_twofactor import begin_login
from market.core import audit
from market.core.errors import DomainError
from market.core.txn import commit
from market.core.web import safe_next
from market.extensions import limiter

bp = Blueprint("auth", __name__)


def _account_key() -> str:
    return "login:" + ops.normalize_email(request.form.get("email", ""))


def _start_session(user, remember: bool) -> None:
    """Renew the session at login (no fixation), keeping only the language choice."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    login_user(user, remember=remember)


def _landing(user) -> str:
    """Officials without an organisation start at their queue; everyone else at their orgs."""
    if (user.is_official or user.is_admin) and not user.memberships:
        return url_for("official.list_organizations")
    return url_for("orgs.list_orgs")


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def register():
    """Create an account; a confirmation link goes out by e-mail."""
    if current_user.is_authenticated:
        return redirect(url_for("orgs.list_orgs"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = ops.register_user(form.email.data, form.password.data, form.full_name.data,
                                     locale=session.get("lang") or "ru")
        except DomainError as exc:
            form.email.errors.append(str(exc))
        else:
            commit()
            _start_session(user, remember=False)
            flash(_("Добро пожаловать! Мы отправили ссылку для подтверждения e-mail."), "success")
            return redirect(url_for("orgs.list_orgs"))
    return render_template("auth/register.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], methods=["POST"],
               key_func=_account_key)
def login():
    """Log in with e-mail and password; failures count towards a lockout."""
    if current_user.is_authenticated:
        return redirect(url_for("orgs.list_orgs"))
    form = LoginForm(next=request.args.get("next"))
    if form.validate_on_submit():
        try:
            user = ops.authenticate(form.email.data, form.password.data)
        except ops.LoginRefused as exc:
            commit()  # failed attempts and lockouts are recorded
            flash(str(exc), "danger")
        else:
            if twofactor.is_enabled(user):  # the password is right: now the code
                commit()
                return begin_login(user, remember=form.remember.data, next_url=form.next.data)
            if user.locale:
                session["lang"] = user.locale
            commit()
            _start_session(user, remember=form.remember.data)
            flash(_("Вы вошли как %(name)s.", name=user.full_name), "success")
            return redirect(safe_next(form.next.data, _landing(user)))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    """End the session (and forget the remember-me cookie)."""
    audit.record("logout", current_user._get_current_object(), actor=current_user)
    commit()
    lang = session.get("lang")
    session.clear()
    logout_user()  # after clear(): it leaves the flag that deletes the remember-me cookie
    if lang:
        session["lang"] = lang
    flash(_("Вы вышли из системы."), "info")
    return redirect(url_for("main.index"))


@bp.get("/confirm/<token>")
def confirm_email(token: str):
    """Confirm the e-mail address from the link in the message."""
    try:
        ops.confirm_email(token)
    except DomainError as exc:
        flash(str(exc), "danger")
        return redirect(url_for("main.index"))
    commit()
    flash(_("E-mail подтверждён. Спасибо!"), "success")
    return redirect(url_for("orgs.list_orgs") if current_user.is_authenticated
                    else url_for("auth.login"))


@bp.post("/confirm/resend")
@login_required
@limiter.limit("5 per hour")
def resend_confirmation():
    """Send the confirmation link again."""
    if not current_user.email_confirmed:
        ops.send_confirmation(current_user)
        commit()
        flash(_("Ссылка отправлена ещё раз на %(email)s.", email=current_user.email), "info")
    return redirect(url_for("auth.profile"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit("5 per 15 minutes", methods=["POST"])
def forgot_password():
    """Ask for a reset link; the answer never tells whether the account exists."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        ops.request_password_reset(form.email.data)
        commit()
        flash(_("Если такой адрес зарегистрирован, мы отправили на него ссылку для смены "
                "пароля. Она действует 2 часа."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Set a new password from an e-mailed link (works once, for 2 hours)."""
    user = ops.user_for_reset_token(token)
    if user is None:
        flash(_("Ссылка для смены пароля недействительна или уже использована."), "danger")
        return redirect(url_for("auth.forgot_password"))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        ops.set_password(user, form.password.data, actor=user)
        commit()
        logout_user()
        flash(_("Пароль изменён. Войдите с новым паролем."), "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form)


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    """The user's name, language and password."""
    form = ProfileForm(obj=current_user, prefix="p")
    pw_form = ChangePasswordForm(prefix="pw")
    if request.method == "POST" and "p-full_name" in request.form and form.validate():
        current_user.full_name = form.full_name.data.strip()
        ops.set_locale(current_user, form.locale.data)
        session["lang"] = form.locale.data
        commit()
        flash(_("Профиль сохранён."), "success")
        return redirect(url_for("auth.profile"))
    if request.method == "POST" and "pw-password" in request.form and pw_form.validate():
        if not ops.check_password(current_user, pw_form.current.data):
            pw_form.current.errors.append(_("Текущий пароль указан неверно."))
        else:
            ops.set_password(current_user, pw_form.password.data, actor=current_user)
            commit()
            login_user(current_user._get_current_object())  # new nonce, keep this session
            flash(_("Пароль изменён. Другие сеансы завершены."), "success")
            return redirect(url_for("auth.profile"))
    return render_template("auth/profile.html", form=form, pw_form=pw_form)
