"""Importing the waste journal and the TMO cadastre from CSV and XLSX files: all rows or none.

The upload (`accept_upload`) checks the file's type, encoding and header, stores it under
UPLOAD_DIR with a random name, creates an ImportJob and queues `run_import` after the commit.

The job works in two passes:

1. Check. Every row is parsed and checked in Python against figures read once (the
   organisation's streams with their balances and reserves, the R/D operations, the actor's
   rights); balances are carried from row to row, so a transfer larger than what the earlier
   rows built is refused. Nothing is written, so the import holds no lock and the progress
   bar is updated every PROGRESS_EVERY rows from a separate connection — on SQLite too.
2. Write with the real operations (`journal.record`, `cadastre.operations.create_formation`)
   in ONE transaction, by SAVEPOINTs of CHUNK rows — for the journal only if every row
   passed pass 1; the cadastre's rules are checked by this pass, so it always runs there.
   If a chunk is refused (something changed since pass 1), it is replayed row by row, each
   in its own savepoint, to name every refused row; any refusal rolls the whole transaction
   back. On PostgreSQL the progress of this pass is written from a separate connection
   (it only updates the import_job row, whose key the new records merely share-lock); on
   SQLite the import holds the single write lock, so the bar shows «writing» until the end.

A file with any bad row is rejected whole: nothing is imported, the job is "failed" and its
`errors` list ({row, column, message}, at most MAX_ERRORS) is rendered in the job's locale.
"""

from __future__ import annotations

import csv
import logging
import secrets
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from itertools import chain
from pathlib import Path
from typing import NamedTuple

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import joinedload, selectinload

from market.accounts.models import Organization, OrgRole, User
from market.core import audit
from market.core.errors import DomainError, PermissionDenied
from market.core.jobs import job
from market.core.timeutil import utcnow
from market.core.txn import after_commit, commit, rollback
from market.extensions import db, huey
from market.refdata.models import Operation
from market.registry import journal
from market.registry.models import RECORD_LABELS, ImportJob, RecordKind, WasteStream

log = logging.getLogger("qaldyq.imports")

FORMATS = ("csv", "xlsx")
IMPORT_KINDS = {"journal": _l("Журнал учёта отходов"), "formations": _l("Кадастр ТМО")}
MAX_ERRORS = 1000  # errors kept in the report; checking stops there
PROGRESS_EVERY = 500  # rows between two progress updates
# Rows per SAVEPOINT in the write pass. Every savepoint that writes is a PostgreSQL
# subtransaction, and past 64 in one transaction the backend's subxid cache overflows,
# which slows every other session's snapshots while the import runs: a file at the row
# limit stays well under that. Rows are replayed one savepoint each only after a refusal.
CHUNK = 5000
DEFAULT_MAX_ROWS = 200_000  # per file; app.config["IMPORT_MAX_ROWS"] overrides
TEXT_LIMITS = {"counterparty": 300, "document": 200, "note": 2000}  # as the record form
IMPORTABLE_KINDS = tuple(k for k in RecordKind if k is not RecordKind.correction)

JOURNAL_COLUMNS = {
    "stream_id": _l("Номер потока в реестре (список ниже). Вместо него можно указать site и waste_code."),
    "site": _l("Название площадки — если не указан stream_id."),
    "waste_code": _l("Код отхода по классификатору, например 10 02 01, — если не указан stream_id."),
    "kind": _l("Вид записи: код или название (список ниже)."),
    "quantity": _l("Количество в тоннах, до трёх знаков после запятой; разделитель — запятая или точка."),
    "event_date": _l("Дата события: ГГГГ-ММ-ДД или ДД.ММ.ГГГГ (в XLSX можно ячейкой-датой)."),
    "operation_code": _l("Код операции: R1–R13 для переработки, D1–D15 для удаления; "
                         "для других видов записи — пусто."),
    "counterparty": _l("Контрагент, до 300 символов."),
    "document": _l("Документ-основание, до 200 символов."),
    "note": _l("Примечание, до 2000 символов."),
}
JOURNAL_REQUIRED = ("kind", "quantity", "event_date")

