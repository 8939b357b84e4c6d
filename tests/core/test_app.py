"""Configuration, error pages, CSRF, cookies."""

import pytest

from config import Config, ProductionConfig, TestingConfig
from market import create_app
from tests.conftest import make_config


def test_production_refuses_default_secret(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://x@127.0.0.1/x")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(ProductionConfig)


def test_production_refuses_missing_database(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "k" * 40)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(RuntimeError, match="DATABASE_URL"):
        create_app(ProductionConfig)


def test_production_cookies_are_secure():
    assert ProductionConfig.SESSION_COOKIE_SECURE and ProductionConfig.REMEMBER_COOKIE_SECURE
    assert Config.SESSION_COOKIE_HTTPONLY and Config.SESSION_COOKIE_SAMESITE == "Lax"


def test_csrf_required_on_forms(database_url, session):
    app = create_app(make_config(database_url, WTF_CSRF_ENABLED=True))
    client = app.test_client()
    r = client.post("/login", data={"email": "a@b.kz", "password": "x"})
    assert r.status_code == 400
    assert "Форма устарела" in r.get_data(as_text=True)


@pytest.mark.parametrize("lang,text", [("ru", "Страница не найдена"), ("kk", "Бет табылмады"),
                                       ("en", "Page not found")])
def test_404_in_users_language(client, lang, text):
    r = client.get(f"/no-such-page?lang={lang}")
    assert r.status_code == 404
    assert text in r.get_data(as_text=True)


def test_500_page_is_friendly(database_url, session):
    app = create_app(make_config(database_url, TESTING=False, PROPAGATE_EXCEPTIONS=False))

    @app.get("/boom")
    def boom():
        raise ValueError("boom")

    r = app.test_client().get("/boom")
    assert r.status_code == 500 and "Ошибка на сервере" in r.get_data(as_text=True)


def test_testing_config_is_isolated():
    assert TestingConfig.TESTING and TestingConfig.HUEY_IMMEDIATE
