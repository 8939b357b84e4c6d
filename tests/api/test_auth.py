"""Bearer tokens: missing, garbage or revoked → 401; missing scope → 403; rate limit per token."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from market.api import tokens
from market.api.models import ApiToken
from market.core.timeutil import utcnow
from market.extensions import db


def _token_row(secret: str) -> ApiToken:
    return db.session.scalar(select(ApiToken).where(ApiToken.token_hash == tokens.hash_secret(secret)))


def test_missing_token_is_401_with_bearer_challenge(api, site):
    r = api.get("/api/v1/sites")
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert r.is_json
    body = r.get_json()
    assert body["code"] == 401 and body["status"] == "Unauthorized"
    assert "Authorization: Bearer" in body["message"]
    assert "Set-Cookie" not in r.headers


@pytest.mark.parametrize("header", [
    "Bearer qdq_" + "x" * 43,  # right shape, unknown
    "Bearer garbage",
    "Bearer ",
    "Bearer qdq_" + "я" * 40,
    "Bearer qdq_" + "x" * 300,
    "Basic dXNlcjpwYXNz",
    "qdq_abc",
])
def test_garbage_token_is_401(api, site, header):
    r = api.get("/api/v1/sites", headers={"Authorization": header})
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert r.get_json()["code"] == 401


def test_unknown_token_says_invalid_token(api, site):
    r = api.get("/api/v1/sites", "qdq_" + "x" * 43)
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]
    assert r.get_json()["message"] == "API-токен недействителен или отозван."


def test_revoked_token_is_401(api, token, owner):
    assert api.get("/api/v1/sites", token).status_code == 200
    tokens.revoke_token(_token_row(token), actor=owner)
    db.session.flush()
    r = api.get("/api/v1/sites", token)
    assert r.status_code == 401
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]


def test_read_only_token_cannot_write(api, make_token, stream):
    secret = make_token(scopes=["registry:read"])
    assert api.get(f"/api/v1/streams/{stream.id}", secret).status_code == 200
    r = api.post(f"/api/v1/streams/{stream.id}/records", secret,
                 json={"kind": "generated", "quantity": "1", "event_date": "2026-01-10"})
    assert r.status_code == 403
    assert 'error="insufficient_scope"' in r.headers["WWW-Authenticate"]
    assert "registry:write" in r.get_json()["message"]


def test_scope_is_checked_before_the_body(api, make_token, stream):
    secret = make_token(scopes=["registry:read"])
    r = api.post(f"/api/v1/streams/{stream.id}/records", secret, json={"nonsense": True})
    assert r.status_code == 403


def test_write_only_token_cannot_read(api, make_token, stream):
    secret = make_token(scopes=["registry:write"])
    assert api.get("/api/v1/streams", secret).status_code == 403
    r = api.post(f"/api/v1/streams/{stream.id}/records", secret,
                 json={"kind": "generated", "quantity": "1", "event_date": "2026-01-10"})
    assert r.status_code == 201


def test_session_cookie_is_not_a_credential(api, auth, owner, site):
    auth.login(owner.email)
    r = api.get("/api/v1/sites")
    assert r.status_code == 401


def test_only_the_hash_is_stored(token):
    row = _token_row(token)
    assert row is not None
    assert row.token_hash == tokens.hash_secret(token) != token
    assert row.prefix == token[:tokens.PREFIX_LENGTH] and token.startswith("qdq_")
    assert len(token) > 40


def test_last_used_at_is_updated_at_most_once_a_minute(api, token):
    row = _token_row(token)
    assert row.last_used_at is None
    api.get("/api/v1/sites", token)
    first = _token_row(token).last_used_at
    assert first is not None and utcnow() - first < timedelta(seconds=30)
    api.get("/api/v1/sites", token)
    assert _token_row(token).last_used_at == first  # not rewritten within the minute
    row = _token_row(token)
    row.last_used_at = utcnow() - timedelta(minutes=5)
    db.session.flush()
    api.get("/api/v1/sites", token)
    assert _token_row(token).last_used_at > first


def test_csrf_does_not_apply_to_the_api(app, api, client, token, stream, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    r = api.post(f"/api/v1/streams/{stream.id}/records", token,
                 json={"kind": "generated", "quantity": "1", "event_date": "2026-01-10"})
    assert r.status_code == 201, r.get_json()
    # ... while the web forms are still protected
    assert client.post("/login", data={"email": "x@example.kz", "password": "x"}).status_code == 400


def test_rate_limit_per_token(app, api, make_token, site, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "3 per minute")
    first, second = make_token(name="A"), make_token(name="B")
    for _ in range(3):
        assert api.get("/api/v1/sites", first).status_code == 200
    r = api.get("/api/v1/sites", first)
    assert r.status_code == 429
    assert r.is_json and r.get_json()["code"] == 429
    assert "Retry-After" in r.headers
    # shared by every endpoint of the token
    assert api.get("/api/v1/streams", first).status_code == 429
    # another token has its own allowance
    assert api.get("/api/v1/sites", second).status_code == 200
