"""Two-factor login with time-based one-time codes (TOTP, RFC 6238: SHA-1, 6 digits, 30 s).

The shared secret is stored encrypted (Fernet, a key derived from SECRET_KEY) and shown only
while the enrolment waits for its first code. A code is accepted one step either side of now,
and never twice (the last used time step is kept). Eight one-time recovery codes are issued at
enrolment (only their SHA-256 is kept). Wrong codes count towards the login lockout. Every step
is audited. Operations flush, never commit.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

import pyotp
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, BigInteger, ForeignKey, Text, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from market.accounts.models import User
from market.core import audit
from market.core.errors import DomainError
from market.core.timeutil import utcnow
from market.core.types import UTCDateTime
from market.extensions import db

ISSUER = "Qaldyq"
STEP = 30
WINDOW = 1  # steps either side of now
RECOVERY_CODES = 8


class TwoFactor(db.Model):
    """A user's TOTP secret: pending until confirmed with a first code, then enabled."""

    __tablename__ = "user_two_factor"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), unique=True)
    secret_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_step: Mapped[int | None] = mapped_column(BigInteger)
    recovery_hashes: Mapped[list] = mapped_column(JSON, default=list)

    user = relationship("User")

    @property
    def enabled(self) -> bool:
        return self.confirmed_at is not None


class CodeRefused(DomainError):
    """A wrong, reused or malformed code."""


# The secret at rest -----------------------------------------------------------------------------
def _fernet():
    from cryptography.fernet import Fernet

    key = hashlib.sha256(b"qaldyq-totp-secret:" + current_app.config["SECRET_KEY"].encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def _encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def _decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


# State ------------------------------------------------------------------------------------------
def record_of(user: User | None) -> TwoFactor | None:
    if user is None or getattr(user, "id", None) is None:
        return None
    return db.session.scalar(select(TwoFactor).where(TwoFactor.user_id == user.id))


def is_enabled(user: User | None) -> bool:
    record = record_of(user)
    return record is not None and record.enabled


def pending_secret(user: User) -> str | None:
    """The secret of an enrolment waiting for its first code (None once enabled)."""
    record = record_of(user)
    if record is None or record.enabled:
        return None
    return _decrypt(record.secret_encrypted)


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The otpauth:// URI as an inline SVG QR code (made here, no network)."""
    import io

    import segno

    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=4, xmldecl=False, svgns=True,
                                   title="QR", svgclass="qr-code")
    return out.getvalue().decode()


# Codes ------------------------------------------------------------------------------------------
def _clean(code) -> str:
    code = code if isinstance(code, str) else ""
    return "".join(ch for ch in code if not ch.isspace() and ch != "-").lower()


