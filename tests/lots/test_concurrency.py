"""Two lots published at the same moment against one balance never exceed it."""

import threading
from datetime import date
from decimal import Decimal

import pytest

from market.accounts.models import Organization, User
from market.core.errors import DomainError
from market.core.txn import commit, rollback
from market.extensions import db
from market.lots.models import Lot
from market.lots.operations import create_lot, publish_lot
from market.registry.journal import record
from market.registry.models import WasteStream
from tests.conftest import is_postgres
from tests.factories import seed_holder

pytestmark = pytest.mark.skipif(not is_postgres(), reason="parallel writers need PostgreSQL")


def test_simultaneous_publications_respect_the_balance(committed_app):
    app = committed_app
    uid, org_id, sid = seed_holder(app, 779)
    n = 8
    with app.app_context():
        user, org = db.session.get(User, uid), db.session.get(Organization, org_id)
        stream = db.session.get(WasteStream, sid)
        record(stream, actor=user, kind="generated", quantity="100", event_date=date(2026, 1, 1))
        lot_ids = [create_lot(org, actor=user, stream=stream, title=f"Лот {i}", quantity="30",
                              pricing_mode="free").id for i in range(n)]
        commit()
    barrier = threading.Barrier(n)
    results = []

    def publish(lot_id):
        with app.app_context():
            lot = db.session.get(Lot, lot_id)
            user = db.session.get(User, uid)
            _ = lot.organization.memberships, lot.stream, user.memberships
            barrier.wait()
            try:
                publish_lot(lot, actor=user)
                commit()
                results.append("ok")
            except DomainError:
                rollback()
                results.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=publish, args=(i,)) for i in lot_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results.count("ok") == 3 and results.count("refused") == n - 3
    with app.app_context():
        stream = db.session.get(WasteStream, sid)
        assert stream.reserved == Decimal("90")
        published = db.session.scalars(db.select(Lot).where(Lot.state == "published")).all()
        assert sum(x.quantity for x in published) == stream.reserved <= stream.balance
