"""Row locks on PostgreSQL; SQLite serialises writers on its own."""

from __future__ import annotations

from sqlalchemy import inspect, select

from market.extensions import db


def lock_for_update(obj) -> None:
    """Lock obj's row (SELECT ... FOR UPDATE on PostgreSQL) and re-read it, so writers queue."""
    if db.engine.dialect.name == "postgresql":
        state = inspect(obj)
        pk = state.mapper.primary_key[0]
        db.session.execute(select(pk).where(pk == state.identity[0]).with_for_update())
        db.session.refresh(obj)