FORMATION_COLUMNS = {
    "name": _l("Название объекта (обязательно)."),
    "kind": _l("Вид ТМО: код или название (список ниже; обязательно)."),
    "region_kato": _l("Код региона по КАТО, 9 цифр (список ниже; обязательно)."),
    "lat": _l("Широта точки объекта в градусах, например 46.8480 (обязательно)."),
    "lon": _l("Долгота точки объекта в градусах, например 74.9950 (обязательно)."),
    "state_owned": _l("Государственный ТМО: да / нет (1 / 0); пусто — нет."),
    "address": _l("Адрес или описание местоположения."),
    "area_ha": _l("Площадь, га."),
    "volume_m3": _l("Объём, м³."),
    "tonnage": _l("Масса, т."),
    "year_formed": _l("Год образования."),
    "status": _l("Состояние: код или название (список ниже); пусто — действующее."),
    "hazard_class": _l("Класс опасности, от 1 до 5."),
    "waste_code": _l("Код отхода по классификатору, например 10 06 01."),
    "description": _l("Описание, до 4000 символов."),
}
FORMATION_REQUIRED = ("name", "kind", "region_kato", "lat", "lon")
COLUMNS = {"journal": JOURNAL_COLUMNS, "formations": FORMATION_COLUMNS}

TRUE_WORDS = {"1", "true", "yes", "y", "да", "д", "иә", "ия", "+", "x"}
FALSE_WORDS = {"0", "false", "no", "n", "нет", "н", "жоқ", "-"}


class ImportFileError(DomainError):
    """The file as a whole cannot be imported: its type, encoding, header or size."""


@dataclass(slots=True)
class RowError:
    """A refusal to report: the row (as numbered in the file), the column and the message."""

    row: int | None
    column: str | None
    message: object  # a DomainError, or a lazy string with `params`
    params: dict | None = None

    def render(self) -> dict:
        """As stored in ImportJob.errors, in the current (forced) locale."""
        if isinstance(self.message, DomainError):
            text = str(self.message)
        else:
            text = str(self.message) % self.params if self.params else str(self.message)
        return {"row": self.row, "column": self.column, "message": text}


# reading files ------------------------------------------------------------------------------

def _normalize_header(value) -> str:
    text = "" if value is None else str(value)
    return text.replace("\ufeff", "").strip().lower().replace(" ", "_")


def _cell(value):
    """Strings stripped, blanks as None; numbers and dates as they are."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _csv_rows(path: Path) -> Iterator[tuple[int, list]]:
    """(row number, cells) of a UTF-8 CSV, with or without BOM, "," or ";" (or tab) separated."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            first = f.readline()
            reader = csv.reader(chain([first], f), delimiter=_delimiter(first))
            yield from enumerate(reader, start=1)
    except UnicodeDecodeError:
        raise ImportFileError(_l("Файл CSV должен быть в кодировке UTF-8: в Excel выберите "
                                 "«Сохранить как» → «CSV UTF-8 (разделитель — запятая)».")) from None
    except csv.Error as exc:
        raise ImportFileError(_l("Файл CSV повреждён: %(error)s"), error=str(exc)) from None


def _open_workbook(path: Path):
    import openpyxl

    if not zipfile.is_zipfile(path):
        raise ImportFileError(_l("Это не файл XLSX: сохраните таблицу в формате Excel (.xlsx) или CSV."))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # styles, extensions: irrelevant to the values
            return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds on a damaged or foreign zip
        raise ImportFileError(_l("Файл XLSX не читается: сохраните таблицу в Excel заново "
                                 "в формате .xlsx или CSV.")) from None


def _xlsx_rows(path: Path) -> Iterator[tuple[int, tuple]]:
    """(row number, values) of the first sheet of an XLSX workbook."""
    book = _open_workbook(path)
    try:
        if not book.worksheets:
            return
        try:
            yield from enumerate(book.worksheets[0].iter_rows(values_only=True), start=1)
        except (KeyError, ValueError, zipfile.BadZipFile) as exc:
            raise ImportFileError(_l("Файл XLSX не читается: сохраните таблицу в Excel заново "
                                     "в формате .xlsx или CSV.")) from exc
    finally:
        book.close()


class Table(NamedTuple):
    header_row: int
    columns: dict[str, int]  # column name -> position in the row
    rows: Iterator[tuple[int, dict]]  # (row number in the file, {column: value}); blank rows skipped


