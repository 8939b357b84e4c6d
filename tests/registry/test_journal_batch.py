"""record_many writes exactly what the same records one by one would."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from market.core.errors import DomainError
from market.extensions import db
from market.registry.journal import check_balances, record
from market.registry.journal_batch import record_many
from market.registry.models import StockLayer, WasteRecord

TODAY = date(2026, 11, 25)
OPS = {"processed": "R4", "disposed": "D5"}
entry = st.tuples(st.sampled_from(["generated", "received", "transferred_out", "processed",
                                   "disposed"]),
                  st.decimals(min_value=Decimal("0.001"), max_value=Decimal("50"), places=3),
                  st.integers(min_value=0, max_value=300))


def _state(stream):
    records = db.session.execute(db.select(WasteRecord.kind, WasteRecord.quantity, WasteRecord.delta,
                                           WasteRecord.balance_after, WasteRecord.event_date)
                                 .where(WasteRecord.stream_id == stream.id)
                                 .order_by(WasteRecord.id)).all()
    layers = db.session.execute(db.select(StockLayer.stock_date, StockLayer.remaining)
                                .where(StockLayer.stream_id == stream.id)
                                .order_by(StockLayer.stock_date)).all()
    db.session.refresh(stream)
    return [tuple(r) for r in records], [tuple(x) for x in layers], stream.balance, stream.oldest_stock_date


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.lists(entry, min_size=1, max_size=20))
def test_batch_equals_one_by_one(make_stream, owner, entries):
    items = [{"kind": k, "quantity": q, "event_date": TODAY - timedelta(days=d),
              "operation_code": OPS.get(k)} for k, q, d in entries]
    one = make_stream(name="один")
    many = make_stream(name="пакет")
    nested = db.session.begin_nested()
    try:
        ok_one = True
        try:
            for it in items:
                record(one, actor=owner, today=TODAY, **it)
        except DomainError:
            ok_one = False
        try:
            with db.session.begin_nested():
                record_many(many, items, actor=owner, today=TODAY, source="form")
            ok_many = True
        except DomainError:
            ok_many = False
        assert ok_one == ok_many
        if ok_one:
            a, b = _state(one), _state(many)
            assert a[0] == b[0] and a[1] == b[1] and a[2] == b[2] and a[3] == b[3]
            assert check_balances() == []
    finally:
        nested.rollback()
        db.session.expire_all()


def test_batch_refusal_is_all_or_nothing(make_stream, owner):
    s = make_stream()
    items = [{"kind": "generated", "quantity": "5", "event_date": TODAY},
             {"kind": "transferred_out", "quantity": "6", "event_date": TODAY}]
    with pytest.raises(DomainError, match="отрицательным"), db.session.begin_nested():
        record_many(s, items, actor=owner, today=TODAY)
    db.session.refresh(s)
    assert s.balance == 0
    assert db.session.scalar(db.select(db.func.count(WasteRecord.id))) == 0


def test_batch_that_empties_the_stock_leaves_no_layers(make_stream, owner):
    stream = make_stream(name="в ноль")
    items = [{"kind": "generated", "quantity": "5", "event_date": TODAY - timedelta(days=3)},
             {"kind": "processed", "quantity": "5", "event_date": TODAY, "operation_code": "R5"}]
    record_many(stream, items, actor=owner, today=TODAY, source="form")
    db.session.flush()
    assert stream.balance == 0 and stream.oldest_stock_date is None
    assert db.session.scalars(select(StockLayer).where(StockLayer.stream_id == stream.id)).all() == []
