"""The journal: arithmetic, refusals, corrections, passports, append-only storage."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from market.core.errors import DomainError, PermissionDenied
from market.extensions import db
from market.registry import operations as ops
from market.registry.journal import check_balances, journal_sum, record
from market.registry.models import StockLayer, WasteRecord

D = Decimal
TODAY = date(2026, 11, 25)


def rec(stream, owner, kind, qty, day=TODAY, **kw):
    return record(stream, actor=owner, kind=kind, quantity=qty, event_date=day, today=TODAY, **kw)


def test_balance_follows_the_journal(stream, owner):
    rec(stream, owner, "generated", "100.5")
    rec(stream, owner, "received", "20,25")
    rec(stream, owner, "transferred_out", "30")
    rec(stream, owner, "processed", "0.75", operation_code="R5")
    rec(stream, owner, "disposed", "10", operation_code="D1")
    assert stream.balance == D("80.000")
    assert journal_sum(stream.id) == stream.balance
    assert check_balances() == []


def test_overdraw_is_refused_with_a_clear_message(stream, owner):
    rec(stream, owner, "generated", "5")
    with pytest.raises(DomainError) as err:
        rec(stream, owner, "transferred_out", "5.001")
    assert "отрицательным" in str(err.value) and "5,000" in str(err.value)
    assert stream.balance == D("5")
    assert db.session.scalar(db.select(db.func.count(WasteRecord.id))) == 1


@pytest.mark.parametrize("qty,message", [
    ("0", "больше нуля"), ("-3", "больше нуля"), ("abc", "числом"), ("1.0001", "трёх знаков"),
    ("NaN", "числом"), ("2000000000", "Слишком большое"),
])
def test_bad_quantities(stream, owner, qty, message):
    with pytest.raises(DomainError, match=message):
        rec(stream, owner, "generated", qty)


def test_dates_and_operation_codes(stream, owner):
    with pytest.raises(DomainError, match="будущем"):
        rec(stream, owner, "generated", "1", day=TODAY + timedelta(days=1))
    rec(stream, owner, "generated", "10")
    with pytest.raises(DomainError, match="R1–R13"):
        rec(stream, owner, "processed", "1")
    with pytest.raises(DomainError, match="R1–R13"):
        rec(stream, owner, "processed", "1", operation_code="D10")
    with pytest.raises(DomainError, match="D1–D15"):
        rec(stream, owner, "disposed", "1", operation_code="R4")
    with pytest.raises(DomainError, match="только для переработки"):
        rec(stream, owner, "generated", "1", operation_code="R4")


def test_correction_references_and_reconciles(stream, owner):
    wrong = rec(stream, owner, "generated", "100")
    fix = rec(stream, owner, "correction", "10", corrects=wrong, increase=False,
              note="Ошибка взвешивания")
    assert fix.delta == D("-10") and stream.balance == D("90")
    assert db.session.get(WasteRecord, wrong.id).quantity == D("100")  # the original stays
    with pytest.raises(DomainError, match="почему"):
        rec(stream, owner, "correction", "1", corrects=wrong, increase=True)
    with pytest.raises(DomainError, match="ссылаться"):
        rec(stream, owner, "correction", "1", increase=True, note="x")
    with pytest.raises(DomainError, match="отрицательным"):
        rec(stream, owner, "correction", "91", corrects=wrong, increase=False, note="x")


def test_hazardous_stream_needs_a_passport(make_stream, owner):
    s = make_stream(code="100207", hps=["HP14"])
    with pytest.raises(DomainError, match="паспорт"):
        rec(s, owner, "generated", "1")
    ops.save_passport(s, actor=owner, composition="c", handling="h", transport="t", emergency="e",
                      compiled_by="Эколог", compiled_on=TODAY, hazard_properties=["HP14"])
    rec(s, owner, "generated", "1")
    assert s.balance == 1


def test_hazardous_stream_needs_hazard_properties(make_stream):
    with pytest.raises(DomainError, match="HP"):
        make_stream(code="100207", hps=[])


def test_viewer_cannot_record(stream, create_user, add_member, holder):
    viewer = create_user()
    add_member(holder, viewer, "viewer")
    with pytest.raises(PermissionDenied):
        rec(stream, viewer, "generated", "1")


def test_fifo_layers_age_the_oldest_stock(stream, owner):
    rec(stream, owner, "generated", "10", day=date(2026, 1, 10))
    rec(stream, owner, "generated", "5", day=date(2026, 3, 1))
    assert stream.oldest_stock_date == date(2026, 1, 10)
    rec(stream, owner, "transferred_out", "12")  # consumes January, 2 t of March
    assert stream.oldest_stock_date == date(2026, 3, 1)
    layers = db.session.scalars(db.select(StockLayer).where(StockLayer.stream_id == stream.id)).all()
    assert [(x.stock_date, x.remaining) for x in layers] == [(date(2026, 3, 1), D("3"))]
    rec(stream, owner, "transferred_out", "3")
    assert stream.oldest_stock_date is None and stream.balance == 0


def test_database_refuses_update_and_delete(stream, owner):
    r = rec(stream, owner, "generated", "1")
    db.session.flush()
    for sql in (f"UPDATE waste_record SET quantity = 2 WHERE id = {r.id}",
                f"DELETE FROM waste_record WHERE id = {r.id}"):
        with pytest.raises(DatabaseError, match="append-only"), db.session.begin_nested():
            db.session.execute(text(sql))


def test_check_command_finds_a_tampered_cache(app, stream, owner):
    rec(stream, owner, "generated", "7")
    db.session.execute(text(f"UPDATE waste_stream SET balance = 8 WHERE id = {stream.id}"))
    bad = check_balances()
    assert [b[0] for b in bad] == [stream.id]
    result = app.test_cli_runner().invoke(args=["registry", "check-balances"])
    assert result.exit_code != 0 and f"stream {stream.id}" in result.output


@pytest.mark.parametrize(("text", "message"), [
    ("1e400", "Слишком большое"), ("1000000000000", "Слишком большое"), ("abc", "числом"),
    ("NaN", "числом"), ("0,0001", "трёх знаков"), ("1e-400", "трёх знаков"),
])
def test_parse_quantity_refuses_clearly(text, message):
    from market.registry.journal import JournalError, parse_quantity

    with pytest.raises(JournalError, match=message):
        parse_quantity(text)


def test_parse_quantity_accepts_what_people_write():
    from decimal import Decimal

    from market.registry.journal import parse_quantity

    assert parse_quantity("12,5") == Decimal("12.5")
    assert parse_quantity("1 250,125") == Decimal("1250.125")
    assert parse_quantity("999999999999") == Decimal("999999999999")