def _header(cells, kind: str) -> dict[str, int]:
    allowed = COLUMNS[kind]
    columns: dict[str, int] = {}
    unknown, duplicate = [], []
    for position, cell in enumerate(cells):
        name = _normalize_header(cell)
        if not name:
            continue
        if name not in allowed:
            unknown.append(name)
        elif name in columns:
            duplicate.append(name)
        else:
            columns[name] = position
    if unknown:
        raise ImportFileError(_l("Неизвестные столбцы: %(unknown)s. Допустимые столбцы: %(allowed)s."),
                              unknown=", ".join(unknown[:10]), allowed=", ".join(allowed))
    if duplicate:
        raise ImportFileError(_l("Столбец повторяется: %(names)s."), names=", ".join(duplicate))
    required = JOURNAL_REQUIRED if kind == "journal" else FORMATION_REQUIRED
    missing = [c for c in required if c not in columns]
    if kind == "journal" and "stream_id" not in columns and not {"site", "waste_code"} <= set(columns):
        missing.insert(0, "stream_id")
    if missing:
        raise ImportFileError(_l("Нет обязательных столбцов: %(names)s. Первая строка файла — "
                                 "заголовок с названиями столбцов, как в шаблоне."),
                              names=", ".join(missing))
    return columns


@contextmanager
def open_table(path: Path, fmt: str, kind: str) -> Iterator[Table]:
    """The header (the first non-blank row) and the data rows of a CSV or XLSX file."""
    source = _csv_rows(path) if fmt == "csv" else _xlsx_rows(path)
    try:
        header_row, columns = 0, None
        for number, cells in source:
            if any(_cell(c) is not None for c in cells):
                header_row, columns = number, _header(cells, kind)
                break
        if columns is None:
            raise ImportFileError(_l("Файл пуст: в нём нет ни заголовка, ни строк."))

        def rows():
            for number, cells in source:
                values = {name: _cell(cells[i]) if i < len(cells) else None
                          for name, i in columns.items()}
                if any(v is not None for v in values.values()):
                    yield number, values

        yield Table(header_row, columns, rows())
    finally:
        source.close()


def check_file(path: Path, fmt: str, kind: str) -> None:
    """Refuse, with a clear message, a file that cannot be read as the given kind of import."""
    if path.stat().st_size == 0:
        raise ImportFileError(_l("Файл пуст."))
    if fmt == "csv":
        with open(path, "rb") as f:
            head = f.read(4)
        if head.startswith(b"PK\x03\x04"):
            raise ImportFileError(_l("Это файл Excel, а не CSV: выберите файл .xlsx или сохраните "
                                     "таблицу как CSV UTF-8."))
        _check_utf8(path)
    with open_table(path, fmt, kind) as table:
        if next(table.rows, None) is None:
            raise ImportFileError(_l("В файле только заголовок: добавьте строки с данными."))


def _check_utf8(path: Path) -> None:
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    try:
        with open(path, "rb") as f:
            while block := f.read(1 << 20):
                text = decoder.decode(block)
                if "\x00" in text:
                    raise ImportFileError(_l("Это не текстовый файл CSV."))
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise ImportFileError(_l("Файл CSV должен быть в кодировке UTF-8: в Excel выберите "
                                 "«Сохранить как» → «CSV UTF-8 (разделитель — запятая)».")) from None


# the upload ---------------------------------------------------------------------------------

def megabytes(size: int | None) -> str:
    """A size limit in megabytes as the user reads it: «50», «0,5»."""
    from flask_babel import format_decimal

    return format_decimal((size or 0) / (1024 * 1024), format="#,##0.#")


def upload_root() -> Path:
    return Path(current_app.config["UPLOAD_DIR"])


def stored_file(job_row: ImportJob) -> Path:
    return upload_root() / job_row.stored_path


def file_format(filename: str) -> str:
    """"csv" or "xlsx" from the file name; refuses anything else with a clear message."""
    suffix = Path(filename or "").suffix.lower().lstrip(".")
    if suffix == "xls":
        raise ImportFileError(_l("Формат XLS (Excel 97–2003) не поддерживается: сохраните файл "
                                 "как XLSX или CSV UTF-8."))
    if suffix not in FORMATS:
        raise ImportFileError(_l("Загрузите файл CSV или XLSX."))
    return suffix


def can_import(user, org: Organization) -> bool:
    """Employees of the organisation (not viewers), whether or not it is verified yet."""
    return bool(user and user.is_authenticated and user.has_org_role(org, OrgRole.member))


