"""API tokens: issue (the secret is shown once), look up by SHA-256, revoke.

A token is `qdq_` followed by 43 URL-safe random characters (256 bits). Only its SHA-256
is stored; the first characters (`prefix`) are kept in clear to tell tokens apart in the
list and to key the rate limit. A token acts for its organisation; the user who issued it
is the actor of the writes it makes.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update

from market.accounts.models import Organization, OrgRole, User
from market.api.models import SCOPES, ApiToken
from market.core import audit
from market.core.errors import DomainError, PermissionDenied
from market.core.timeutil import utcnow
from market.extensions import db

TOKEN_PREFIX = "qdq_"  # noqa: S105 (the public marker of our tokens, not a secret)
PREFIX_LENGTH = len(TOKEN_PREFIX) + 8  # "qdq_" + 8 random characters, shown in the list
MAX_TOKEN_LENGTH = 200  # anything longer is garbage, refused before hashing
TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is written at most once a minute

SCOPE_LABELS = {
    "registry:read": _l("Чтение реестра: площадки, потоки, остатки, журнал"),
    "registry:write": _l("Запись в журнал отходов"),
    "lots:write": _l("Лоты биржи: создание, публикация и снятие, чтение своих черновиков"),
    "bids:write": _l("Ставки и покупки на бирже от имени организации: подача и отзыв"),
}


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def looks_like_token(secret: str | None) -> bool:
    return bool(secret and secret.startswith(TOKEN_PREFIX)
                and PREFIX_LENGTH < len(secret) <= MAX_TOKEN_LENGTH and secret.isascii())


def can_manage_tokens(user, org: Organization) -> bool:
    """Owners and managers of the organisation."""
    return bool(user and user.is_authenticated and user.has_org_role(org, OrgRole.manager))


def can_write_with(token: ApiToken, user: User | None) -> bool:
    """The token's creator must still be an active member (not a viewer) of its organisation."""
    return bool(user and user.active and user.has_org_role(token.organization, OrgRole.member))


def create_token(org: Organization, *, actor: User, name: str, scopes) -> tuple[ApiToken, str]:
    """Issue a token; returns it and the secret, which is never stored and never shown again."""
    if not can_manage_tokens(actor, org):
        raise PermissionDenied(_l("Токены API выпускают владелец и менеджеры организации."))
    name = (name or "").strip()
    if not name:
        raise DomainError(_l("Укажите название токена."))
    if len(name) > 120:
        raise DomainError(_l("Название токена — не длиннее 120 символов."))
    scopes = sorted(set(scopes or []))
    if not scopes:
        raise DomainError(_l("Выберите хотя бы одно право токена."))
    if not set(scopes) <= set(SCOPES):
        raise DomainError(_l("Неизвестное право токена."))
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(organization_id=org.id, name=name, prefix=secret[:PREFIX_LENGTH],
                     token_hash=hash_secret(secret), scopes=scopes, created_by_id=actor.id)
    db.session.add(token)
    db.session.flush()
    audit.record("api_token.created", token, actor=actor, organization=org, name=name,
                 prefix=token.prefix, scopes=scopes)
    return token, secret


def revoke_token(token: ApiToken, *, actor: User) -> None:
    """Refuse every later request with this token (cannot be undone)."""
    if not can_manage_tokens(actor, token.organization):
        raise PermissionDenied(_l("Токены API отзывают владелец и менеджеры организации."))
    if token.revoked_at is not None:
        raise DomainError(_l("Токен уже отозван."))
    token.revoked_at = utcnow()
    db.session.flush()
    audit.record("api_token.revoked", token, actor=actor, organization=token.organization,
                 name=token.name, prefix=token.prefix)


def find_active(secret: str | None) -> ApiToken | None:
    """The active token with this secret, or None (unknown, revoked or malformed)."""
    if not looks_like_token(secret):
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_secret(secret)))
    if token is None or token.revoked_at is not None:
        return None
    return token


def touch(token: ApiToken) -> bool:
    """Record the use, at most once per TOUCH_EVERY (one conditional UPDATE); True if written."""
    now = utcnow()
    if token.last_used_at is not None and now - token.last_used_at < TOUCH_EVERY:
        return False
    result = db.session.execute(
        update(ApiToken)
        .where(ApiToken.id == token.id,
               or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now - TOUCH_EVERY))
        .values(last_used_at=now)
        .execution_options(synchronize_session=False))
    return bool(result.rowcount)
