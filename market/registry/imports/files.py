"""Import files: kinds and columns, reading CSV/XLSX, the upload."""


from __future__ import annotations

import csv
import logging
import secrets
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import NamedTuple

from flask import current_app
from flask_babel import lazy_gettext as _l

from market.accounts.models import Organization, OrgRole, User
from market.core.errors import DomainError, PermissionDenied
from market.core.txn import after_commit
from market.extensions import db
from market.registry.models import ImportJob, RecordKind

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
    from market.registry.imports.runner import run_import  # the job module imports this one

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


