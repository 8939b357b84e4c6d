"""Bids per second over HTTP on PostgreSQL (API v1), with the invariants checked afterwards.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/qaldyq_bench_bids \
        .venv/bin/python bench/bids.py --duration 20 [--scenario hot|spread|both] [--keep]

Creates the database (dropped first if it is there, dropped after unless --keep), migrates it,
builds a world: one verified holder with a stream, one hot English lot and LOTS other English
lots (published through the lot operations), BIDDERS verified processor organisations with an
owner and a `bids:write` API token each (rows written directly, for speed). Starts gunicorn
for the app and for bench/hello_app.py with the settings of bench/pages.py (2 workers × 4
threads, gthread), drives the bare page and then the bids with bench/bids_load.py (procs ×
threads keep-alive connections; every bid is the current price + the step, as the bidder's
last answer said), and then checks in the database, per lot:

- placed bids in id order rise by at least the step, and so does the price after each one;
- exactly one active bid, the auction's leader; the bid count equals the placed bids;
- nothing lost: every 201 answer's bid is a row with its bid-log event (and its stored
  Idempotency-Key answer), and no bid row is without a 201;
- a serial replay of the bid log through market.auctions.rules.replay ends with the same
  leader and price.

`--profile N` instead places N bids in-process (test client, the same world) and prints the SQL
statements per bid and cProfile's top functions.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bids_load
import psycopg
from pages import free_port, start
from sqlalchemy.engine import make_url

START, STEP = 100_000_000, 100_000  # 1 000 000 ₸, step 1 000 ₸: the typo guard stays far away
ROOT = Path(__file__).resolve().parents[1]


def _dsn(url: str, database: str | None = None) -> str:
    u = make_url(url).set(drivername="postgresql")
    if database:
        u = u.set(database=database)
    return u.render_as_string(hide_password=False)


def recreate(url: str, *, drop_only: bool = False) -> None:
    name = make_url(url).database
    with psycopg.connect(_dsn(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def build_world(n_lots: int, n_bidders: int) -> tuple[int, list[int], list[tuple[int, str]]]:
    """(hot lot id, other lot ids, [(bidder org id, token secret)]), committed."""
    from flask_migrate import upgrade

    from market import create_app
    from market.accounts.models import Membership, Organization, OrgRole, User
    from market.api.models import ApiToken
    from market.api.tokens import PREFIX_LENGTH, TOKEN_PREFIX, hash_secret
    from market.core.timeutil import utcnow
    from market.core.txn import commit
    from market.extensions import db
    from market.lots.operations import create_lot, publish_lot
    from market.refdata.loader import load_all
    from market.registry import operations as reg
    from market.registry.journal import record
    from tests.factories import valid_bin

    app = create_app()
    with app.app_context():
        upgrade()
        load_all()
        commit()
        user = User(email="holder@bench.kz", full_name="Holder", password_hash="x")
        org = Organization(bin=valid_bin(1), name="ТОО Держатель", region_kato="350000000",
                           address="Караганда", state="verified")
        org.kinds = ["holder"]
        db.session.add_all([user, org])
        db.session.flush()
        db.session.add(Membership(user=user, organization=org, role=OrgRole.owner.value))
        db.session.flush()
        db.session.refresh(user)
        site = reg.create_site(org, actor=user, name="Отвал", kind="storage", region_kato="350000000",
                               address="Караганда")
        stream = reg.create_stream(site, actor=user, waste_code="100201", name="Шлак",
                                   physical_state="solid", storage_purpose="recovery")
        record(stream, actor=user, kind="generated", quantity=str(10 * (n_lots + 1)),
               event_date=date(2026, 1, 1))
        ends = utcnow() + timedelta(days=2)
        ids = []
        for i in range(n_lots + 1):
            lot = create_lot(org, actor=user, stream=stream, title=f"Шлак, партия {i}", quantity="10",
                             pricing_mode="english", price=START, increment=STEP, ends_at=ends)
            publish_lot(lot, actor=user)
            ids.append(lot.id)
        commit()
        bidders = []
        for i in range(n_bidders):
            person = User(email=f"bidder{i}@bench.kz", full_name=f"Bidder {i}", password_hash="x")
            firm = Organization(bin=valid_bin(10_000 + i), name=f"ТОО Переработчик {i}",
                                region_kato="350000000", address="Караганда", state="verified")
            firm.kinds = ["processor"]
            db.session.add_all([person, firm])
            bidders.append((person, firm))
        db.session.flush()
        out = []
        for person, firm in bidders:
            db.session.add(Membership(user_id=person.id, organization_id=firm.id, role=OrgRole.owner.value))
            secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
            db.session.add(ApiToken(organization_id=firm.id, name="bench", prefix=secret[:PREFIX_LENGTH],
                                    token_hash=hash_secret(secret), scopes=["bids:write"],
                                    created_by_id=person.id))
            out.append((firm.id, secret))
        commit()
        return ids[0], ids[1:], out


def stored_answers() -> int:
    from sqlalchemy import func, select

    from market import create_app
    from market.api.models import IdempotencyRecord
    from market.extensions import db

    with create_app().app_context():
        return db.session.scalar(select(func.count(IdempotencyRecord.id)))


def check(lot_ids: list[int], accepted: list[tuple[int, int, int, int]], keys: bool,
          stored_before: int) -> list[str]:
    """The invariants; returns the anomalies found (empty: none)."""
    from sqlalchemy import func, select

    from market import create_app
    from market.api.models import IdempotencyRecord
    from market.auctions.models import Auction, Bid, BidEvent
    from market.auctions.rules import Entry, replay
    from market.extensions import db

    anomalies: list[str] = []
    answered = {}
    for lot, org, bid_id, amount in accepted:
        answered.setdefault(bid_id, (lot, org, amount))
    app = create_app()
    with app.app_context():
        touched = {lot for lot, *_ in accepted} | set(lot_ids)
        for lot_id in sorted(touched):
            bids = db.session.scalars(select(Bid).where(Bid.lot_id == lot_id).order_by(Bid.id)).all()
            log = db.session.scalars(select(BidEvent).where(BidEvent.lot_id == lot_id)
                                     .order_by(BidEvent.id)).all()
            auction = db.session.scalar(select(Auction).where(Auction.lot_id == lot_id))
            if not bids:
                continue
            placed = [e for e in log if e.kind == "placed"]
            if [e.bid_id for e in placed] != [b.id for b in bids]:
                anomalies.append(f"lot {lot_id}: bid log and bids differ")
            if bids[0].amount < START or any(b.amount - a.amount < STEP for a, b in pairwise(bids)):
                anomalies.append(f"lot {lot_id}: bids not rising by the step")
            if any(b.price - a.price < STEP for a, b in pairwise(placed)):
                anomalies.append(f"lot {lot_id}: price not rising by the step")
            active = [b for b in bids if b.state == "active"]
            if len(active) != 1 or active[0].id != auction.leader_bid_id:
                anomalies.append(f"lot {lot_id}: {len(active)} active bids, leader {auction.leader_bid_id}")
            if auction.bid_count != len(bids) or auction.price != log[-1].price:
                anomalies.append(f"lot {lot_id}: auction row out of step with the log")
            entries = [Entry(e.bid_id, e.organization_id, e.amount,
                             e.max_amount if e.max_amount is not None else e.amount)
                       for e in log if e.kind in ("placed", "revised")]
            book = replay("english", entries, increment=STEP, reserve=None)
            if (book.leader.org_id, book.price) != (auction.leader.organization_id, auction.price):
                anomalies.append(f"lot {lot_id}: serial replay differs")
            missing = {b.id for b in bids} - set(answered)
            if missing:
                anomalies.append(f"lot {lot_id}: {len(missing)} bids without a 201 answer")
        rows = dict(db.session.execute(select(Bid.id, Bid.lot_id).where(Bid.id.in_(list(answered)))).all())
        lost = [b for b, (lot, _o, _a) in answered.items() if rows.get(b) != lot]
        if lost:
            anomalies.append(f"{len(lost)} accepted answers without their bid row: {lost[:5]}")
        if keys:
            stored = db.session.scalar(select(func.count(IdempotencyRecord.id))) - stored_before
            if stored != len(accepted):
                anomalies.append(f"{stored} stored Idempotency-Key answers for {len(accepted)} accepted")
    return anomalies


def assign(lots: list[int], bidders, procs: int, threads: int) -> list:
    """Split the bidders over procs × threads; each thread bids on all ``lots``."""
    n = procs * threads
    start_minimum = dict.fromkeys(lots, START)
    return [(start_minimum, bidders[t::n]) for t in range(n)]


def line(label: str, r: dict, base: float | None = None, extra: str = "") -> str:
    ratio = f"  {100 * r['rps'] / base:5.1f} % of bare" if base else ""
    return (f"{label:34} p50 {r['p50']:6.1f}ms p95 {r['p95']:6.1f}ms p99 {r['p99']:6.1f}ms "
            f"{r['rps']:7.0f} req/s{ratio}{extra}")


def bid_run(label, port, lots, bidders, args, hello_rps) -> list[str]:
    work = assign(lots, bidders, args.procs, args.threads)
    before = stored_answers()
    r = bids_load.run("bid", port, procs=args.procs, threads=args.threads, duration=args.duration,
                      work=work, keys=not args.no_keys)
    counts = r["counts"]
    ok = counts.get(201, 0)
    new = len({bid_id for _l, _o, bid_id, _a in r["accepted"]})
    errors = sum(v for k, v in counts.items() if k not in (201, 409))
    print(line(label, r, hello_rps,
               f"\n{'':34} accepted {ok / args.duration:6.1f}/s ({ok}, {new} new bids), refused 409 "
               f"{counts.get(409, 0)}, other {errors} {counts}"), flush=True)
    anomalies = check(lots, r["accepted"], not args.no_keys, before)
    print(f"{'':34} invariants: {anomalies if anomalies else 'OK'}", flush=True)
    return anomalies


def profile(hot: int, bidders, n: int) -> None:
    """N bids on the hot lot in-process: SQL statements per bid and cProfile's top."""
    import cProfile
    import pstats

    from sqlalchemy import event

    from market import create_app
    from market.extensions import db

    app = create_app()
    client = app.test_client()
    statements = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute",
                     lambda *a, **k: statements.append(a[2]))
    minimum = START
    per_bid = []
    prof = cProfile.Profile()
    for i in range(n):
        _org, secret = bidders[i % len(bidders)]
        before = len(statements)
        prof.enable()
        r = client.post(f"/api/v1/lots/{hot}/bids", json={"amount": minimum},
                        headers={"Authorization": f"Bearer {secret}", "Idempotency-Key": f"p{i}"})
        prof.disable()
        per_bid.append(statements[before:])
        assert r.status_code == 201, r.get_json()
        minimum = r.get_json()["auction"]["minimum"]
    last = [s.split(None, 1)[0].upper() for s in per_bid[-1]]
    print(f"{n} bids; SQL statements per bid (last): {len(last)}: "
          f"{ {k: last.count(k) for k in sorted(set(last))} }")
    if os.environ.get("BENCH_SQL"):
        for text in per_bid[-1]:
            print("  ", " ".join(text.split())[:220])
    pstats.Stats(prof).sort_stats("cumulative").print_stats(40)
    pstats.Stats(prof).sort_stats("tottime").print_stats(15)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--lots", type=int, default=1000)
    parser.add_argument("--bidders", type=int, default=400)
    parser.add_argument("--procs", type=int, default=2, help="load processes")
    parser.add_argument("--threads", type=int, default=8, help="connections per load process")
    parser.add_argument("--scenario", choices=("hot", "spread", "both"), default="both")
    parser.add_argument("--no-keys", action="store_true", help="no Idempotency-Key headers")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    parser.add_argument("--redis-url", help="Huey queue and rate limits in this Redis database "
                                            "(emptied afterwards: give it one of its own)")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        sys.exit("DATABASE_URL must point at a PostgreSQL database (e.g. …/qaldyq_bench_bids)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    os.environ.setdefault("QALDYQ_ENV", "development")
    # Jobs (outbid notices, lot_published) go to a queue of this run, never the instance's:
    # a SQLite Huey in a temporary folder, or Redis with --redis-url (rate limits there too).
    scratch = tempfile.mkdtemp(prefix="bench-bids-")
    os.environ.pop("REDIS_URL", None)
    os.environ["HUEY_SQLITE_PATH"] = str(Path(scratch) / "huey.db")
    if args.redis_url:
        os.environ["REDIS_URL"] = args.redis_url
    t0 = time.monotonic()
    recreate(url)
    procs = []
    try:
        hot, others, bidders = build_world(args.lots, args.bidders)
        print(f"world: {args.lots + 1} lots, {len(bidders)} bidders with tokens, "
              f"{time.monotonic() - t0:.1f} s", flush=True)
        if args.profile:
            profile(hot, bidders, args.profile)
            return
        env = {**os.environ, "PYTHONPATH": str(ROOT)}  # without --redis-url: rate limits in memory
        app_port, hello_port = free_port(), free_port()
        procs = [start("wsgi:app", app_port, env), start("bench.hello_app:app", hello_port, env)]
        print(f"load: {args.procs} processes × {args.threads} connections, {args.duration} s each; "
              f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
        hello = bids_load.run("get", hello_port, procs=args.procs, threads=args.threads,
                              duration=args.duration, work="/")
        print(line("bare Flask hello", hello), flush=True)
        anomalies = []
        if args.scenario in ("hot", "both"):
            anomalies += bid_run("bids: one hot English lot", app_port, [hot], bidders, args, hello["rps"])
        if args.scenario in ("spread", "both"):
            anomalies += bid_run(f"bids: across {len(others)} lots", app_port, others, bidders, args,
                                 hello["rps"])
        print(f"uptime after: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
        if anomalies:
            sys.exit(1)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()
        if not args.keep:
            recreate(url, drop_only=True)
        shutil.rmtree(scratch, ignore_errors=True)
        if args.redis_url:
            import redis

            redis.Redis.from_url(args.redis_url).flushdb()


if __name__ == "__main__":
    main()
