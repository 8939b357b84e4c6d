"""Bearer-token authentication of API requests (never cookies) and the per-token rate limit."""

from __future__ import annotations

from flask import current_app, g, request
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from flask_smorest import abort

from market.accounts.models import Organization, User
from market.api import tokens
from market.api.models import ApiToken
from market.core.txn import commit
from market.extensions import db

REALM = 'Bearer realm="Qaldyq API"'
READ_METHODS = {"GET", "HEAD", "OPTIONS"}


def bearer_secret() -> str | None:
    """The token from `Authorization: Bearer <token>`, or None."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def rate_limit_key() -> str:
    """Per token (by its public prefix); per address for requests without a usable token."""
    secret = bearer_secret()
    if tokens.looks_like_token(secret):
        return "api-token:" + secret[:tokens.PREFIX_LENGTH]
    return "api-ip:" + (get_remote_address() or "-")


def rate_limit() -> str:
    return current_app.config["API_RATE_LIMIT"]


def required_scope() -> str:
    """Reading needs registry:read, anything else registry:write."""
    return "registry:read" if request.method in READ_METHODS else "registry:write"


def authenticate() -> None:
    """before_request of the API blueprint: 401 without a valid token, 403 without the scope."""
    secret = bearer_secret()
    if secret is None:
        abort(401, message=_l("Нужен API-токен: заголовок «Authorization: Bearer <токен>»."),
              headers={"WWW-Authenticate": REALM})
    token = tokens.find_active(secret)
    if token is None:
        abort(401, message=_l("API-токен недействителен или отозван."),
              headers={"WWW-Authenticate": f'{REALM}, error="invalid_token"'})
    scope = required_scope()
    if scope not in (token.scopes or []):
        abort(403, message=_l("У токена нет права «%(scope)s».", scope=scope),
              headers={"WWW-Authenticate": f'{REALM}, error="insufficient_scope", scope="{scope}"'})
    if tokens.touch(token):
        commit()  # a tiny transaction of its own, at most once a minute per token
    g.api_token = token


def current_token() -> ApiToken:
    return g.api_token


def current_org() -> Organization:
    return current_token().organization


def acting_user() -> User | None:
    """The token's creator: the actor of its writes and of their audit trail."""
    token = current_token()
    return db.session.get(User, token.created_by_id) if token.created_by_id else None
