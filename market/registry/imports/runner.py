"""The import job: two passes, progress from a separate connection, the outcome."""


from __future__ import annotations

import logging
from pathlib import Path

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from market.accounts.models import Organization, User
from market.core import audit
from market.core.errors import DomainError, PermissionDenied
from market.core.jobs import job
from market.core.timeutil import utcnow
from market.core.txn import commit, rollback
from market.extensions import db, huey
from market.registry.imports.files import (
    CHUNK,
    DEFAULT_MAX_ROWS,
    MAX_ERRORS,
    PROGRESS_EVERY,
    ImportFileError,
    RowError,
    can_import,
    open_table,
    stored_file,
)
from market.registry.models import ImportJob

log = logging.getLogger("qaldyq.imports")


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
    # The importers build on _Import below, so they are imported when a job runs.
    from market.registry.imports.rows_formations import FormationImport
    from market.registry.imports.rows_journal import JournalImport

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
                    self.write_chunk(chunk)
                self.progress.write(writing=True, imported_rows=start + len(chunk))
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

    def write_chunk(self, chunk: list) -> None:
        """Write the rows of one chunk (importers may batch them)."""
        for item in chunk:
            self.write(item)

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


