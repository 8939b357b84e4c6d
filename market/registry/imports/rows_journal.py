"""Importing journal records."""


from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from market.accounts.models import User
from market.core.errors import DomainError
from market.extensions import db
from market.refdata.models import Operation
from market.registry import journal
from market.registry.imports.files import IMPORTABLE_KINDS, TEXT_LIMITS, RowError
from market.registry.imports.runner import _Import
from market.registry.imports.values import (
    REQUIRED,
    TOO_LONG,
    _code6,
    _labels,
    _lookup,
    _number_text,
    _text,
    _whole,
    parse_date,
)
from market.registry.journal_batch import record_many
from market.registry.models import RECORD_LABELS, RecordKind, WasteStream

log = logging.getLogger("qaldyq.imports")


# the journal --------------------------------------------------------------------------------

class JournalRow(NamedTuple):
    row: int
    stream_id: int
    kind: str
    quantity: Decimal
    event_date: date
    operation_code: str | None
    counterparty: str | None
    document: str | None
    note: str | None


class JournalImport(_Import):
    kind = "journal"

    def prepare(self) -> None:
        streams = db.session.scalars(
            select(WasteStream).where(WasteStream.organization_id == self.org_id)
            .options(joinedload(WasteStream.site), selectinload(WasteStream.passport))).all()
        self.streams = {s.id: s for s in streams}
        self.by_site: dict[tuple[str, str], list[int]] = {}
        for s in streams:
            for key in (str(s.site_id), " ".join(s.site.name.casefold().split())):
                self.by_site.setdefault((key, s.waste_code), []).append(s.id)
        # Simulated figures, carried from row to row: [balance, reserved, name, needs passport]
        self.state = {s.id: [s.balance, s.reserved] for s in streams}
        self.passport_missing = {s.id for s in streams if s.needs_passport}
        self.operations = {op.code: op.kind for op in db.session.scalars(select(Operation))}
        self.kinds = _labels(RECORD_LABELS, [k.value for k in IMPORTABLE_KINDS])
        self.today = date.today()
        self.actor_obj = self.actor()
        self.may_record = {s.id: journal.can_record(s, self.actor_obj) for s in streams}

    def _stream(self, number: int, values: dict) -> int | None:
        raw = values.get("stream_id")
        if raw is not None:
            sid = _whole(raw)
            if sid is None:
                self.error(number, "stream_id", _l("Номер потока — целое число, например 12."))
                return None
            if sid not in self.streams:
                self.error(number, "stream_id",
                           _l("Поток №%(id)s не найден в реестре этой организации."), id=sid)
                return None
            return sid
        site, code = values.get("site"), values.get("waste_code")
        if site is None and code is None:
            self.error(number, "stream_id", REQUIRED)
            return None
        if site is None:
            self.error(number, "site", REQUIRED)
            return None
        if code is None:
            self.error(number, "waste_code", REQUIRED)
            return None
        key = _text(site)
        found = (self.by_site.get((" ".join(key.casefold().split()), _code6(code)))
                 or self.by_site.get((key, _code6(code))) or [])
        if not found:
            self.error(number, "waste_code", _l("На площадке «%(site)s» нет потока с кодом %(code)s."),
                       site=key[:100], code=_text(code)[:20])
            return None
        if len(found) > 1:
            self.error(number, "waste_code", _l("На площадке «%(site)s» несколько потоков с кодом "
                                                "%(code)s: укажите stream_id."),
                       site=key[:100], code=_text(code)[:20])
            return None
        return found[0]

    def check(self, number: int, values: dict) -> JournalRow | None:
        before = len(self.errors)
        sid = self._stream(number, values)

        kind = values.get("kind")
        if kind is None:
            self.error(number, "kind", REQUIRED)
        else:
            kind = _lookup(self.kinds, kind)
            if kind is None:
                self.error(number, "kind", _l("Неизвестный вид записи «%(value)s». Допустимо: %(allowed)s."),
                           value=_text(values["kind"])[:40],
                           allowed=", ".join(k.value for k in IMPORTABLE_KINDS))

        qty = values.get("quantity")
        if qty is None:
            self.error(number, "quantity", REQUIRED)
        else:
            try:
                qty = journal.parse_quantity(_number_text(qty))
            except DomainError as exc:
                self.errors.append(RowError(number, "quantity", exc))
                qty = None
            else:
                if qty <= 0:
                    self.error(number, "quantity", _l("Количество должно быть больше нуля."))
                elif qty > journal.MAX_QUANTITY:
                    self.error(number, "quantity", _l("Слишком большое количество для одной записи: "
                                                      "проверьте единицы (тонны)."))

        day = values.get("event_date")
        if day is None:
            self.error(number, "event_date", REQUIRED)
        else:
            day = parse_date(day)
            if day is None:
                self.error(number, "event_date", _l("Дата — в виде ГГГГ-ММ-ДД или ДД.ММ.ГГГГ, "
                                                    "например 2026-03-01 или 01.03.2026."))
            elif day > self.today:
                self.error(number, "event_date", _l("Дата события не может быть в будущем."))
            elif day < journal.EARLIEST_DATE:
                self.error(number, "event_date", _l("Дата события слишком ранняя."))

        op = _text(values.get("operation_code"))
        op = op.replace(" ", "").upper() if op else None
        if kind is not None:
            self._check_operation(number, kind, op)

        texts = {}
        for column, limit in TEXT_LIMITS.items():
            text = _text(values.get(column))
            if text and len(text) > limit:
                self.error(number, column, TOO_LONG, max=limit)
            texts[column] = text

        if sid is not None and len(self.errors) == before:
            self._stream_rules(number, sid, kind, qty)
        if len(self.errors) > before:
            return None
        return JournalRow(number, sid, kind, qty, day, op, texts["counterparty"], texts["document"],
                          texts["note"])

    def _check_operation(self, number: int, kind: str | None, op: str | None) -> None:
        """The rule of journal._check_operation, against the operations read once."""
        if kind not in (RecordKind.processed, RecordKind.disposed):
            if op:
                self.error(number, "operation_code",
                           _l("Код операции R/D указывается только для переработки и удаления."))
            return
        op_kind = self.operations.get(op) if op else None
        if op_kind is None:
            self.error(number, "operation_code",
                       _l("Укажите код операции по Базельской конвенции (R1–R13 или D1–D15)."))
        elif kind == RecordKind.processed and op_kind != "recovery":
            self.error(number, "operation_code", _l("Для переработки нужен код восстановления R1–R13."))
        elif kind == RecordKind.disposed and op_kind != "disposal":
            self.error(number, "operation_code", _l("Для удаления нужен код D1–D15."))

    def _stream_rules(self, number: int, sid: int, kind: str, qty: Decimal) -> bool:
        """The rules of journal.record that depend on the stream, with the carried balance."""
        if not self.may_record[sid]:
            self.error(number, "stream_id",
                       _l("Вносить записи могут сотрудники организации (не наблюдатели)."))
            return False
        if sid in self.passport_missing:
            self.error(number, "stream_id",
                       _l("Отход опасный: сначала заполните паспорт опасного отхода."))
            return False
        state = self.state[sid]
        delta = qty * RecordKind(kind).sign
        if state[0] + delta < state[1]:
            self.errors.append(RowError(number, "quantity",
                                        journal.refusal(self.streams[sid], state[0], state[1], delta)))
            return False
        state[0] += delta
        return True

    def prepare_write(self, items: list[JournalRow]) -> None:
        super().prepare_write(items)
        ids = sorted({item.stream_id for item in items})
        self.write_streams = {s.id: s for s in db.session.scalars(
            select(WasteStream).where(WasteStream.id.in_(ids))
            .options(joinedload(WasteStream.organization), selectinload(WasteStream.passport)))}
        # Held so that journal._check_operation finds them in the identity map, without a query.
        self._operations = db.session.scalars(select(Operation)).all()
        self.writer = db.session.get(User, self.actor_id)
        _ = self.writer.memberships

    def write_chunk(self, chunk: list[JournalRow]) -> None:
        """One batched write per stream (rows keep their order within a stream)."""
        by_stream: dict[int, list[dict]] = {}
        for item in chunk:
            by_stream.setdefault(item.stream_id, []).append({
                "kind": item.kind, "quantity": item.quantity, "event_date": item.event_date,
                "operation_code": item.operation_code, "counterparty": item.counterparty,
                "document": item.document, "note": item.note})
        for stream_id, entries in by_stream.items():
            record_many(self.write_streams[stream_id], entries, actor=self.writer,
                        import_id=self.job_id)

    def write(self, item: JournalRow) -> None:
        journal.record(self.write_streams[item.stream_id], actor=self.writer, kind=item.kind,
                       quantity=item.quantity, event_date=item.event_date, source="import",
                       operation_code=item.operation_code, counterparty=item.counterparty,
                       document=item.document, note=item.note, import_id=self.job_id)

    def recheck(self, item: JournalRow, exc: DomainError) -> list[RowError]:
        """Name the column of a row the journal refused in the write pass, from current figures."""
        stream = self.write_streams[item.stream_id]
        db.session.refresh(stream)
        self.state[item.stream_id] = [stream.balance, stream.reserved]
        self.may_record[item.stream_id] = journal.can_record(stream, self.writer)
        if stream.needs_passport:
            self.passport_missing.add(item.stream_id)
        before = len(self.errors)
        self._stream_rules(item.row, item.stream_id, item.kind, item.quantity)
        found = self.errors[before:]
        del self.errors[before:]
        return found or [RowError(item.row, None, exc)]


