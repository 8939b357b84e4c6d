"""The API tokens page: owner and managers issue (secret shown once, stored hashed) and revoke."""

import re

import pytest
from sqlalchemy import select

from market.api import tokens
from market.api.models import ApiToken
from market.core.models import AuditEvent
from market.extensions import db

SECRET = re.compile(r'value="(qdq_[A-Za-z0-9_-]+)"')


def _url(org) -> str:
    return f"/orgs/{org.id}/api-tokens"


def _tokens(org) -> list[ApiToken]:
    return db.session.scalars(select(ApiToken).where(ApiToken.organization_id == org.id)).all()


def _events(action) -> list[AuditEvent]:
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def _create(client, org, name="Интеграция с 1С", scopes=("registry:read", "registry:write")):
    return client.post(_url(org), data={"name": name, "scopes": list(scopes)})


def test_owner_issues_a_token_shown_once(auth, client, api, holder, owner, site):
    auth.login(owner.email)
    assert client.get(_url(holder)).status_code == 200
    r = _create(client, holder)
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "no-store"
    html = r.get_data(as_text=True)
    secret = SECRET.search(html).group(1)
    assert "только один раз" in html and "Копировать" in html
    (token,) = _tokens(holder)
    assert token.token_hash == tokens.hash_secret(secret)
    assert secret not in (token.token_hash, token.prefix) and secret.startswith(token.prefix)
    assert token.scopes == ["registry:read", "registry:write"] and token.created_by_id == owner.id
    (event,) = _events("api_token.created")
    assert event.actor_id == owner.id and event.organization_id == holder.id
    assert secret not in str(event.data)
    # never again: the list shows the prefix only
    listing = client.get(_url(holder)).get_data(as_text=True)
    assert secret not in listing and token.prefix in listing and "Интеграция с 1С" in listing
    # and the token works
    assert api.get("/api/v1/sites", secret).status_code == 200


def test_manager_may_manage_tokens(auth, client, holder, create_user, add_member):
    manager = create_user()
    add_member(holder, manager, "manager")
    auth.login(manager.email)
    assert client.get(_url(holder)).status_code == 200
    assert _create(client, holder, scopes=["registry:read"]).status_code == 200
    (token,) = _tokens(holder)
    assert token.scopes == ["registry:read"] and token.created_by_id == manager.id


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_members_and_viewers_cannot_manage_tokens(auth, client, holder, owner, create_user,
                                                  add_member, role):
    token, _secret = tokens.create_token(holder, actor=owner, name="T", scopes=["registry:read"])
    db.session.flush()
    user = create_user()
    add_member(holder, user, role)
    auth.login(user.email)
    assert client.get(_url(holder)).status_code == 403
    assert _create(client, holder).status_code == 403
    assert client.post(f"{_url(holder)}/{token.id}/revoke").status_code == 403
    assert len(_tokens(holder)) == 1 and token.revoked_at is None


def test_outsiders_and_anonymous(auth, client, holder, create_org):
    other = create_org()
    r = client.get(_url(holder))
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    auth.login(other.owners[0].user.email)
    assert client.get(_url(holder)).status_code == 403
    assert client.get("/orgs/999999/api-tokens").status_code == 404


def test_revoke(auth, client, api, holder, owner, site):
    token, secret = tokens.create_token(holder, actor=owner, name="Старый", scopes=["registry:read"])
    db.session.flush()
    assert api.get("/api/v1/sites", secret).status_code == 200
    auth.login(owner.email)
    page = client.get(_url(holder)).get_data(as_text=True)
    assert f"/api-tokens/{token.id}/revoke" in page and "confirm(" in page
    r = client.post(f"{_url(holder)}/{token.id}/revoke")
    assert r.status_code == 302 and r.headers["Location"].endswith(_url(holder))
    assert token.revoked_at is not None
    (event,) = _events("api_token.revoked")
    assert event.actor_id == owner.id and event.object_id == str(token.id)
    assert api.get("/api/v1/sites", secret).status_code == 401
    page = client.get(_url(holder)).get_data(as_text=True)
    assert "Отозван" in page and f"/api-tokens/{token.id}/revoke" not in page
    # twice: refused with a message, nothing changes
    r = client.post(f"{_url(holder)}/{token.id}/revoke", follow_redirects=True)
    assert "Токен уже отозван." in r.get_data(as_text=True)
    assert len(_events("api_token.revoked")) == 1


def test_token_of_another_organisation_is_404(auth, client, holder, owner, create_org):
    other = create_org()
    theirs, _ = tokens.create_token(other, actor=other.owners[0].user, name="Их",
                                    scopes=["registry:read"])
    db.session.flush()
    auth.login(owner.email)
    assert client.post(f"{_url(holder)}/{theirs.id}/revoke").status_code == 404
    assert theirs.revoked_at is None


@pytest.mark.parametrize(("name", "scopes"), [("", ["registry:read"]), ("Без прав", []),
                                              ("x" * 121, ["registry:read"]),
                                              ("Чужое право", ["admin:all"])])
def test_invalid_form(auth, client, holder, owner, name, scopes):
    auth.login(owner.email)
    r = _create(client, holder, name=name, scopes=scopes)
    assert r.status_code == 422
    assert "qdq_" not in r.get_data(as_text=True)
    assert _tokens(holder) == []


def test_operations_refuse_bad_input(holder, owner):
    from market.core.errors import DomainError

    with pytest.raises(DomainError):
        tokens.create_token(holder, actor=owner, name="  ", scopes=["registry:read"])
    with pytest.raises(DomainError):
        tokens.create_token(holder, actor=owner, name="T", scopes=["registry:delete"])
    with pytest.raises(DomainError):
        tokens.create_token(holder, actor=owner, name="T", scopes=[])


def test_operations_check_the_role(holder, create_user, add_member):
    from market.core.errors import PermissionDenied

    member = create_user()
    add_member(holder, member, "member")
    with pytest.raises(PermissionDenied):
        tokens.create_token(holder, actor=member, name="T", scopes=["registry:read"])
