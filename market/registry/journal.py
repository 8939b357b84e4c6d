"""The waste journal: append-only records from which every balance is derived.

A record changes its stream's cached balance in the same transaction, with one conditional
UPDATE (`balance + delta >= reserved`), so two records arriving at the same moment can never
take a balance below zero (or below what open lots reserve): the second waits for the
first's row lock on PostgreSQL and re-checks the condition; SQLite serialises writers.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from market.accounts.models import OrgRole, User
from market.core import audit
from market.core.errors import DomainError, PermissionDenied
from market.extensions import db
from market.refdata.models import Operation
from market.registry.models import RecordKind, StockLayer, WasteRecord, WasteStream

QUANTUM = Decimal("0.001")
# Higher domains (lots) add a function(stream) -> str naming what holds the reserve.
RESERVATION_NOTES: list = []
MAX_QUANTITY = Decimal("1000000000")  # 1 billion tonnes in one record is a typo
EARLIEST_DATE = date(1950, 1, 1)


class JournalError(DomainError):
    """A journal record was refused; the message says why."""


def parse_quantity(value) -> Decimal:
    """Tonnes as a Decimal with at most 3 decimals (kilograms); commas accepted."""
    try:
        qty = Decimal(str(value).strip().replace(" ", "").replace(",", "."))
    except (InvalidOperation, ValueError):
        raise JournalError(_l("Количество должно быть числом в тоннах, например 12,5.")) from None
    if not qty.is_finite():
        raise JournalError(_l("Количество должно быть числом в тоннах, например 12,5."))
    if qty.adjusted() > 11:  # "1e400" would overflow the quantize, 10^12 t the column
        raise JournalError(_l("Слишком большое количество: не больше 999 999 999 999 т."))
    if qty.as_tuple().exponent < -3 and qty != qty.quantize(QUANTUM):
        raise JournalError(_l("Не больше трёх знаков после запятой (точность — 1 кг)."))
    return qty.quantize(QUANTUM)


def can_record(stream: WasteStream, user: User | None) -> bool:
    return bool(user and user.is_authenticated
                and user.has_org_role(stream.organization, OrgRole.member))


def record(stream: WasteStream, *, actor: User, kind: str, quantity, event_date: date,
           source: str = "form", operation_code: str | None = None,
           counterparty: str | None = None, document: str | None = None,
           note: str | None = None, corrects: WasteRecord | None = None,
           increase: bool | None = None, idempotency_key: str | None = None,
           import_id: int | None = None, today: date | None = None) -> WasteRecord:
    """Append one record and move the stream's balance; refuses anything that breaks a rule.

    For a correction, `quantity` is the size of the change and `increase` its direction.
    """
    _check_stream(stream, actor)
    kind, qty, delta = _prepare(stream, kind=kind, quantity=quantity, event_date=event_date,
                                operation_code=operation_code, corrects=corrects,
                                increase=increase, note=note, today=today)
    new_balance = _move_balance(stream, delta)
    rec = WasteRecord(
        stream_id=stream.id, organization_id=stream.organization_id, site_id=stream.site_id,
        kind=kind.value, quantity=qty, delta=delta, balance_after=new_balance,
        event_date=event_date, entered_by_id=actor.id, source=source,
        operation_code=operation_code or None, counterparty=(counterparty or "").strip() or None,
        document=(document or "").strip() or None, note=(note or "").strip() or None,
        corrects_id=corrects.id if corrects else None, idempotency_key=idempotency_key,
        import_id=import_id)
    db.session.add(rec)
    _move_layers(stream, delta, event_date)
    db.session.flush()
    if kind is RecordKind.correction:
        audit.record("journal.correction", rec, actor=actor, organization=stream.organization,
                     corrects=corrects.id, delta=str(delta), reason=rec.note)
    return rec


def _check_stream(stream: WasteStream, actor: User) -> None:
    if not can_record(stream, actor):
        raise PermissionDenied(_l("Вносить записи могут сотрудники организации (не наблюдатели)."))
    if stream.needs_passport:
        raise JournalError(_l("Отход опасный: сначала заполните паспорт опасного отхода."))


def _prepare(stream: WasteStream, *, kind, quantity, event_date: date, operation_code=None,
             corrects=None, increase=None, note=None, today=None) -> tuple[RecordKind, Decimal, Decimal]:
    """Check one record's own rules; returns (kind, quantity, signed delta)."""
    try:
        kind = RecordKind(kind)
    except ValueError:
        raise JournalError(_l("Неизвестный вид записи.")) from None
    qty = parse_quantity(quantity)
    if qty <= 0:
        raise JournalError(_l("Количество должно быть больше нуля."))
    if qty > MAX_QUANTITY:
        raise JournalError(_l("Слишком большое количество для одной записи: проверьте единицы (тонны)."))
    today = today or date.today()
    if event_date > today:
        raise JournalError(_l("Дата события не может быть в будущем."))
    if event_date < EARLIEST_DATE:
        raise JournalError(_l("Дата события слишком ранняя."))
    _check_operation(kind, operation_code)
    if kind is RecordKind.correction:
        if corrects is None or corrects.stream_id != stream.id:
            raise JournalError(_l("Исправление должно ссылаться на запись этого же потока."))
        if not (note or "").strip():
            raise JournalError(_l("Укажите, почему вносится исправление."))
        if increase is None:
            raise JournalError(_l("Укажите, увеличивает или уменьшает исправление остаток."))
        return kind, qty, (qty if increase else -qty)
    if corrects is not None:
        raise JournalError(_l("Ссылку на исправляемую запись имеет только исправление."))
    return kind, qty, qty * kind.sign