def accept_upload(org: Organization, *, actor: User, kind: str, upload, locale: str) -> ImportJob:
    """Check and store an uploaded file and queue its import (after the caller's commit)."""
    if not can_import(actor, org):
        raise PermissionDenied(_l("Загружать файлы могут сотрудники организации (не наблюдатели)."))
    if kind not in IMPORT_KINDS:
        raise ImportFileError(_l("Выберите, что импортировать."))
    filename = (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    fmt = file_format(filename)
    relative = Path("imports") / str(org.id) / f"{secrets.token_hex(16)}.{fmt}"
    path = upload_root() / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    upload.save(path)
    try:
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        if limit and path.stat().st_size > limit:
            raise ImportFileError(_l("Файл больше %(mb)s МБ: разделите его на несколько."),
                                  mb=megabytes(limit))
        check_file(path, fmt, kind)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    row = ImportJob(organization_id=org.id, kind=kind, filename=filename[-255:] or f"import.{fmt}",
                    stored_path=relative.as_posix(), status="queued", locale=locale,
                    created_by_id=actor.id)
    db.session.add(row)
    db.session.flush()
    after_commit(run_import, row.id)
    return row


# the job ------------------------------------------------------------------------------------

@job()
def run_import(job_id: int) -> str | None:
    """Import the stored file of an ImportJob: queued → running → done | failed."""
    # Inline (immediate) runs happen inside the caller's transaction, where nobody can watch
    # the progress and a second connection could only wait for that transaction's lock.
    return process_import(job_id, live_progress=not huey.immediate)


class Progress:
    """Progress figures committed from a separate connection, outside the import's transaction."""

    def __init__(self, job_id: int, *, live: bool):
        self.job_id = job_id
        self.live = live
        self.sqlite = db.engine.dialect.name == "sqlite"

    def write(self, *, writing: bool = False, **values) -> None:
        # While the write pass holds SQLite's single write lock, a second writer would wait
        # for this very job: skip. PostgreSQL locks rows, and the import never updates this one.
        if not self.live or (writing and self.sqlite):
            return
        table = ImportJob.__table__
        try:
            with db.engine.connect() as conn:
                conn.execute(update(table).where(table.c.id == self.job_id).values(**values))
                conn.commit()
        except OperationalError as exc:  # a busy database: progress is only advisory
            log.warning("import %s: progress not written: %s", self.job_id, exc)


def process_import(job_id: int, *, live_progress: bool = True) -> str | None:
    """Run the import of one job; returns its final status (None if it was not queued)."""
    row = db.session.get(ImportJob, job_id)
    if row is None or row.status != "queued":
        return None
    row.status = "running"
    commit()
    progress = Progress(job_id, live=live_progress)
    importer = (JournalImport if row.kind == "journal" else FormationImport)(row, progress)
    try:
        errors = importer.run()
    except DomainError as exc:  # the file or the actor as a whole
        errors = [RowError(None, None, exc)]
    except Exception:
        log.exception("import %s failed", job_id)
        errors = [RowError(None, None, _l("Внутренняя ошибка при импорте. Попробуйте позже или "
                                          "сообщите в поддержку номер импорта."))]
    return _finish(job_id, errors, importer)


def _finish(job_id: int, errors: list[RowError], importer) -> str:
    if errors:
        rollback()
        errors.sort(key=lambda e: (e.row is not None, e.row or 0))  # stable: columns keep their order
    row = db.session.get(ImportJob, job_id)
    db.session.refresh(row)  # the progress connection may have moved the figures
    org = db.session.get(Organization, row.organization_id)
    actor = db.session.get(User, row.created_by_id) if row.created_by_id else None
    row.total_rows = importer.total
    row.processed_rows = importer.checked
    row.finished_at = utcnow()
    if errors:
        with force_locale(row.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
            row.errors = [e.render() for e in errors[:MAX_ERRORS]]
        row.status = "failed"
        row.imported_rows = 0
        audit.record("import.failed", row, actor=actor, organization=org, kind=row.kind,
                     filename=row.filename, rows=importer.total, errors=len(row.errors))
    else:
        row.errors = []
        row.status = "done"
        row.imported_rows = importer.imported
        audit.record("import.finished", row, actor=actor, organization=org, kind=row.kind,
                     filename=row.filename, rows=importer.imported)
    db.session.flush()
    return row.status


class _Import:
    """What both importers share: reading the rows, the two passes, progress and errors."""

    kind = ""
    # True when pass 1 only parses and the domain's rules are checked by writing: then the
    # write pass runs even after pass-1 errors, to report every refused row at once.
    rules_in_write_pass = False

    def __init__(self, row: ImportJob, progress: Progress):
        self.job_id = row.id
        self.org_id = row.organization_id
        self.actor_id = row.created_by_id
        self.path = stored_file(row)
        self.fmt = Path(row.stored_path).suffix.lstrip(".").lower()
        self.progress = progress
        self.total = self.checked = self.imported = 0
        self.errors: list[RowError] = []

    # the parts each importer provides
    def prepare(self) -> None:
        """Read, once, what pass 1 checks the rows against."""

    def check(self, number: int, values: dict):
        """Parse and check one row; its item for the write pass, or None (errors recorded)."""
        raise NotImplementedError

    def write(self, item) -> None:
        """Write one checked row with the real operation (raises DomainError if refused)."""
        raise NotImplementedError

    def recheck(self, item, exc: DomainError) -> list[RowError]:
        return [RowError(item.row, None, exc)]

    def actor(self) -> User:
        """The uploader, if they still may import for the organisation."""
        actor = db.session.get(User, self.actor_id) if self.actor_id else None
        org = db.session.get(Organization, self.org_id)
        if actor is None or not actor.active or not can_import(actor, org):
            raise PermissionDenied(_l("Загружать файлы могут сотрудники организации (не наблюдатели)."))
        return actor

    def run(self) -> list[RowError]:
        self.actor()
        max_rows = current_app.config.get("IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS)
        with open_table(self.path, self.fmt, self.kind) as table:
            raw = []
            for item in table.rows:
                raw.append(item)
                if len(raw) > max_rows:
                    raise ImportFileError(_l("В файле больше %(max)s строк: разделите его на части."),
                                          max=max_rows)
        self.total = len(raw)
        if not raw:
            raise ImportFileError(_l("В файле только заголовок: добавьте строки с данными."))
        self.progress.write(total_rows=self.total, processed_rows=0)

        # pass 1: check every row, write nothing
        self.prepare()
        items = []
        for number, values in raw:
            item = self.check(number, values)
            if item is not None:
                items.append(item)
            self.checked += 1
            if len(self.errors) >= MAX_ERRORS:
                return self.errors
            if self.checked % PROGRESS_EVERY == 0:
                self.progress.write(processed_rows=self.checked)
        del raw
        # End the read transaction: on SQLite a snapshot older than the progress writes
        # could not be turned into a write transaction.
        commit()
        self.progress.write(processed_rows=self.checked)
        if self.errors and not self.rules_in_write_pass:
            return self.errors

        # pass 2: write every row with the real operations, in one transaction
        self.prepare_write(items)
        for start in range(0, len(items), CHUNK):
            chunk = items[start:start + CHUNK]
            try:
                # No autoflush: the operations flush what they need themselves; this spares
                # one flush in three (the new record goes out with its stock layer).
                with db.session.begin_nested(), db.session.no_autoflush:
                    for n, item in enumerate(chunk, start=start + 1):
                        self.write(item)
                        if n % PROGRESS_EVERY == 0:
                            self.progress.write(writing=True, imported_rows=n)
            except DomainError:
                self._replay(chunk)
                if len(self.errors) >= MAX_ERRORS:
                    return self.errors
        self.progress.write(writing=True, imported_rows=len(items))
        if not self.errors:
            self.imported = len(items)
        return self.errors

    def prepare_write(self, items: list) -> None:
        if self.progress.sqlite:
            # Take SQLite's write lock first, so that no other writer slips in between this
            # transaction's first read and its first write.
            table = ImportJob.__table__
            db.session.execute(update(table).where(table.c.id == self.job_id)
                               .values(processed_rows=self.checked))

    def _replay(self, chunk) -> None:
        """A chunk was refused: write its rows one by one to name every refused row."""
        for item in chunk:
            try:
                with db.session.begin_nested():
                    self.write(item)
            except DomainError as exc:
                self.errors.extend(self.recheck(item, exc))
                if len(self.errors) >= MAX_ERRORS:
                    return

    def error(self, number: int, column: str | None, message, **params) -> None:
        self.errors.append(RowError(number, column, message, params or None))


# value parsers shared by both importers -----------------------------------------------------

REQUIRED = _l("Обязательное поле.")
TOO_LONG = _l("Не длиннее %(max)s символов.")


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        value = value.isoformat()
    return str(value).strip() or None


def _whole(value) -> int | None:
    """A whole number from a cell ("12", 12, 12.0); None if it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    text = str(value).strip()
    return int(text) if text.isdigit() else None


def _number_text(value) -> str:
    """A number cell as text for the domain parsers (which accept a decimal comma)."""
    if isinstance(value, float):
        return repr(value)
    return str(value).replace("\u00a0", "").replace("\u202f", "")


def _labels(mapping: dict, codes) -> dict[str, str]:
    """Lower-cased codes and their labels in every interface language -> code."""
    out = {}
    for lang in current_app.config["LANGUAGES"]:
        with force_locale(lang):
            for code in codes:
                out[" ".join(str(mapping[code]).casefold().split())] = code
    for code in codes:
        out[code.casefold()] = code
    return out


def _lookup(labels: dict[str, str], value) -> str | None:
    return labels.get(" ".join(str(value).casefold().split()))


def parse_date(value) -> date | None:
    """A date from a cell: a date / datetime, or text YYYY-MM-DD or DD.MM.YYYY."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _code6(value) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{int(value):06d}"
    return str(value).replace(" ", "").replace("\u00a0", "").rstrip("*")


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
            if state[0] + delta < 0:
                self.error(number, "quantity",
                           _l("Остаток «%(name)s» — %(balance)s т; запись на %(qty)s т сделала бы его "
                              "отрицательным."), name=self.streams[sid].name,
                           balance=journal.fmt_t(state[0]), qty=journal.fmt_t(-delta))
            else:
                self.error(number, "quantity",
                           _l("Из остатка %(balance)s т уже %(reserved)s т предложено в открытых лотах; "
                              "сначала уменьшите или снимите лоты."),
                           balance=journal.fmt_t(state[0]), reserved=journal.fmt_t(state[1]))
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


# the cadastre -------------------------------------------------------------------------------

class FormationRow(NamedTuple):
    row: int
    values: dict


class FormationImport(_Import):
    kind = "formations"
    rules_in_write_pass = True

    def prepare(self) -> None:
        from market.cadastre.models import FORMATION_KINDS, FORMATION_STATUSES

        self.kinds = _labels(FORMATION_KINDS, list(FORMATION_KINDS))
        self.statuses = _labels(FORMATION_STATUSES, list(FORMATION_STATUSES))

    def check(self, number: int, values: dict) -> FormationRow | None:
        before = len(self.errors)
        out = {}
        for column in ("name", "address", "description"):
            out[column] = _text(values.get(column))
        for column in ("lat", "lon"):
            value = values.get(column)
            out[column] = _number_text(value) if isinstance(value, str) else value
        for column in ("area_ha", "volume_m3", "tonnage"):
            value = values.get(column)
            out[column] = None if value is None else _number_text(value)

        kind = values.get("kind")
        out["kind"] = None if kind is None else (_lookup(self.kinds, kind) or _text(kind))
        status = values.get("status")
        out["status"] = "active" if status is None else (_lookup(self.statuses, status) or _text(status))

        region = values.get("region_kato")
        out["region_kato"] = None if region is None else (
            str(_whole(region)) if _whole(region) is not None else _text(region))
        code = values.get("waste_code")
        out["waste_code"] = None if code is None else (
            _code6(code) if isinstance(code, int | float) else _text(code))

        for column in ("year_formed", "hazard_class"):
            value = values.get(column)
            if value is None:
                out[column] = None
            else:
                whole = _whole(value)
                out[column] = whole if whole is not None else _text(value)

        owned = values.get("state_owned")
        if owned is None or owned is False:
            out["state_owned"] = False
        elif owned is True:
            out["state_owned"] = True
        else:
            word = _text(owned).casefold()
            if word in TRUE_WORDS:
                out["state_owned"] = True
            elif word in FALSE_WORDS:
                out["state_owned"] = False
            else:
                self.error(number, "state_owned", _l("Укажите «да» или «нет» (1 или 0)."))
        return FormationRow(number, out) if len(self.errors) == before else None

    def prepare_write(self, items: list[FormationRow]) -> None:
        super().prepare_write(items)
        self.writer = db.session.get(User, self.actor_id)
        self.organization = db.session.get(Organization, self.org_id)

    def write(self, item: FormationRow) -> None:
        from market.cadastre.operations import create_formation

        create_formation(self.organization, actor=self.writer, **item.values)

    def recheck(self, item: FormationRow, exc: DomainError) -> list[RowError]:
        column = getattr(exc, "field", None)
        return [RowError(item.row, column if column in FORMATION_COLUMNS else None, exc)]
