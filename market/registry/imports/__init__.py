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

from market.registry.imports.files import (
    COLUMNS,
    DEFAULT_MAX_ROWS,
    FORMATION_COLUMNS,
    FORMATION_REQUIRED,
    IMPORT_KINDS,
    IMPORTABLE_KINDS,
    JOURNAL_COLUMNS,
    JOURNAL_REQUIRED,
    accept_upload,
    can_import,
    megabytes,
)
from market.registry.imports.rows_formations import FormationImport
from market.registry.imports.rows_journal import JournalImport
from market.registry.imports.runner import Progress, process_import, run_import
from market.registry.imports.values import parse_date

__all__ = [
    "COLUMNS", "DEFAULT_MAX_ROWS", "FORMATION_COLUMNS", "FORMATION_REQUIRED", "IMPORTABLE_KINDS",
    "IMPORT_KINDS", "JOURNAL_COLUMNS", "JOURNAL_REQUIRED", "FormationImport", "JournalImport",
    "Progress", "accept_upload", "can_import", "megabytes", "parse_date", "process_import",
    "run_import",
]
