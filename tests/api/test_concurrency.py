"""Two retries with one Idempotency-Key at the same moment: one record (real parallel connections)."""

import threading
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from market.accounts.models import Organization, User
from market.api import idempotency, tokens
from market.api.models import IdempotencyRecord
from market.core.txn import commit
from market.extensions import db
from market.registry.journal import record
from market.registry.models import WasteRecord, WasteStream
from tests.conftest import is_postgres
from tests.factories import seed_holder

pytestmark = pytest.mark.skipif(not is_postgres(), reason="parallel writers need PostgreSQL")

BODY = {"kind": "generated", "quantity": "2.5", "event_date": "2026-01-10"}


def _setup(app):
    uid, org_id, sid = seed_holder(app, 778)
    with app.app_context():
        user, org = db.session.get(User, uid), db.session.get(Organization, org_id)
        record(db.session.get(WasteStream, sid), actor=user, kind="generated", quantity="10",
               event_date=date(2026, 1, 1))
        _token, secret = tokens.create_token(org, actor=user, name="T",
                                             scopes=["registry:read", "registry:write"])
        commit()
        return sid, secret


@pytest.mark.parametrize("same_body", [True, False])
def test_parallel_retries_write_once(committed_app, monkeypatch, same_body):
    app = committed_app
    sid, secret = _setup(app)
    n = 2
    barrier = threading.Barrier(n)
    local = threading.local()
    real = idempotency.replay
    lookups = []

    def racing_lookup(*args):
        lookups.append(args)
        result = real(*args)
        if not getattr(local, "waited", False):
            local.waited = True
            barrier.wait(30)  # both have missed the stored answer before either writes
        return result

    monkeypatch.setattr(idempotency, "replay", racing_lookup)
    results = []

    def post(i):
        body = BODY if same_body or i == 0 else {**BODY, "quantity": "7"}
        r = app.test_client().post(f"/api/v1/streams/{sid}/records", json=body, headers={
            "Authorization": f"Bearer {secret}", "Idempotency-Key": "parallel-1"})
        results.append((r.status_code, r.get_json()))

    threads = [threading.Thread(target=post, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == n
    assert len(lookups) == 3  # both missed; the loser hit the unique key and looked again
    with app.app_context():
        recs = db.session.scalars(select(WasteRecord).where(
            WasteRecord.idempotency_key == "parallel-1")).all()
        assert len(recs) == 1
        assert db.session.scalar(select(func.count(IdempotencyRecord.id))) == 1
        balance = db.session.get(WasteStream, sid).balance
    statuses = sorted(status for status, _ in results)
    if same_body:
        assert statuses == [201, 201], results
        assert {body["id"] for _, body in results} == {recs[0].id}
        assert balance == Decimal("12.500")
    else:
        assert statuses == [201, 422], results
        assert balance in (Decimal("12.500"), Decimal("17.000"))
