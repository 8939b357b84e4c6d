"""Fill a PostgreSQL database with a national-scale exchange for the lots-search benchmark.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/qaldyq_bench_lots \
        .venv/bin/python bench/gen_lots.py --fresh --lots 1000000 --orgs 50000

Creates the schema (migrations) and reference data, two users (official@bench.kz and
owner@bench.kz, password "bench-password-1", the owner owns organisation 1), ORGS verified
organisations with one site each and 1–5 waste streams (hazardous ones with a passport), and
LOTS lots from those streams: titles and descriptions in Russian (some in Kazakh, some with a
Kazakh sentence) drawn from vocabulary that fits each stream's waste code (bench/lots_vocab.py),
``search_text`` exactly as ``market.lots.search.build_search_text`` makes it. About two thirds
are published; the rest are drafts, closed, awarded, transferred or withdrawn. Each stream's
``reserved`` is the sum of its published lots and its balance is that plus a free part, written
by one "generated" journal record with its FIFO layer, so `flask registry check-balances` holds.

Rows are written with COPY; the lot indexes other than the primary key are dropped before and
recreated after (same definitions, read from pg_indexes), then ANALYZE. ``--fresh`` drops and
recreates the database first; without it the script refuses a database that already has lots.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import lots_vocab as vocab
import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url

PASSWORD = "bench-password-1"
# KATO region → weight: the industrial regions hold most of the waste
REGION_WEIGHTS = {"350000000": 12, "550000000": 11, "630000000": 9, "620000000": 7, "150000000": 7,
                  "390000000": 6, "230000000": 6, "470000000": 5, "100000000": 5, "310000000": 4,
                  "270000000": 4, "430000000": 3, "610000000": 3, "190000000": 3, "110000000": 3,
                  "590000000": 2, "330000000": 2, "710000000": 3, "750000000": 3, "790000000": 3}
CHAPTER_WEIGHTS = {"01": 22, "10": 25, "17": 8, "19": 8, "05": 6, "16": 5, "12": 5, "15": 4, "13": 3,
                   "20": 3, "06": 3, "11": 2, "03": 2, "02": 1, "07": 1, "08": 1, "04": 0.5,
                   "09": 0.3, "14": 0.3, "18": 0.5}
BULK = {"шлак", "зола", "хвосты", "пыль", "кек", "шлам", "вскрышные породы", "съёмы", "металлолом",
        "окалина", "фосфогипс", "буровой шлам"}
MODES = (("fixed", 42), ("english", 14), ("sealed", 10), ("reverse", 10), ("free", 24))
ORG_WORDS = (["Каз", "Сары", "Жез", "Ертіс", "Алтын", "Темір", "Балқаш", "Экибастуз", "Арал", "Шу",
              "Тобол", "Есіл", "Қарат", "Орал", "Жайық", "Көкше"],
             ["металл", "цинк", "энерго", "ресурс", "руда", "строй", "хим", "полимет", "ферро",
              "уголь", "мұнай", "эко", "рециклинг", "трейд"])
LOT_COLUMNS = ("id", "organization_id", "created_by_id", "stream_id", "title", "description",
               "search_text", "waste_code", "quantity", "unit", "min_take", "monthly_quantity",
               "supply_from", "supply_to", "region_kato", "lat", "lon", "available_from",
               "available_to", "delivery", "pricing_mode", "price_basis", "price", "increment",
               "reserve_price", "ends_at", "anti_snipe_minutes", "mandatory", "state",
               "published_at", "closed_at", "state_reason", "views", "created_at", "updated_at")


def bin_for(n: int) -> str:
    from market.accounts.bin import check_digit

    k = 0
    while True:  # YYMM, entity digit 4, a serial; the 12th digit is the official check digit
        first = f"{(n + k) % 100:02d}{n % 12 + 1:02d}4{(n + k * 100_003) % 1_000_000:06d}"
        digit = check_digit(first)
        if digit is not None:
            return first + str(digit)
        k += 1


def recreate(url: str) -> None:
    name = make_url(url).database
    with psycopg.connect(_dsn(url, "postgres"), autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def _dsn(url: str, database: str | None = None) -> str:
    u = make_url(url).set(drivername="postgresql")
    if database:
        u = u.set(database=database)
    return u.render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lots", type=int, default=1_000_000)
    parser.add_argument("--orgs", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--fresh", action="store_true", help="drop and recreate the database first")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        sys.exit("DATABASE_URL must point at a PostgreSQL database")
    t0 = time.monotonic()
    if args.fresh:
        recreate(url)

    from flask_migrate import upgrade

    from market import create_app
    from market.accounts.operations import hash_password
    from market.core.txn import commit
    from market.extensions import db
    from market.refdata.loader import load_all

    app = create_app()
    with app.app_context():
        upgrade()
        load_all()
        commit()
        if db.session.execute(text("SELECT count(*) FROM lot")).scalar():
            sys.exit("the database already has lots: use --fresh to regenerate")
        codes = [SimpleNamespace(**dict(r._mapping)) for r in db.session.execute(text(
            "SELECT code6, code, chapter, subchapter, hazardous, description_en, description_ru,"
            " description_kk FROM waste_code ORDER BY code6"))]
        regions = {r.kato: (r.lat, r.lon) for r in db.session.execute(text("SELECT kato, lat, lon FROM region"))}
        pw = hash_password(PASSWORD)
    print(f"schema and reference data: {time.monotonic() - t0:.1f} s", flush=True)
    rng = random.Random(args.seed)
    with psycopg.connect(_dsn(url)) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '1GB'")
        t1 = time.monotonic()
        streams = _registry(conn, rng, args.orgs, codes, regions, pw)
        conn.commit()
        print(f"{args.orgs:,} organisations and sites, {len(streams):,} streams: "
              f"{time.monotonic() - t1:.1f} s", flush=True)
        t1 = time.monotonic()
        indexes = conn.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'lot'"
                               " AND indexname <> 'pk_lot' ORDER BY indexname").fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        conn.commit()
        _lots(conn, rng, args.lots, streams, t0)
        print(f"{args.lots:,} lots copied: {time.monotonic() - t1:.1f} s", flush=True)
        t1 = time.monotonic()
        for name, ddl in indexes:
            t2 = time.monotonic()
            conn.execute(ddl)
            conn.commit()
            print(f"  index {name}: {time.monotonic() - t2:.1f} s", flush=True)
        print(f"lot indexes: {time.monotonic() - t1:.1f} s", flush=True)
        t1 = time.monotonic()
        _balances(conn)
        conn.commit()
        print(f"reservations, balances, journal: {time.monotonic() - t1:.1f} s", flush=True)
        t1 = time.monotonic()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
        print(f"VACUUM ANALYZE: {time.monotonic() - t1:.1f} s", flush=True)
        size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database())),"
                            " pg_size_pretty(pg_total_relation_size('lot'))").fetchone()
        counts = conn.execute("SELECT state, count(*) FROM lot GROUP BY 1 ORDER BY 2 DESC").fetchall()
    print("lots by state: " + ", ".join(f"{s} {n:,}" for s, n in counts))
    print(f"database {size[0]}, lot table with indexes {size[1]}; done in {time.monotonic() - t0:.0f} s",
          flush=True)


def _registry(conn, rng: random.Random, n_orgs: int, codes, regions, pw: str) -> list:
    """Users, organisations, sites, streams (balance 0 for now), passports. Returns the streams."""
    now = datetime.now(UTC)
    conn.execute("""
        INSERT INTO "user" (email, password_hash, full_name, locale, created_at, active, is_admin,
                            is_official, failed_logins, session_nonce, email_confirmed_at)
        VALUES ('official@bench.kz', %(pw)s, 'Bench Official', 'ru', now(), true, false, true, 0, 'bench1', now()),
               ('owner@bench.kz', %(pw)s, 'Bench Owner', 'ru', now(), true, false, false, 0, 'bench2', now())""",
                 {"pw": pw})
    katos = list(REGION_WEIGHTS)
    org_regions = rng.choices(katos, weights=list(REGION_WEIGHTS.values()), k=n_orgs)
    with conn.cursor().copy("COPY organization (id, bin, name, region_kato, address, is_holder, is_processor,"
                            " is_carrier, is_investor, is_state_body, state, state_changed_at, created_at)"
                            " FROM STDIN") as cp:
        for i in range(1, n_orgs + 1):
            name = f"ТОО «{rng.choice(ORG_WORDS[0])}{rng.choice(ORG_WORDS[1])}-{i}»"
            cp.write_row((i, bin_for(i), name, org_regions[i - 1], f"ул. Промышленная, {i % 300 + 1}",
                          True, i % 3 == 0, i % 17 == 0, i % 11 == 0, False, "verified", now, now))
    conn.execute("""INSERT INTO membership (user_id, organization_id, role, created_at)
                    SELECT id, 1, 'owner', now() FROM "user" WHERE email = 'owner@bench.kz'""")
    sites = {}
    with conn.cursor().copy("COPY site (id, organization_id, name, kind, region_kato, address, lat, lon,"
                            " created_at) FROM STDIN") as cp:
        for i in range(1, n_orgs + 1):
            kato = org_regions[i - 1]
            lat, lon = regions[kato]
            spread = 0.15 if kato in ("710000000", "750000000", "790000000") else 1.5
            lat, lon = round(lat + rng.uniform(-spread, spread), 5), round(lon + rng.uniform(-spread, spread), 5)
            sites[i] = (kato, lat, lon)
            cp.write_row((i, i, f"Площадка {i}", rng.choice(("production", "storage", "storage", "processing")),
                          kato, f"промзона, участок {i}", lat, lon, now))
    by_chapter = {}
    for c in codes:
        by_chapter.setdefault(c.chapter, []).append(c)
    weights = []
    for c in codes:
        noun = vocab.noun_for(c.description_en)[0][0][0]
        factor = 6 if noun in BULK else (1 if noun == "отходы" else 2)
        weights.append(CHAPTER_WEIGHTS.get(c.chapter, 0.3) / len(by_chapter[c.chapter]) * factor)
    streams = []
    sid = 0
    with conn.cursor().copy("COPY waste_stream (id, site_id, organization_id, waste_code, name, physical_state,"
                            " hazard_properties, storage_purpose, balance, reserved, must_offer_since, created_at)"
                            " FROM STDIN") as cp:
        for i in range(1, n_orgs + 1):
            kato, lat, lon = sites[i]
            for code in rng.choices(codes, weights=weights, k=rng.choice((1, 2, 3, 3, 4, 5))):
                sid += 1
                purpose = rng.choices(("generation", "recovery", "disposal"), (30, 60, 10))[0]
                must = date(2026, 1, 1) + timedelta(days=rng.randint(0, 300)) \
                    if purpose == "generation" and rng.random() < 0.3 else None
                hp = '["HP14"]' if code.hazardous else "[]"
                cp.write_row((sid, i, i, code.code6, vocab.stream_name(code), vocab.physical_state(code), hp,
                              purpose, 0, 0, must, now))
                streams.append(SimpleNamespace(id=sid, org=i, code=code, kato=kato, lat=lat, lon=lon,
                                               mandatory=must is not None))
    with conn.cursor().copy("COPY passport (stream_id, composition, hazard_properties, handling, transport,"
                            " emergency, compiled_by, compiled_on, version, updated_at) FROM STDIN") as cp:
        for s in streams:
            if s.code.hazardous:
                cp.write_row((s.id, "по протоколу испытаний", '["HP14"]', "в закрытых ёмкостях",
                              "спецтранспортом", "изолировать, сообщить в МЧС", "инженер-эколог",
                              date(2026, 1, 15), 1, now))
    for table, n in (("organization", n_orgs), ("site", n_orgs), ("waste_stream", sid)):
        conn.execute(f"SELECT setval('{table}_id_seq', %s)", (n,))
    return streams


def _qty(rng: random.Random) -> Decimal:
    q = min(max(rng.lognormvariate(math.log(300), 1.6), 0.5), 2_000_000)
    return Decimal(f"{q:.1f}") if q < 1000 else Decimal(int(q))


def _lot_row(rng: random.Random, i: int, n: int, s, now: datetime, owner_id: int):
    """One lot of stream ``s`` created at the i-th of n moments over the past two years."""
    from market.lots.search import build_search_text

    created = now - timedelta(days=730) + timedelta(days=730 * i / n) - timedelta(minutes=rng.randint(60, 600))
    age = (now - created).days
    if age > 365:
        state = rng.choices(("published", "closed", "transferred", "awarded", "withdrawn", "draft"),
                            (45, 25, 12, 3, 13, 2))[0]
    else:
        state = rng.choices(("published", "draft", "closed", "withdrawn", "awarded", "transferred"),
                            (82, 7, 4, 4, 2, 1))[0]
    hazardous = bool(s.code.hazardous)
    mode = rng.choices([m for m, _ in MODES], [w * (3 if m == "reverse" and hazardous else 1)
                                               for m, w in MODES])[0]
    qty = _qty(rng)
    per_lot = rng.random() < 0.15 and mode == "fixed"
    basis = "per_lot" if per_lot else "per_t"
    tonne_price = int(rng.lognormvariate(math.log(3000), 1.0)) * 100  # tiyn per tonne
    price = increment = reserve = None
    if mode in ("fixed", "english", "reverse") or (mode == "sealed" and rng.random() < 0.5):
        price = min(tonne_price * int(qty), 10**14) if per_lot else tonne_price
    if mode in ("english", "reverse"):
        increment = max(price // 20 // 100 * 100, 100)
    if mode == "english" and rng.random() < 0.3:
        reserve = price + increment * rng.randint(1, 10)
    published = closed = ends = reason = None
    if state != "draft":
        published = min(created + timedelta(minutes=rng.randint(5, 2880)), now - timedelta(minutes=30))
    auction = mode in ("english", "sealed", "reverse")
    if state == "published":
        if auction or rng.random() < 0.4:
            ends = now + timedelta(minutes=rng.randint(120, 60 * 24 * 60))
    elif state in ("closed", "awarded", "transferred"):
        ends = closed = max(min(published + timedelta(days=rng.randint(7, 60)), now - timedelta(hours=1)),
                            published)
    elif state == "withdrawn":
        closed = (published or created) + timedelta(days=rng.randint(1, 30))
        closed = max(min(closed, now - timedelta(hours=1)), published or created)
        reason = rng.choice(("Продано вне площадки", "Отходы переработаны на месте", "Ошибка в объёме"))
    elif auction:
        ends = created + timedelta(days=30)
    min_take = None
    if rng.random() < 0.25 and qty >= 2:
        min_take = max(Decimal(int(qty * Decimal(rng.uniform(0.05, 0.5)))), Decimal(1))
    monthly = supply_from = supply_to = None
    if s.code.chapter == "10" and rng.random() < 0.08:
        monthly = max((qty / 12).quantize(Decimal("0.1")), Decimal("0.1"))
        supply_from = (created + timedelta(days=30)).date()
        supply_to = supply_from + timedelta(days=365)
    avail_from = avail_to = None
    if rng.random() < 0.3:
        avail_from = created.date()
        avail_to = avail_from + timedelta(days=rng.randint(30, 400))
    kazakh = rng.random() < 0.12
    qtext = f"{qty:,}".replace(",", "\u00a0").replace(".", ",")
    title, description = vocab.texts(rng, s.code, qtext, hazardous, kazakh)
    search_text = build_search_text(title, description, s.code.code6, s.code)
    updated = closed or published or created
    return (i + 1, s.org, owner_id if s.org == 1 else None, s.id, title, description, search_text,
            s.code.code6, qty, "t", min_take, monthly, supply_from, supply_to, s.kato, s.lat, s.lon,
            avail_from, avail_to, rng.choices(("pickup", "delivered"), (75, 25))[0], mode, basis, price,
            increment, reserve, ends, 5 if mode == "english" else 0, s.mandatory, state, published, closed,
            reason, int(rng.expovariate(1 / 30)), created, updated)


def _lots(conn, rng: random.Random, n: int, streams: list, t0: float) -> None:
    now = datetime.now(UTC)
    owner_id = conn.execute("""SELECT id FROM "user" WHERE email = 'owner@bench.kz'""").fetchone()[0]
    weights = [rng.paretovariate(1.2) for _ in streams]  # a few holders list a lot of lots
    chosen = rng.choices(streams, weights=weights, k=n)
    batch = 100_000
    for start in range(0, n, batch):
        with conn.cursor().copy(f"COPY lot ({', '.join(LOT_COLUMNS)}) FROM STDIN") as cp:
            for i in range(start, min(start + batch, n)):
                cp.write_row(_lot_row(rng, i, n, chosen[i], now, owner_id))
        conn.commit()
        print(f"  lots: {min(start + batch, n):,} ({time.monotonic() - t0:.0f} s)", flush=True)
    conn.execute("SELECT setval('lot_id_seq', %s)", (n,))


def _balances(conn) -> None:
    """reserved = the stream's published lots; balance = that plus a free part, from one journal record."""
    conn.execute("""
        UPDATE waste_stream ws SET reserved = r.total, balance = r.total
        FROM (SELECT stream_id, sum(quantity) AS total FROM lot WHERE state = 'published'
              GROUP BY stream_id) r
        WHERE r.stream_id = ws.id""")
    conn.execute("""
        UPDATE waste_stream SET balance = balance + round(((id * 7919) % 5000)::numeric
                                                          + balance * ((id % 97) / 100.0), 1)""")
    conn.execute("""
        INSERT INTO waste_record (stream_id, organization_id, site_id, kind, quantity, delta,
                                  balance_after, event_date, entered_at, source)
        SELECT id, organization_id, site_id, 'generated', balance, balance, balance,
               date '2024-12-01', now(), 'import'
        FROM waste_stream WHERE balance > 0""")
    conn.execute("""
        INSERT INTO stock_layer (stream_id, stock_date, remaining)
        SELECT id, date '2024-12-01', balance FROM waste_stream WHERE balance > 0""")
    conn.execute("UPDATE waste_stream SET oldest_stock_date = date '2024-12-01' WHERE balance > 0")


if __name__ == "__main__":
    main()
