"""Row locks on PostgreSQL; SQLite serialises writers on its own."""

from __future__ import annotations

from market.extensions import db


def lock_for_update(obj) -> None:
    """Re-read obj under SELECT ... FOR UPDATE (PostgreSQL) so concurrent writers queue."""
    if db.engine.dialect.name == "postgresql":
        db.session.refresh(obj, with_for_update=True)
