"""Fixtures of the ledger tests: filling the ledger, tampering past the append-only triggers."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from market.extensions import db
from market.ledger.operations import append
from tests.auctions.conftest import bidder, make_lot, stocked  # noqa: F401  (fixtures)

TABLES = ("ledger_entry", "ledger_tree_head")


@pytest.fixture
def fill(session):
    """fill(n) appends n entries (kind org.verified, payload {"n": i}); returns them."""

    def make(n: int, start: int = 0):
        return [append("org.verified", {"n": start + i, "name": f"Тест «{start + i}»"})
                for i in range(n)]

    return make


@pytest.fixture
def unguarded(session):
    """Switch the append-only triggers off inside the test's transaction (rolled back after):
    what an attacker with database access could do."""

    def off():
        db.session.flush()
        if db.engine.dialect.name == "postgresql":
            for table in TABLES:
                db.session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        else:
            for table in TABLES:
                db.session.execute(text(f"DROP TRIGGER {table}_no_update"))
                db.session.execute(text(f"DROP TRIGGER {table}_no_delete"))

    return off
