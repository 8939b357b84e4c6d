"""Simultaneous records against one balance: never below zero (real parallel connections)."""

import threading
from datetime import date
from decimal import Decimal

import pytest

from market.accounts.models import User
from market.core.errors import DomainError
from market.core.txn import commit, rollback
from market.extensions import db
from market.registry.journal import check_balances, record
from market.registry.models import WasteRecord, WasteStream
from tests.conftest import is_postgres
from tests.factories import seed_holder

pytestmark = pytest.mark.skipif(not is_postgres(), reason="parallel writers need PostgreSQL")


def _setup(app):
    uid, _org_id, sid = seed_holder(app, 777)
    with app.app_context():
        record(db.session.get(WasteStream, sid), actor=db.session.get(User, uid), kind="generated",
               quantity="10", event_date=date(2026, 1, 1))
        commit()
    return uid, sid


def test_parallel_withdrawals_never_overdraw(committed_app):
    app = committed_app
    uid, sid = _setup(app)
    n = 12
    barrier = threading.Barrier(n)
    results = []

    def withdraw():
        with app.app_context():
            user = db.session.get(User, uid)
            stream = db.session.get(WasteStream, sid)
            _ = stream.organization.memberships, user.memberships  # load before the race
            barrier.wait()
            try:
                record(stream, actor=user, kind="transferred_out", quantity="2",
                       event_date=date(2026, 2, 1))
                commit()
                results.append("ok")
            except DomainError:
                rollback()
                results.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=withdraw) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == ["ok"] * 5 + ["refused"] * (n - 5)
    with app.app_context():
        stream = db.session.get(WasteStream, sid)
        assert stream.balance == Decimal("0")
        assert db.session.scalar(db.select(db.func.count(WasteRecord.id))) == 6
        assert check_balances() == []
