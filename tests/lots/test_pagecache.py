"""The public search page served from the short-lived cache of anonymous pages."""

import re

import pytest

from market.core import pagecache


@pytest.fixture
def cached(app, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_CACHE_SECONDS", 30)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    pagecache.PAGES.clear()
    yield
    pagecache.PAGES.clear()


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_second_anonymous_visitor_gets_the_cached_page_with_its_own_token(app, session, market,
                                                                           cached):
    first, second = app.test_client(), app.test_client()
    page = first.get("/lots/?q=шлак")
    assert page.status_code == 200 and "X-Page-Cache" not in page.headers
    again = second.get("/lots/?q=шлак")
    assert again.headers.get("X-Page-Cache") == "hit"
    html = again.get_data(as_text=True)
    assert "Шлак медеплавильный" in html and pagecache.TOKEN_SLOT not in html
    assert _token(html) != _token(page.get_data(as_text=True))
    # The token served from the cache is the visitor's own: the language switch accepts it.
    switched = second.post("/language", data={"lang": "kk", "next": "/lots/?q=шлак",
                                              "csrf_token": _token(html)})
    assert switched.status_code == 302
    # ... and the Kazakh page is not the Russian one from the cache.
    kk = second.get("/lots/?q=шлак")
    assert "X-Page-Cache" not in kk.headers and '<html lang="kk">' in kk.get_data(as_text=True)


def test_other_query_strings_are_other_pages(app, session, market, cached):
    client = app.test_client()
    client.get("/lots/?q=шлак")
    other = client.get("/lots/?q=зола")
    assert "X-Page-Cache" not in other.headers
    assert "Зола-унос ТЭЦ" in other.get_data(as_text=True)


def test_logged_in_users_always_get_a_fresh_page(app, session, market, cached, owner):
    anonymous = app.test_client()
    anonymous.get("/lots/")
    client = app.test_client()
    client.post("/login", data={"email": owner.email, "password": "correct-horse-9",
                                "csrf_token": _login_token(client)})
    page = client.get("/lots/")
    assert page.status_code == 200 and "X-Page-Cache" not in page.headers


def _login_token(client) -> str:
    return _token(client.get("/login").get_data(as_text=True))


def test_pages_expire_after_their_time_to_live(app, session, market, cached, monkeypatch):
    client = app.test_client()
    client.get("/lots/")
    assert client.get("/lots/").headers.get("X-Page-Cache") == "hit"
    now = pagecache.time.monotonic()
    monkeypatch.setattr(pagecache.time, "monotonic", lambda: now + 31)
    assert "X-Page-Cache" not in client.get("/lots/").headers


def test_nothing_is_cached_when_disabled(app, session, market):
    pagecache.PAGES.clear()
    client = app.test_client()
    client.get("/lots/")
    assert "X-Page-Cache" not in client.get("/lots/").headers


def test_a_remember_me_cookie_is_not_anonymous(app, session, market, cached):
    app.test_client().get("/lots/")
    client = app.test_client()
    client.set_cookie("remember_token", "someone")
    assert "X-Page-Cache" not in client.get("/lots/").headers


def test_a_waiting_message_is_shown_not_cached(app, session, market, cached):
    app.test_client().get("/lots/")
    client = app.test_client()
    with client.session_transaction() as s:
        s["_flashes"] = [("info", "Сообщение для этого посетителя")]
    page = client.get("/lots/")
    assert "X-Page-Cache" not in page.headers
    assert "Сообщение для этого посетителя" in page.get_data(as_text=True)
    assert "Сообщение для этого посетителя" not in app.test_client().get("/lots/").get_data(
        as_text=True)
