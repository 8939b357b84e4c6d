"""Fill a PostgreSQL database with a national-scale registry for the page benchmarks.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/qaldyq_bench \
        .venv/bin/python bench/gen_registry.py --records 10000000 --orgs 10000

Creates the schema (migrations), reference data, two users (official@bench.kz and
owner@bench.kz, password "bench-password-1"), ORGS organisations with a site and five
streams each, one "big" organisation with BIG_RECORDS journal records, and the rest of the
RECORDS spread over the others. Balances and FIFO layers are computed from the journal, so
`flask registry check-balances` holds. Bulk rows are written with INSERT ... SELECT
generate_series (the journal triggers refuse only UPDATE and DELETE).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text

PASSWORD = "bench-password-1"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--orgs", type=int, default=10_000)
    parser.add_argument("--big-records", type=int, default=100_000)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgresql"):
        sys.exit("DATABASE_URL must point at a PostgreSQL database")

    from flask_migrate import upgrade

    from market import create_app
    from market.accounts.operations import hash_password
    from market.core.txn import commit
    from market.extensions import db
    from market.refdata.loader import load_all

    app = create_app()
    t0 = time.monotonic()
    with app.app_context():
        upgrade()
        load_all()
        commit()
        pw = hash_password(PASSWORD)
        ex = db.session.execute
        ex(text("""
            INSERT INTO "user" (email, password_hash, full_name, locale, created_at, active,
                                is_admin, is_official, failed_logins, session_nonce,
                                email_confirmed_at)
            VALUES ('official@bench.kz', :pw, 'Bench Official', 'ru', now(), true, false, true, 0,
                    'bench1', now()),
                   ('owner@bench.kz', :pw, 'Bench Owner', 'ru', now(), true, false, false, 0,
                    'bench2', now())"""), {"pw": pw})
        # organisations spread over the 20 regions; org 1 is the big one
        ex(text("""
            INSERT INTO organization (bin, name, region_kato, address, is_holder, is_processor,
                is_carrier, is_investor, is_state_body, state, created_at)
            SELECT lpad(g::text, 12, '0'), 'ТОО Бенч ' || g,
                   (SELECT kato FROM region ORDER BY kato OFFSET (g % 20) LIMIT 1),
                   'адрес ' || g, true, g % 3 = 0, false, false, false, 'verified', now()
            FROM generate_series(1, :n) g"""), {"n": args.orgs})
        ex(text("""
            INSERT INTO membership (user_id, organization_id, role, created_at)
            SELECT u.id, o.id, 'owner', now() FROM "user" u, organization o
            WHERE u.email = 'owner@bench.kz' AND o.bin = lpad('1', 12, '0')"""))
        ex(text("""
            INSERT INTO site (organization_id, name, kind, region_kato, address, lat, lon, created_at)
            SELECT id, 'Площадка ' || id, 'storage', region_kato, address, 48 + (id % 7), 60 + (id % 20), now()
            FROM organization"""))
        ex(text("""
            INSERT INTO waste_stream (site_id, organization_id, waste_code, name, physical_state,
                hazard_properties, storage_purpose, balance, reserved, created_at)
            SELECT s.id, s.organization_id, c.code6, 'Поток ' || c.code6, 'solid', '[]',
                   CASE WHEN k % 3 = 0 THEN 'generation' ELSE 'recovery' END, 0, 0, now()
            FROM site s
            CROSS JOIN generate_series(0, 4) k
            JOIN LATERAL (SELECT code6 FROM waste_code WHERE NOT hazardous
                          ORDER BY code6 OFFSET ((s.id * 7 + k * 131) % 400) LIMIT 1) c ON true"""))
        commit()
        print(f"organisations, sites, streams: {time.monotonic() - t0:.1f} s", flush=True)

        big_streams = [r[0] for r in ex(text(
            "SELECT ws.id FROM waste_stream ws JOIN organization o ON o.id = ws.organization_id "
            "WHERE o.bin = lpad('1', 12, '0') ORDER BY ws.id"))]
        _insert_records(ex, "ws.id = ANY(:ids)", {"ids": big_streams}, args.big_records)
        commit()
        rest = args.records - args.big_records
        batch = 1_000_000
        done = 0
        while done < rest:
            n = min(batch, rest - done)
            _insert_records(ex, "ws.organization_id <> (SELECT id FROM organization WHERE bin = lpad('1', 12, '0'))",
                            {}, n, offset=done)
            commit()
            done += n
            print(f"records: {done + args.big_records:,} ({time.monotonic() - t0:.0f} s)", flush=True)
        # balances and FIFO layers from the journal
        ex(text("""
            UPDATE waste_stream ws SET balance = j.total
            FROM (SELECT stream_id, sum(delta) AS total FROM waste_record GROUP BY stream_id) j
            WHERE j.stream_id = ws.id"""))
        ex(text("""
            INSERT INTO stock_layer (stream_id, stock_date, remaining)
            SELECT id, date '2025-01-01', balance FROM waste_stream WHERE balance > 0"""))
        ex(text("UPDATE waste_stream SET oldest_stock_date = date '2025-01-01' WHERE balance > 0"))
        ex(text("""UPDATE waste_stream SET must_offer_since = date '2025-07-01'
                   WHERE storage_purpose = 'generation' AND balance > 0"""))
        commit()
        ex(text("ANALYZE"))
        commit()
    print(f"done in {time.monotonic() - t0:.0f} s", flush=True)


def _insert_records(ex, where: str, params: dict, n: int, offset: int = 0) -> None:
    """n generated records (all additions, so balances stay positive) over the chosen streams."""
    cnt = ex(text(f"SELECT count(*) FROM waste_stream ws WHERE {where}"), params).scalar()
    ex(text(f"""
        WITH streams AS MATERIALIZED (
            SELECT ws.id, ws.organization_id, ws.site_id, row_number() OVER (ORDER BY ws.id) - 1 AS i
            FROM waste_stream ws WHERE {where})
        INSERT INTO waste_record (stream_id, organization_id, site_id, kind, quantity, delta,
            balance_after, event_date, entered_at, source)
        SELECT s.id, s.organization_id, s.site_id, 'generated', q, q, q,
               date '2025-01-01' + ((g + :offset) % 600), now(), 'import'
        FROM generate_series(1, :n) g
        JOIN streams s ON s.i = (g + :offset) % :cnt
        CROSS JOIN LATERAL (SELECT ((g % 997) + 1)::numeric / 10 AS q) qq"""),
       {**params, "n": n, "offset": offset, "cnt": cnt})


if __name__ == "__main__":
    main()