def _totp_step(secret: str, code: str, now: datetime, after: int | None) -> int | None:
    """The time step the 6-digit code belongs to (within the window), if later than ``after``."""
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // STEP
    for step in range(current - WINDOW, current + WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step if after is None or step > after else None
    return None


def current_code(secret: str, now: datetime) -> str:
    """The code an authenticator shows at ``now`` (used by tests and the demo)."""
    return pyotp.TOTP(secret).generate_otp(int(now.timestamp()) // STEP)


def check_code(user: User, code, *, now: datetime | None = None, recovery: bool = True) -> str:
    """Check a code of an enabled user: "totp" or "recovery" (a recovery code is used up).

    :raise CodeRefused: for a wrong, reused or malformed code.
    """
    now = now or utcnow()
    record = record_of(user)
    if record is None or not record.enabled:
        raise CodeRefused(_l("Двухфакторный вход не включён."))
    code = _clean(code)
    step = _totp_step(_decrypt(record.secret_encrypted), code, now, record.last_step)
    if step is not None:
        record.last_step = step
        db.session.flush()
        return "totp"
    hashes = list(record.recovery_hashes or [])
    if recovery and len(code) == 10 and _hash(code) in hashes:
        hashes.remove(_hash(code))
        record.recovery_hashes = hashes
        audit.record("2fa.recovery_used", user, actor=user, left=len(hashes))
        db.session.flush()
        return "recovery"
    raise CodeRefused(_l("Неверный или уже использованный код."))


# Enrolment --------------------------------------------------------------------------------------
def start_enrolment(user: User, *, now: datetime | None = None) -> str:
    """A new secret for ``user`` (replacing an unconfirmed one); returns it for the QR code."""
    record = record_of(user)
    if record is not None and record.enabled:
        raise DomainError(_l("Двухфакторный вход уже включён."))
    secret = pyotp.random_base32()
    if record is None:
        record = TwoFactor(user_id=user.id, secret_encrypted=_encrypt(secret),
                           created_at=now or utcnow())
        db.session.add(record)
    else:
        record.secret_encrypted, record.created_at = _encrypt(secret), now or utcnow()
    audit.record("2fa.enrolment_started", user, actor=user)
    db.session.flush()
    return secret


def confirm_enrolment(user: User, code, *, now: datetime | None = None) -> list[str]:
    """Enable two-factor login with the first code; returns the recovery codes (shown once)."""
    now = now or utcnow()
    record = record_of(user)
    if record is None:
        raise DomainError(_l("Сначала начните подключение: отсканируйте QR-код."))
    if record.enabled:
        raise DomainError(_l("Двухфакторный вход уже включён."))
    step = _totp_step(_decrypt(record.secret_encrypted), _clean(code), now, None)
    if step is None:
        audit.record("2fa.enrolment_refused", user, actor=user)
        raise CodeRefused(_l("Код не подходит. Проверьте время на телефоне и введите код ещё раз."))
    codes = [secrets.token_hex(5) for _ in range(RECOVERY_CODES)]
    record.confirmed_at, record.last_step = now, step
    record.recovery_hashes = [_hash(c) for c in codes]
    audit.record("2fa.enabled", user, actor=user)
    db.session.flush()
    return [f"{c[:5]}-{c[5:]}" for c in codes]


def disable(user: User, *, password, code, now: datetime | None = None) -> None:
    """Turn two-factor login off: needs the password and a current code (or a recovery code)."""
    from market.accounts.operations import check_password

    record = record_of(user)
    if record is None or not record.enabled:
        raise DomainError(_l("Двухфакторный вход не включён."))
    if not isinstance(password, str) or not check_password(user, password):
        audit.record("2fa.disable_refused", user, actor=user, reason="password")
        raise CodeRefused(_l("Пароль указан неверно."))
    try:
        check_code(user, code, now=now)
    except CodeRefused:
        audit.record("2fa.disable_refused", user, actor=user, reason="code")
        raise
    db.session.delete(record)
    audit.record("2fa.disabled", user, actor=user)
    db.session.flush()


# The second step of the login --------------------------------------------------------------------
def second_step(user: User, code, *, now: datetime | None = None) -> str:
    """Check the login code; a wrong one counts towards the lockout like a wrong password.

    :raise CodeRefused: the code is wrong (``locked`` set when the account got locked).
    """
    now = now or utcnow()
    cfg = current_app.config
    if user.locked_until and user.locked_until > now:
        exc = CodeRefused(_l("Слишком много неудачных попыток. Учётная запись временно "
                             "заблокирована."))
        exc.locked = True
        raise exc
    try:
        method = check_code(user, code, now=now)
    except CodeRefused as exc:
        user.failed_logins += 1
        audit.record("login.code_failed", user, actor=user, attempts=user.failed_logins)
        exc.locked = False
        if user.failed_logins >= cfg["LOCKOUT_THRESHOLD"]:
            user.locked_until = now + timedelta(minutes=cfg["LOCKOUT_MINUTES"])
            user.failed_logins = 0
            audit.record("account.locked", user, actor=user, minutes=cfg["LOCKOUT_MINUTES"])
            exc.locked = True
        db.session.flush()
        raise exc
    user.failed_logins = 0
    audit.record("login.code_accepted", user, actor=user, method=method)
    db.session.flush()
    return method
