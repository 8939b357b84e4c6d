"""Time a journal import end to end: the upload check, then the job as the consumer runs it.

    .venv/bin/python bench/import_journal.py                      # 100 000 rows, fresh SQLite
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        .venv/bin/python bench/import_journal.py --rows 100000   # fresh PostgreSQL database

Like tests/conftest.py, it creates a fresh database (a temporary SQLite file, or a new
database on the server of a PostgreSQL DATABASE_URL, dropped at the end), migrates it and
loads the reference data; `--database-url URL` uses that database as it is instead (it is
migrated, reference data loaded, and the bench organisation added to it).

It then writes a CSV (or XLSX) of ROWS journal rows for STREAMS streams of one organisation
— generation, receipts, transfers, processing (R codes) and disposal (D codes), dates in
order, balances never below zero — checks and stores it as an upload would, and runs the
`run_import` job outside any app context, exactly as the Huey consumer does (progress is
committed from a separate connection). A thread polls the job from its own connection
twice a second, as the progress page does, to show the bar moving. Finally the journal is
checked against the balances and the figures are printed, with rows per second.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import sys
import tempfile
import threading
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QALDYQ_INSTANCE", tempfile.mkdtemp(prefix="qaldyq-bench-"))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

PLUS = ("generated", "generated", "generated", "received")
MINUS = ("transferred_out", "transferred_out", "processed", "disposed")
R_CODES = ("R3", "R4", "R5", "R12")
D_CODES = ("D1", "D5", "D10")


def fresh_database(url: str | None) -> tuple[str, callable]:
    """A new, empty database like tests/conftest.py's create_database: (url, drop)."""
    if url and url.startswith("postgresql"):
        name = f"qaldyq_bench_import_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        admin = create_engine(make_url(url), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))

        def drop():
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

        return make_url(url).set(database=name).render_as_string(False), drop
    path = Path(tempfile.mkdtemp(prefix="qaldyq-bench-import-")) / "bench.db"
    return f"sqlite:///{path}", lambda: None


