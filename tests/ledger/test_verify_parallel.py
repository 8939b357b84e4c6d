"""The two-process verification (PostgreSQL): forced on a small, committed ledger with small
blocks, it gives the same answers as one process, and the first bad entry is the lowest one,
whichever half it is in. On SQLite the same calls take the one-process path."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from market.core.txn import commit
from market.extensions import db
from market.ledger import merkle, verify
from market.ledger.canonical import leaf_text
from market.ledger.models import LedgerEntry
from market.ledger.operations import append, publish
from market.ledger.verify import verify_ledger
from tests.conftest import is_postgres
from tests.ledger.conftest import TABLES


@pytest.fixture
def ledger(committed_app, monkeypatch):
    """23 committed entries, heads at 5, 8, 13, 16 and 23 (blocks of 4: the split is at 8,
    heads inside blocks of both halves); yields the list of halves the verifier split at."""
    monkeypatch.setattr(verify, "BLOCK", 4)
    splits = []
    real = verify._second_half

    def spy(limit, sizes, batch):
        started = real(limit, sizes, batch)
        splits.append(started[0])
        return started

    monkeypatch.setattr(verify, "_second_half", spy)
    with committed_app.app_context():
        n = 0
        for count in (5, 3, 5, 3, 7):
            for _ in range(count):
                append("org.verified", {"n": n, "name": f"Тест «{n}»"})
                n += 1
            publish()
            commit()
        yield splits
        db.session.remove()


def _tamper(sql: str, **params) -> None:
    if is_postgres():
        for table in TABLES:
            db.session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
    else:
        for table in TABLES:
            db.session.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_update"))
            db.session.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_delete"))
    db.session.execute(text(sql), params)
    commit()


def test_parallel_verify_passes_on_an_honest_ledger(ledger):
    for batch in (3, 100):
        report = verify_ledger(batch=batch, parallel_min=0)
        assert report.ok and (report.entries, report.heads) == (23, 5)
    assert ledger == ([8, 8] if is_postgres() else [])
    assert verify_ledger(parallel_min=100).ok and len(ledger) == (2 if is_postgres() else 0)


def test_first_bad_entry_in_either_half(ledger):
    _tamper("UPDATE ledger_entry SET payload = :p WHERE sequence = 17", p='{"n":0}')
    for batch in (3, 100):
        report = verify_ledger(batch=batch, parallel_min=0)
        assert report.problem.sequence == 17 and "leaf hash" in report.problem.message
        assert (report.entries, report.heads) == (17, 4)
    _tamper("UPDATE ledger_entry SET payload = :p WHERE sequence = 6", p='{"n":0}')
    for batch in (3, 100):
        report = verify_ledger(batch=batch, parallel_min=0)
        assert report.problem.sequence == 6 and "leaf hash" in report.problem.message
        assert (report.entries, report.heads) == (6, 1)
    assert ledger == ([8] * 4 if is_postgres() else [])


def test_gap_and_rewritten_entry_in_the_upper_half(ledger):
    _tamper("DELETE FROM ledger_entry WHERE sequence = 20")
    report = verify_ledger(parallel_min=0)
    assert report.problem.sequence == 20 and "gap" in report.problem.message
    assert (report.entries, report.heads) == (20, 4)
    entry = db.session.scalars(select(LedgerEntry).where(LedgerEntry.sequence == 14)).one()
    forged = '{"n":99}'
    leaf = leaf_text(14, "org.verified", entry.time, forged)
    _tamper("UPDATE ledger_entry SET payload = :p, leaf_hash = :h WHERE sequence = 14",
            p=forged, h=merkle.leaf_hash(leaf.encode()).hex())
    report = verify_ledger(parallel_min=0)
    assert report.problem.sequence is None and "first 16 entries" in report.problem.message
    assert (report.entries, report.heads) == (16, 3)
    assert ledger == ([8, 8] if is_postgres() else [])
