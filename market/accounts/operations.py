"""User accounts: registration, confirmation, login with lockout, password reset."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from market.accounts.models import User
from market.accounts.tokens import make_token, read_token
from market.core import audit
from market.core.errors import DomainError
from market.core.notify import queue_email
from market.core.timeutil import utcnow
from market.extensions import db

_hasher = PasswordHasher()


class LoginRefused(DomainError):
    """Wrong credentials, or the account is locked or disabled."""


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(user: User, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalize_email(email)))


def register_user(email: str, password: str, full_name: str, *, locale: str = "ru") -> User:
    """Create an account and e-mail a confirmation link."""
    email = normalize_email(email)
    if find_user(email):
        raise DomainError(_l("Пользователь с таким e-mail уже зарегистрирован."))
    user = User(email=email, password_hash=hash_password(password), full_name=full_name.strip(),
                locale=locale)
    db.session.add(user)
    db.session.flush()
    audit.record("user.registered", user, actor=user)
    send_confirmation(user)
    return user


def send_confirmation(user: User) -> None:
    token = make_token("confirm", {"uid": user.id, "email": user.email})
    link = current_app.config["PUBLIC_URL"] + url_for("auth.confirm_email", token=token)
    queue_email(user.email, _l("Подтвердите e-mail в Qaldyq"), "email/confirm.txt",
                user=user, link=link)


def confirm_email(token: str) -> User:
    payload = read_token("confirm", token, max_age=7 * 24 * 3600)
    user = db.session.get(User, payload["uid"]) if payload else None
    if user is None or user.email != payload.get("email"):
        raise DomainError(_l("Ссылка подтверждения недействительна или устарела."))
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
        audit.record("user.email_confirmed", user, actor=user)
    return user


def authenticate(email: str, password: str) -> User:
    """The user for these credentials; failures count towards a temporary lockout."""
    cfg = current_app.config
    user = find_user(email)
    now = utcnow()
    if user is None:
        audit.record("login.failed", None, email=normalize_email(email), reason="unknown")
        raise LoginRefused(_l("Неверный e-mail или пароль."))
    if user.locked_until and user.locked_until > now:
        audit.record("login.refused_locked", user, actor=user)
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        raise LoginRefused(
            _l("Слишком много неудачных попыток. Учётная запись заблокирована ещё на %(minutes)s мин."),
            minutes=minutes,
        )
    if not check_password(user, password):
        user.failed_logins += 1
        audit.record("login.failed", user, actor=user, attempts=user.failed_logins)
        if user.failed_logins >= cfg["LOCKOUT_THRESHOLD"]:
            user.locked_until = now + timedelta(minutes=cfg["LOCKOUT_MINUTES"])
            user.failed_logins = 0
            audit.record("account.locked", user, actor=user, minutes=cfg["LOCKOUT_MINUTES"])
            raise LoginRefused(
                _l("Слишком много неудачных попыток. Учётная запись заблокирована на %(minutes)s мин."),
                minutes=cfg["LOCKOUT_MINUTES"],
            )
        raise LoginRefused(_l("Неверный e-mail или пароль."))
    if not user.active:
        audit.record("login.refused_disabled", user, actor=user)
        raise LoginRefused(_l("Учётная запись отключена администратором."))
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    audit.record("login.succeeded", user, actor=user)
    return user


def _reset_fingerprint(user: User) -> str:
    """Changes when the password changes, so a reset link works once."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def request_password_reset(email: str) -> None:
    """E-mail a reset link if the account exists; says nothing either way."""
    user = find_user(email)
    if user is None:
        audit.record("password.reset_requested", None, email=normalize_email(email), known=False)
        return
    token = make_token("reset", {"uid": user.id, "fp": _reset_fingerprint(user)})
    link = current_app.config["PUBLIC_URL"] + url_for("auth.reset_password", token=token)
    queue_email(user.email, _l("Восстановление пароля Qaldyq"), "email/reset.txt",
                user=user, link=link)
    audit.record("password.reset_requested", user, actor=user)


def user_for_reset_token(token: str) -> User | None:
    payload = read_token("reset", token, max_age=2 * 3600)
    user = db.session.get(User, payload["uid"]) if payload else None
    if user is None or payload.get("fp") != _reset_fingerprint(user):
        return None
    return user


def set_password(user: User, password: str, *, actor: User) -> None:
    """Set a new password, log out every other session and lift a lockout."""
    user.password_hash = hash_password(password)
    user.session_nonce = secrets.token_hex(8)
    user.failed_logins = 0
    user.locked_until = None
    audit.record("password.changed", user, actor=actor)


def set_locale(user: User, locale: str) -> None:
    if locale in current_app.config["LANGUAGES"]:
        user.locale = locale