def write_file(path: Path, fmt: str, stream_ids: list[int], rows: int, seed: int) -> None:
    """ROWS journal rows in date order; each stream's balance stays at or above zero."""
    rnd = random.Random(seed)
    balance = dict.fromkeys(stream_ids, 0)
    start = date.today() - timedelta(days=730)
    header = ["stream_id", "kind", "quantity", "event_date", "operation_code", "counterparty",
              "document", "note"]

    def lines():
        for i in range(rows):
            sid = rnd.choice(stream_ids)
            day = start + timedelta(days=i * 730 // rows)
            grams = rnd.randint(1, 50_000_000)  # up to 50 t, to the kilogram
            if balance[sid] >= grams and rnd.random() < 0.45:
                kind = rnd.choice(MINUS)
                balance[sid] -= grams
            else:
                kind = rnd.choice(PLUS)
                balance[sid] += grams
            code = rnd.choice(R_CODES) if kind == "processed" else (
                rnd.choice(D_CODES) if kind == "disposed" else "")
            qty = f"{grams // 1000}.{grams % 1000:03d}"
            yield [sid, kind, qty.replace(".", ",") if i % 2 else qty,
                   day.isoformat() if i % 3 else day.strftime("%d.%m.%Y"), code,
                   "ТОО «Контрагент»" if kind in ("received", "transferred_out") else "",
                   f"Акт №{i}" if i % 5 == 0 else "", ""]

    if fmt == "csv":
        with open(path, "w", encoding="utf-8-sig", newline="") as f:
            writer = csv.writer(f, delimiter=";")
            writer.writerow(header)
            writer.writerows(lines())
        return
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    ws = book.create_sheet()
    ws.append(header)
    for line in lines():
        line[0] = int(line[0])
        ws.append(line)
    book.save(path)


def setup(app, n_streams: int) -> tuple[int, int, list[int]]:
    """An organisation, its owner, a site and N_STREAMS streams (committed)."""
    from market.accounts.models import Membership, Organization, User
    from market.core.txn import commit
    from market.extensions import db
    from market.registry import operations as ops

    with app.app_context():
        tag = uuid.uuid4().hex[:8]
        user = User(email=f"bench-{tag}@bench.kz", full_name="Bench Importer", password_hash="x")
        org = Organization(bin=f"99{random.randint(0, 9_999_999_999):010d}", name=f"ТОО Бенч {tag}",
                           region_kato="350000000", address="Караганда", state="verified")
        org.kinds = ["holder"]
        db.session.add_all([user, org])
        db.session.flush()
        db.session.add(Membership(user=user, organization=org, role="owner"))
        db.session.flush()
        db.session.refresh(user)
        site = ops.create_site(org, actor=user, name="Площадка", kind="storage",
                               region_kato="350000000", address="Караганда")
        codes = ("100201", "100202", "100601", "100903", "010101")
        ids = [ops.create_stream(site, actor=user, waste_code=codes[i % len(codes)], name=f"Поток {i}",
                                 physical_state="solid", storage_purpose="recovery").id
               for i in range(n_streams)]
        commit()
        return org.id, user.id, ids


class Watcher(threading.Thread):
    """Polls the job from its own connection twice a second, as the progress page does."""

    def __init__(self, url: str, job_id: int):
        super().__init__(daemon=True)
        self.engine = create_engine(url)
        self.job_id = job_id
        self.samples: list[tuple[float, str, int, int, int]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        t0 = time.perf_counter()
        while not self.stop.is_set():
            with self.engine.connect() as conn:
                row = conn.execute(text("SELECT status, total_rows, processed_rows, imported_rows "
                                        "FROM import_job WHERE id = :id"), {"id": self.job_id}).one()
            self.samples.append((time.perf_counter() - t0, *row))
            if row[0] in ("done", "failed"):
                return
            self.stop.wait(0.5)
        self.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    parser.add_argument("--database-url", help="use this database as it is (default: a fresh one)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    from werkzeug.datastructures import FileStorage

    from config import TestingConfig
    from market import create_app
    from market.core import jobs
    from market.core.txn import commit
    from market.extensions import db, huey
    from market.refdata.loader import load_all
    from market.registry import imports
    from market.registry.journal import check_balances
    from market.registry.models import ImportJob, WasteRecord

    if args.database_url:
        url, drop = args.database_url, lambda: None
    else:
        url, drop = fresh_database(os.environ.get("DATABASE_URL"))
    work = Path(tempfile.mkdtemp(prefix="qaldyq-bench-files-"))
    config = type("BenchConfig", (TestingConfig,), {
        "SQLALCHEMY_DATABASE_URI": url, "HUEY_IMMEDIATE": False, "UPLOAD_DIR": str(work / "uploads"),
        "IMPORT_MAX_ROWS": max(args.rows, imports.DEFAULT_MAX_ROWS),
        "MAX_CONTENT_LENGTH": 1024 * 1024 * 1024})
    app = create_app(config)
    huey.immediate = False  # progress from a separate connection, as in the consumer
    try:
        from flask_migrate import upgrade

        with app.app_context():
            upgrade()
            load_all()
            commit()
        org_id, user_id, stream_ids = setup(app, args.streams)
        source = work / f"journal.{args.format}"
        t = time.perf_counter()
        write_file(source, args.format, stream_ids, args.rows, args.seed)
        print(f"generated {args.rows} rows for {args.streams} streams in {time.perf_counter() - t:.1f} s "
              f"({source.stat().st_size / 1e6:.1f} MB {args.format.upper()})")

        t_upload = time.perf_counter()
        with app.test_request_context(), open(source, "rb") as f:
            from market.accounts.models import Organization, User

            org, user = db.session.get(Organization, org_id), db.session.get(User, user_id)
            job = imports.accept_upload(org, actor=user, kind="journal", locale="ru",
                                        upload=FileStorage(f, filename=source.name))
            db.session.info.pop("after_commit", None)  # enqueued by hand below, timed
            commit()
            job_id = job.id
        t_upload = time.perf_counter() - t_upload

        jobs.use_app(app)
        watcher = Watcher(url, job_id)
        watcher.start()
        t_job, cpu_job = time.perf_counter(), time.process_time()
        status = imports.run_import.call_local(job_id)  # no app context: as the consumer runs it
        t_job, cpu_job = time.perf_counter() - t_job, time.process_time() - cpu_job
        watcher.stop.set()
        watcher.join()

        with app.app_context():
            job = db.session.get(ImportJob, job_id)
            n = db.session.scalar(db.select(db.func.count(WasteRecord.id))
                                  .where(WasteRecord.import_id == job_id))
            bad = check_balances()
        if status != "done":
            print(f"import {status}: {job.errors[:5]}")
            sys.exit(1)
        assert n == args.rows and not bad, (n, bad[:3])

        checked_at = next((s[0] for s in watcher.samples if s[2] and s[3] >= s[2]), None)
        moves = sorted({(s[3], s[4]) for s in watcher.samples})
        dialect = make_url(url).get_backend_name()
        print(f"database: {dialect}; upload check: {t_upload:.1f} s; job: {t_job:.1f} s, "
              f"{cpu_job:.1f} s CPU in this process"
              + (f"; rows read and checked after ~{checked_at:.1f} s" if checked_at else "")
              + f"; peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; "
              f"load average {os.getloadavg()[0]:.1f}")
        print(f"progress seen by the poller: {len(moves)} distinct (checked, written) values, "
              f"e.g. {moves[:: max(1, len(moves) // 6)][:7]}")
        print(f"{args.rows} rows imported: {args.rows / t_job:.0f} rows/s for the job, "
              f"{args.rows / (t_job + t_upload):.0f} rows/s including the upload check")
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop()


if __name__ == "__main__":
    main()
