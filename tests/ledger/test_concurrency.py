"""Parallel appends on PostgreSQL (real connections, real commits): sequences stay gapless and
unique, and the ledger verifies. Without the lock two writers would take the same sequence."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from market.core.txn import commit, rollback
from market.extensions import db
from market.ledger.models import LedgerEntry
from market.ledger.operations import append, publish
from market.ledger.verify import verify_ledger
from tests.conftest import is_postgres

pytestmark = pytest.mark.skipif(not is_postgres(), reason="parallel writers need PostgreSQL")

THREADS, EACH = 6, 5


def test_parallel_appends_are_gapless(committed_app):
    app = committed_app
    barrier = threading.Barrier(THREADS)
    errors = []

    def writer(n):
        with app.app_context():
            try:
                barrier.wait()
                for i in range(EACH):
                    append("org.verified", {"writer": n, "i": i})
                    time.sleep(0.01)  # hold the lock a while: the others must queue
                    commit()
            except Exception as exc:
                errors.append(exc)
                rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with app.app_context():
        seqs = db.session.scalars(select(LedgerEntry.sequence).order_by(LedgerEntry.sequence)).all()
        assert seqs == list(range(THREADS * EACH))
        assert publish().size == THREADS * EACH
        commit()
        assert verify_ledger().ok
        db.session.remove()


def test_two_appends_at_once_queue_on_the_lock(committed_app):
    """The second writer waits until the first commits, then takes the next sequence."""
    app = committed_app
    first_in = threading.Event()
    got = {}

    def first():
        with app.app_context():
            got["first"] = append("org.verified", {"who": "first"}).sequence
            first_in.set()
            time.sleep(0.3)
            commit()
            db.session.remove()

    def second():
        with app.app_context():
            first_in.wait()
            started = time.perf_counter()
            got["second"] = append("org.verified", {"who": "second"}).sequence
            got["waited"] = time.perf_counter() - started
            commit()
            db.session.remove()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (got["first"], got["second"]) == (0, 1)
    assert got["waited"] > 0.2
