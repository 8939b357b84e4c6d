"""Fixtures: app, database rolled back after each test, client, auth helper, guards."""

from __future__ import annotations

import contextvars
import os
import socket
import tempfile
import uuid

import pytest

# The instance folder (SQLite files, Huey's queue) of a test run is temporary.
os.environ.setdefault("QALDYQ_INSTANCE", tempfile.mkdtemp(prefix="qaldyq-test-"))

from flask import has_app_context
from flask.testing import FlaskClient
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from config import TestingConfig
from market import create_app
from market.extensions import db

PG_ADMIN_DB = "test"


def is_postgres() -> bool:
    return (os.environ.get("DATABASE_URL") or "").startswith("postgresql")


def pg_url(name: str) -> str:
    return make_url(os.environ["DATABASE_URL"]).set(database=name).render_as_string(False)


def create_database(label: str) -> tuple[str, callable]:
    """A fresh, empty database for this run: (url, drop)."""
    if is_postgres():
        name = f"qaldyq_{label}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        admin = create_engine(pg_url(PG_ADMIN_DB), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))

        def drop():
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

        return pg_url(name), drop
    path = os.path.join(tempfile.mkdtemp(prefix=f"qaldyq-{label}-"), "test.db")
    return f"sqlite:///{path}", lambda: None


def make_config(url: str, **extra) -> type[TestingConfig]:
    return type("RunConfig", (TestingConfig,), {"SQLALCHEMY_DATABASE_URI": url, **extra})


def prepare_database(app, *, demo: bool = False) -> None:
    """Migrate to head and load reference (and demo) data, committed."""
    from flask_migrate import upgrade

    from market.core.txn import commit
    from market.refdata.loader import load_all

    with app.app_context():
        upgrade()
        load_all()
        if demo:
            from market.demo.world import build_world

            build_world()
        commit()


@pytest.fixture
def committed_app():
    """An app on its own fresh, migrated database where commits are real (for concurrency)."""
    url, drop = create_database("commit")
    app = create_app(make_config(url))
    prepare_database(app)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    drop()


@pytest.fixture(scope="session")
def database_url():
    url, drop = create_database("test")
    yield url
    drop()


class IsolatedClient(FlaskClient):
    """Each request runs in its own app context (own `g`, own DB session), as in production.

    The test's own session shares the rolled-back connection; it is expired after each
    request so that the test sees what the request committed.
    """

    def open(self, *args, **kwargs):
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if has_app_context():
            db.session.expire_all()
        return response


@pytest.fixture(scope="session")
def app(database_url):
    app = create_app(make_config(database_url))
    app.test_client_class = IsolatedClient
    prepare_database(app)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


class BoundSession(FlaskSession):
    """Flask-SQLAlchemy picks the engine by bind key; this one keeps the test's connection."""

    def get_bind(self, *args, **kwargs):
        return self.bind if self.bind is not None else super().get_bind(*args, **kwargs)


@pytest.fixture
def session(app):
    """Each test runs in a transaction that is rolled back; commits become savepoints."""
    conn = db.engine.connect()
    outer = conn.begin()
    scoped = db._make_scoped_session(
        {"bind": conn, "join_transaction_mode": "create_savepoint", "class_": BoundSession})
    original = db.session
    db.session = scoped
    try:
        yield scoped
    finally:
        scoped.remove()
        db.session = original
        outer.rollback()
        conn.close()


@pytest.fixture
def client(app, session):
    return app.test_client()


class AuthActions:
    def __init__(self, client):
        self.client = client

    def login(self, email: str, password: str = "correct-horse-9", follow: bool = False):
        return self.client.post("/login", data={"email": email, "password": password},
                                follow_redirects=follow)

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture(autouse=True)
def _reset_limiter(app):
    from market.extensions import limiter

    limiter.reset()
    yield


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Fail any test that would send real e-mail or reach beyond this machine."""
    real_connect = socket.socket.connect

    def guarded_connect(sock, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (
            host.startswith("127.") or host in ("localhost", "::1") or host.startswith("/")
        ):
            raise RuntimeError(f"test tried to reach the network: {address!r}")
        return real_connect(sock, address)

    def no_smtp(*_a, **_k):
        raise RuntimeError("test tried to send real e-mail")

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr("smtplib.SMTP", no_smtp)
    monkeypatch.setattr("smtplib.SMTP_SSL", no_smtp)


@pytest.fixture
def mailbox():
    from market.core import mail

    mail.SENT.clear()
    yield mail.SENT
    mail.SENT.clear()


# factories -------------------------------------------------------------------------------
from tests.factories import *  # noqa: E402,F403