def _check_operation(kind: RecordKind, code: str | None) -> None:
    if kind not in (RecordKind.processed, RecordKind.disposed):
        if code:
            raise JournalError(_l("Код операции R/D указывается только для переработки и удаления."))
        return
    op = db.session.get(Operation, code) if code else None
    if op is None:
        raise JournalError(_l("Укажите код операции по Базельской конвенции (R1–R13 или D1–D15)."))
    if kind is RecordKind.processed and op.kind != "recovery":
        raise JournalError(_l("Для переработки нужен код восстановления R1–R13."))
    if kind is RecordKind.disposed and op.kind != "disposal":
        raise JournalError(_l("Для удаления нужен код D1–D15."))


def _move_balance(stream: WasteStream, delta: Decimal) -> Decimal:
    """Atomically add delta to the cached balance unless it would fall below the reserve."""
    table = WasteStream.__table__
    result = db.session.execute(
        update(table)
        .where(table.c.id == stream.id, table.c.balance + delta >= table.c.reserved)
        .values(balance=table.c.balance + delta)
        .returning(table.c.balance, table.c.reserved)
    ).first()
    if result is None:
        current, reserved = db.session.execute(
            select(table.c.balance, table.c.reserved).where(table.c.id == stream.id)).one()
        raise refusal(stream, current, reserved, delta)
    set_committed_value(stream, "balance", result.balance)
    set_committed_value(stream, "reserved", result.reserved)
    return result.balance


def refusal(stream: WasteStream, current: Decimal, reserved: Decimal, delta: Decimal) -> JournalError:
    """Why current + delta is refused: below zero, or into what open lots reserve."""
    if current + delta < 0:
        return JournalError(
            _l("Остаток «%(name)s» — %(balance)s т; запись на %(qty)s т сделала бы его "
               "отрицательным."), name=stream.name, balance=fmt_t(current), qty=fmt_t(-delta))
    lots = "; ".join(filter(None, (note(stream) for note in RESERVATION_NOTES)))
    return JournalError(
        _l("Из остатка %(balance)s т уже %(reserved)s т предложено в открытых лотах "
           "%(lots)s; сначала уменьшите или снимите лоты."),
        balance=fmt_t(current), reserved=fmt_t(reserved), lots=lots)


def _move_layers(stream: WasteStream, delta: Decimal, event_date: date) -> None:
    """FIFO: additions form a layer dated by the event; removals consume the oldest layers."""
    if delta > 0:
        layer = db.session.scalar(select(StockLayer).where(
            StockLayer.stream_id == stream.id, StockLayer.stock_date == event_date))
        if layer:
            layer.remaining += delta
        else:
            db.session.add(StockLayer(stream_id=stream.id, stock_date=event_date, remaining=delta))
    else:
        need = -delta
        layers = db.session.scalars(select(StockLayer).where(StockLayer.stream_id == stream.id)
                                    .order_by(StockLayer.stock_date)).all()
        for layer in layers:
            if need <= 0:
                break
            take = min(need, layer.remaining)
            need -= take
            if take == layer.remaining:
                db.session.delete(layer)
            else:
                layer.remaining -= take
    db.session.flush()
    stream.oldest_stock_date = db.session.scalar(
        select(func.min(StockLayer.stock_date)).where(StockLayer.stream_id == stream.id))
    if stream.oldest_stock_date is None:
        stream.must_offer_since = None


def fmt_t(value: Decimal) -> str:
    return f"{value:,.3f}".replace(",", " ").replace(".", ",")


def journal_sum(stream_id: int) -> Decimal:
    return db.session.scalar(select(func.coalesce(func.sum(WasteRecord.delta), 0))
                             .where(WasteRecord.stream_id == stream_id))


def check_balances() -> list[tuple[int, Decimal, Decimal, Decimal]]:
    """Streams whose cached balance or FIFO layers differ from the journal: (id, cache, sum, layers)."""
    sums = dict(db.session.execute(select(WasteRecord.stream_id, func.sum(WasteRecord.delta))
                                   .group_by(WasteRecord.stream_id)).all())
    layers = dict(db.session.execute(select(StockLayer.stream_id, func.sum(StockLayer.remaining))
                                     .group_by(StockLayer.stream_id)).all())
    bad = []
    for sid, balance in db.session.execute(select(WasteStream.id, WasteStream.balance)):
        total = Decimal(sums.get(sid) or 0)
        layered = Decimal(layers.get(sid) or 0)
        if balance != total or layered != total:
            bad.append((sid, balance, total, layered))
    return bad


def rebuild_layers(stream: WasteStream) -> None:
    """Recompute FIFO layers from the journal (repair tool for the check command)."""
    db.session.execute(delete(StockLayer).where(StockLayer.stream_id == stream.id))
    records = db.session.scalars(select(WasteRecord).where(WasteRecord.stream_id == stream.id)
                                 .order_by(WasteRecord.id)).all()
    for rec in records:
        _move_layers(stream, rec.delta, rec.event_date)
