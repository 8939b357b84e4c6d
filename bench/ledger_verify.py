"""Benchmark the public ledger: whole-tree verification and proof latency at 1,000,000 entries.

    .venv/bin/python bench/ledger_verify.py --entries 1000000
    (--admin-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres, --keep to keep the db)

Creates the database qaldyq_bench_ledger, migrates it, fills ENTRIES entries with COPY (leaf
hashes precomputed, a mix of org.verified and lot.awarded payloads), signs a tree head every
HEAD_EVERY entries and at the end, then measures:
- verify_ledger() in-process and `flask --app wsgi ledger verify` as a command (with start-up);
- inclusion and consistency proofs through market.ledger.store (the first one cold: it fills
  the per-process chunk cache) and through the JSON endpoints (the Flask test client: the whole
  WSGI stack without a socket), p50 / p95.
Drops the database at the end unless --keep; --reuse measures again on a kept database. The
signing key is a fixed bench-only key (LEDGER_SIGNING_KEY = SHA-256 of a constant, not a secret).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

DB_NAME = "qaldyq_bench_ledger"


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def fmt(values: list[float]) -> str:
    return (f"p50 {pct(values, 0.5) * 1000:.2f} ms, p95 {pct(values, 0.95) * 1000:.2f} ms "
            f"(n={len(values)})")


def fill(db, entries: int, head_every: int) -> list[int]:
    """COPY the entries in and sign tree heads; returns the head sizes."""
    from datetime import UTC, datetime

    from market.ledger import merkle, signing
    from market.ledger.canonical import canonical_json, leaf_text
    from market.ledger.models import TreeHead

    start = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
    tree = merkle.CompactTree()
    sizes = []
    raw = db.session.connection().connection.dbapi_connection
    with raw.cursor() as cur, cur.copy(
            "COPY ledger_entry (sequence, created_at, kind, payload, leaf_hash) FROM STDIN") as cp:
        for seq in range(entries):
            t = start + seq * 30
            if seq % 3:
                kind = "org.verified"
                payload = canonical_json({"organization": {"id": seq, "bin": f"{seq:012d}",
                                                           "name": f"ТОО «Предприятие {seq}»"},
                                          "reason": None, "state": "verified"})
            else:
                kind = "lot.awarded"
                payload = canonical_json({
                    "bid": seq, "bid_log_sha256": f"{seq:064x}", "deal": seq,
                    "buyer": {"bin": f"{seq + 1:012d}", "id": seq + 1, "name": f"ТОО «П {seq}»"},
                    "lot": {"id": seq, "title": f"Шлак металлургический, партия {seq}",
                            "waste_code": "100201"},
                    "price_basis": "per_t", "quantity": "125.500",
                    "seller": {"bin": f"{seq + 2:012d}", "id": seq + 2, "name": "АО «Комбинат»"},
                    "total": 1_255_000_000, "unit_price": 10_000_000})
            digest = merkle.leaf_hash(leaf_text(seq, kind, t, payload).encode())
            tree.append(digest)
            cp.write_row((seq, datetime.fromtimestamp(t, UTC), kind, payload, digest.hex()))
            if tree.size % head_every == 0 or tree.size == entries:
                sizes.append(tree.size)
    # Heads: roots from a second pass would cost as much; recompute with the compact tree.
    tree = merkle.CompactTree()
    heads = set(sizes)
    rows = db.session.execute(text("SELECT leaf_hash FROM ledger_entry ORDER BY sequence")
                              .execution_options(yield_per=50000))
    for (h,) in rows:
        tree.append(bytes.fromhex(h))
        if tree.size in heads:
            root = tree.root().hex()
            ts = start + tree.size * 30
            sig, key_id = signing.sign_head(tree.size, root, ts)
            db.session.add(TreeHead(size=tree.size, root_hash=root, signature=sig, key_id=key_id,
                                    timestamp=datetime.fromtimestamp(ts, UTC)))
    db.session.commit()
    db.session.execute(text("ANALYZE ledger_entry"))
    db.session.commit()
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--head-every", type=int, default=100_000)
    parser.add_argument("--proofs", type=int, default=200)
    parser.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="measure on the kept database")
    args = parser.parse_args()

    admin = create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
    if not args.reuse:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    url = make_url(args.admin_url).set(database=DB_NAME).render_as_string(False)
    os.environ["DATABASE_URL"] = url
    seed = hashlib.sha256(b"qaldyq bench ledger key").digest()
    os.environ["LEDGER_SIGNING_KEY"] = base64.b64encode(seed).decode()
    try:
        run(args, url)
    finally:
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        admin.dispose()


def run(args, url: str) -> None:
    from flask_migrate import upgrade

    from market import create_app
    from market.extensions import db
    from market.ledger import merkle
    from market.ledger.models import LedgerEntry
    from market.ledger.store import StoredTree
    from market.ledger.verify import verify_ledger

    app = create_app()
    with app.app_context():
        if args.reuse:
            sizes = list(db.session.scalars(text("SELECT size FROM ledger_tree_head ORDER BY size")))
        else:
            upgrade()
            t0 = time.perf_counter()
            sizes = fill(db, args.entries, args.head_every)
            print(f"filled {args.entries:,} entries and {len(sizes)} signed heads in "
                  f"{time.perf_counter() - t0:.1f} s")
        db.session.remove()

        for attempt in range(3):
            t0, c0 = time.perf_counter(), time.process_time()
            report = verify_ledger()
            took, cpu = time.perf_counter() - t0, time.process_time() - c0
            db.session.remove()
            print(f"verify_ledger() run {attempt + 1}: {took:.2f} s wall, {cpu:.2f} s CPU of "
                  f"this process, ok={report.ok}, {report.entries:,} entries, "
                  f"{report.heads} heads; load average {os.getloadavg()[0]:.1f}")
            assert report.ok, report.problem
        t0 = time.perf_counter()
        cli = subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "ledger", "verify"],
                             cwd=ROOT, capture_output=True, text=True, env=os.environ.copy())
        print(f"`flask --app wsgi ledger verify`: {time.perf_counter() - t0:.2f} s wall, "
              f"exit {cli.returncode}: {cli.stdout.strip()} {cli.stderr.strip()[-200:]}")

        size = sizes[-1]
        rng = random.Random(7)
        t0 = time.perf_counter()
        tree = StoredTree(size)
        root = tree.root()
        print(f"cold: first root of {size:,} (fills the chunk cache): "
              f"{(time.perf_counter() - t0) * 1000:.0f} ms")
        incl, cons = [], []
        for _ in range(args.proofs):
            i = rng.randrange(size)
            t0 = time.perf_counter()
            path = StoredTree(size).inclusion(i)
            incl.append(time.perf_counter() - t0)
            leaf = bytes.fromhex(db.session.get_one(LedgerEntry, i).leaf_hash)
            merkle.verify_inclusion(i, size, leaf, path, root)
            a, b = sorted(rng.sample(sizes, 2))
            t0 = time.perf_counter()
            StoredTree(b).consistency(a)
            cons.append(time.perf_counter() - t0)
            db.session.remove()
        print(f"inclusion proof (app function), tree {size:,}: {fmt(incl)}")
        print(f"consistency proof (app function): {fmt(cons)}")

        client = app.test_client()
        http_incl, http_cons = [], []
        for _ in range(args.proofs):
            i = rng.randrange(size)
            t0 = time.perf_counter()
            r = client.get(f"/ledger/api/entries/{i}.json")
            http_incl.append(time.perf_counter() - t0)
            assert r.status_code == 200 and r.get_json()["inclusion"]
            a, b = sorted(rng.sample(sizes, 2))
            t0 = time.perf_counter()
            r = client.get(f"/ledger/api/consistency.json?first={a}&second={b}")
            http_cons.append(time.perf_counter() - t0)
            assert r.status_code == 200
        print(f"GET /ledger/api/entries/<n>.json (test client): {fmt(http_incl)}")
        print(f"GET /ledger/api/consistency.json (test client): {fmt(http_cons)}")
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    main()
