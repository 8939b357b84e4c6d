"""Two publications of one draft at the same moment (real parallel connections): one reserve."""

import threading
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from market.accounts.models import Organization, User
from market.api import lots as api_lots
from market.api import tokens
from market.core.txn import commit
from market.extensions import db
from market.lots.models import Lot, LotEvent
from market.lots.operations import create_lot
from market.registry.journal import record
from market.registry.models import WasteStream
from tests.conftest import is_postgres
from tests.factories import seed_holder

pytestmark = pytest.mark.skipif(not is_postgres(), reason="parallel writers need PostgreSQL")


def _setup(app):
    uid, org_id, sid = seed_holder(app, 779)
    with app.app_context():
        user, org = db.session.get(User, uid), db.session.get(Organization, org_id)
        stream = db.session.get(WasteStream, sid)
        record(stream, actor=user, kind="generated", quantity="10", event_date=date(2026, 1, 1))
        lot = create_lot(org, actor=user, stream=stream, title="Шлак", quantity="4",
                         pricing_mode="fixed", price=100_000)
        _token, secret = tokens.create_token(org, actor=user, name="T", scopes=["lots:write"])
        commit()
        return sid, lot.id, secret


@pytest.mark.parametrize("key", [None, "publish-once"])
def test_parallel_publications_reserve_once(committed_app, monkeypatch, key):
    app = committed_app
    sid, lot_id, secret = _setup(app)
    n = 2
    barrier = threading.Barrier(n)
    real = api_lots.lock_for_update

    def racing_lock(obj):
        barrier.wait(30)  # both have loaded the draft before either locks it
        real(obj)

    monkeypatch.setattr(api_lots, "lock_for_update", racing_lock)
    results = []

    def post():
        headers = {"Authorization": f"Bearer {secret}"}
        if key:
            headers["Idempotency-Key"] = key
        r = app.test_client().post(f"/api/v1/lots/{lot_id}/publish", headers=headers)
        results.append((r.status_code, r.get_json()))

    threads = [threading.Thread(target=post) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == n
    statuses = sorted(status for status, _ in results)
    with app.app_context():
        assert db.session.get(WasteStream, sid).reserved == Decimal("4.000")
        assert db.session.get(Lot, lot_id).state == "published"
        assert db.session.scalar(select(func.count(LotEvent.id)).where(
            LotEvent.lot_id == lot_id, LotEvent.kind == "published")) == 1
    if key:
        assert statuses == [200, 200], results
        assert results[0][1] == results[1][1]
    else:
        assert statuses == [200, 409], results
