"""API fixtures: a holder organisation with a site and streams, tokens, a JSON client helper."""

from __future__ import annotations

from datetime import date

import pytest

from market.api import tokens
from market.extensions import db
from market.registry import operations as ops
from market.registry.journal import record

ALL_SCOPES = ("registry:read", "registry:write")


@pytest.fixture
def stream(make_stream, owner):
    s = make_stream()
    record(s, actor=owner, kind="generated", quantity="10", event_date=date(2026, 1, 5))
    return s


@pytest.fixture
def make_token(owner, holder):
    """Issue a token (flushed into the test's transaction); returns its secret."""
    def make(org=None, *, actor=None, scopes=ALL_SCOPES, name="Интеграция") -> str:
        _token, secret = tokens.create_token(org or holder, actor=actor or owner, name=name,
                                             scopes=list(scopes))
        db.session.flush()
        return secret
    return make


@pytest.fixture
def token(make_token):
    return make_token()


@pytest.fixture
def other_org(create_org):
    """Another organisation with a site and a stream of its own."""
    org = create_org(kinds=("holder",))
    boss = org.owners[0].user
    site = ops.create_site(org, actor=boss, name="Чужая площадка", kind="storage",
                           region_kato="350000000", address="г. Темиртау")
    s = ops.create_stream(site, actor=boss, waste_code="100201", name="Чужой шлак",
                          physical_state="solid", storage_purpose="recovery")
    record(s, actor=boss, kind="generated", quantity="5", event_date=date(2026, 1, 5))
    return org, site, s


class Api:
    """JSON requests with a bearer token."""

    def __init__(self, client):
        self.client = client

    def request(self, method, url, token=None, *, json=None, headers=None, lang=None, **kwargs):
        headers = dict(headers or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if lang:
            headers["Accept-Language"] = lang
        return self.client.open(url, method=method, json=json, headers=headers, **kwargs)

    def get(self, url, token=None, **kwargs):
        return self.request("GET", url, token, **kwargs)

    def post(self, url, token=None, **kwargs):
        return self.request("POST", url, token, **kwargs)


@pytest.fixture
def api(client):
    return Api(client)
