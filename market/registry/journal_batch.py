"""Many journal records of one stream in one go: the same rules as `journal.record`, batched.

The stream row is locked once (SELECT ... FOR UPDATE on PostgreSQL; SQLite's writer holds the
database), balances and FIFO layers are carried in memory record by record, and then the
records are inserted in one statement, the stream updated once and its layers rewritten.
Updating the stream row once instead of per record matters on PostgreSQL, where every update
in a long transaction leaves a row version that later lookups must walk past.
"""

from __future__ import annotations

import bisect
from datetime import date
from decimal import Decimal

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm.attributes import set_committed_value

from market.accounts.models import User
from market.core.timeutil import utcnow
from market.extensions import db
from market.registry.journal import _check_stream, _prepare, refusal
from market.registry.models import StockLayer, WasteRecord, WasteStream


def record_many(stream: WasteStream, entries: list[dict], *, actor: User, source: str = "import",
                import_id: int | None = None, today: date | None = None) -> int:
    """Append entries (dicts of `record`'s keyword arguments, in order); all or nothing.

    Corrections are not accepted here (they reference a record, one at a time).
    Raises the first refusal, as `record` would for that entry; returns how many were written.
    """
    _check_stream(stream, actor)
    table = WasteStream.__table__
    query = select(table.c.balance, table.c.reserved).where(table.c.id == stream.id)
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update()
    balance, reserved = db.session.execute(query).one()
    layers = {row.stock_date: row.remaining for row in db.session.scalars(
        select(StockLayer).where(StockLayer.stream_id == stream.id))}
    dates = sorted(layers)
    now = utcnow()
    rows = []
    for entry in entries:
        if entry.get("corrects") is not None or entry.get("kind") == "correction":
            raise ValueError("record_many does not take corrections")
        kind, qty, delta = _prepare(stream, kind=entry["kind"], quantity=entry["quantity"],
                                    event_date=entry["event_date"],
                                    operation_code=entry.get("operation_code"), today=today)
        if balance + delta < reserved:
            raise refusal(stream, balance, reserved, delta)
        balance += delta
        _carry_layers(layers, dates, delta, entry["event_date"])
        rows.append({
            "stream_id": stream.id, "organization_id": stream.organization_id,
            "site_id": stream.site_id, "kind": kind.value, "quantity": qty, "delta": delta,
            "balance_after": balance, "event_date": entry["event_date"], "entered_at": now,
            "entered_by_id": actor.id, "source": source,
            "operation_code": entry.get("operation_code") or None,
            "counterparty": (entry.get("counterparty") or "").strip() or None,
            "document": (entry.get("document") or "").strip() or None,
            "note": (entry.get("note") or "").strip() or None,
            "corrects_id": None, "idempotency_key": entry.get("idempotency_key"),
            "import_id": import_id,
        })
    if not rows:
        return 0
    db.session.execute(insert(WasteRecord.__table__), rows)
    oldest = dates[0] if dates else None
    db.session.execute(update(table).where(table.c.id == stream.id).values(
        balance=balance, oldest_stock_date=oldest,
        **({"must_offer_since": None} if oldest is None else {})))
    set_committed_value(stream, "balance", balance)
    set_committed_value(stream, "oldest_stock_date", oldest)
    if oldest is None:
        set_committed_value(stream, "must_offer_since", None)
    db.session.execute(delete(StockLayer).where(StockLayer.stream_id == stream.id))
    if dates:  # an empty parameter list would be an INSERT of one row of defaults
        db.session.execute(insert(StockLayer.__table__), [
            {"stream_id": stream.id, "stock_date": d, "remaining": layers[d]} for d in dates])
    db.session.expire_all()  # layer objects loaded earlier are gone
    return len(rows)


def _carry_layers(layers: dict, dates: list, delta: Decimal, day: date) -> None:
    """The same FIFO as journal._move_layers, on a dict and its sorted dates."""
    if delta > 0:
        if day in layers:
            layers[day] += delta
        else:
            layers[day] = delta
            bisect.insort(dates, day)
        return
    need = -delta
    while need > 0 and dates:
        first = dates[0]
        take = min(need, layers[first])
        need -= take
        if take == layers[first]:
            del layers[first]
            dates.pop(0)
        else:
            layers[first] -= take
