"""In-database latency of market.lots.search.search_lots() over a generated exchange.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/qaldyq_bench_lots \
        .venv/bin/python bench/lots_search.py --runs 200 [--explain bench/lots_explain.txt]

For each scenario (a family of realistic searches with varied terms and filters) calls
search_lots() through the app code inside an app context, exactly as the search page does
(limit PAGE_SIZE + 1, one transaction per search, rolled back after), and prints p50 / p95 /
p99 / max of the wall time of the call (SQL + loading the Lot objects), the mean number of
rows and the number of runs (RUNS, or fewer — at least 5 — when a scenario has spent its
--budget seconds). ``--explain FILE`` writes EXPLAIN (ANALYZE, BUFFERS) of the first variant of each
scenario, with the SQL and parameters the app sent (captured from the engine).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event
from sqlalchemy.exc import OperationalError

# region KATO codes: Karaganda, Pavlodar, East Kazakhstan, Ulytau, Aktobe, Atyrau, Astana
REGIONS = ["350000000", "550000000", "630000000", "620000000", "150000000", "230000000", "710000000"]
WORDS = ["шлак", "шлам", "пыль", "кек", "зола", "хвосты", "металлолом", "окалина", "стружка",
         "фосфогипс", "съёмы", "нефтешлам"]
PHRASES = ["медеплавильный шлак", "зола-унос ТЭЦ", "хвосты обогащения", "пыль газоочистки",
           "доменный шлак", "отработанное масло", "буровой шлам"]


def scenarios(rng: random.Random) -> dict[str, list[dict]]:
    """Scenario name → variants (keyword arguments of search_lots)."""
    def many(make, n=40):
        return [make() for _ in range(n)]
    return {
        "full text + region (шлак, region)": many(
            lambda: {"q": rng.choice(WORDS), "region": rng.choice(REGIONS)}),
        "full text + chapter 10 (зола, ch. 10)": many(
            lambda: {"q": rng.choice(["зола", "шлак", "пыль", "съёмы", "кек", "шлам"]), "chapter": "10"}),
        "phrase + region (медеплавильный шлак)": many(
            lambda: {"q": rng.choice(PHRASES), "region": rng.choice(REGIONS)}),
        "full text, no filter (шлак)": many(lambda: {"q": rng.choice(WORDS)}),
        "Kazakh word (қалдық, қож, күл)": many(
            lambda: {"q": rng.choice(["қалдық", "қож", "күл", "шаң", "қалдықтары", "үйіндіде"])}),
        "Kazakh word + region": many(
            lambda: {"q": rng.choice(["қож", "күл", "шаң", "қалдықтары"]), "region": rng.choice(REGIONS)}),
        "code prefix (10 02)": many(
            lambda: {"q": rng.choice(["10 02", "10 06", "01 03", "17 01", "19 02", "1001", "10 01 02"])}),
        "misspelling (медиплавильный)": many(
            lambda: {"q": rng.choice(["медиплавильный", "шлок", "сталиплавильный", "ферасплавный",
                                      "алюминевый", "окаллина"])}),
        "no query, newest": many(lambda: {"region": rng.choice([*REGIONS, "", "", ""])}),
        "no query, newest, page 2 (keyset)": many(lambda: {"before": rng.randint(900_000, 1_000_000)}),
        "no query, ending soon": many(lambda: {"sort": "ending", "region": rng.choice([*REGIONS, ""])}),
        "no query, ending within 72 h": many(lambda: {"ending": True, "sort": "ending",
                                                     "region": rng.choice([*REGIONS, ""])}),
        "no query, price, fixed + region": many(
            lambda: {"sort": "price", "mode": "fixed", "region": rng.choice(REGIONS)}),
        "full text, price sort (шлак)": many(lambda: {"q": rng.choice(WORDS), "sort": "price"}),
        "hazardous + region, newest": many(
            lambda: {"hazardous": rng.choice(["yes", "no"]), "region": rng.choice(REGIONS)}),
    }


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(p / 100 * len(values) + 0.5) - 1))
    return values[k]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--only", default="",
                        help="run the scenarios whose name contains one of these ('|'-separated)")
    parser.add_argument("--timeout", type=int, default=0,
                        help="statement_timeout in seconds; a cancelled search counts as that long")
    parser.add_argument("--explain", default="", help="write EXPLAIN ANALYZE of each scenario here")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--budget", type=float, default=60.0,
                        help="seconds per scenario: stop earlier than RUNS when they are spent")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgresql"):
        sys.exit("DATABASE_URL must point at the generated PostgreSQL database")

    from market import create_app
    from market.extensions import db
    from market.lots.search import search_lots

    app = create_app()
    rng = random.Random(args.seed)
    explain_out = open(args.explain, "w") if args.explain else None  # noqa: SIM115
    with app.test_request_context("/lots/"):
        limit = app.config["PAGE_SIZE"] + 1
        captured: list = []

        if args.timeout:
            @event.listens_for(db.engine, "begin")
            def limit_time(conn):
                conn.exec_driver_sql(f"SET LOCAL statement_timeout = {args.timeout * 1000}")

        @event.listens_for(db.engine, "before_cursor_execute")
        def capture(conn, cursor, statement, parameters, context, executemany):
            if "FROM lot" in statement:
                captured.append((statement, parameters))

        print(f"{'scenario':40} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8}  rows  runs")
        for name, variants in scenarios(rng).items():
            if args.only and not any(part in name for part in args.only.split("|")):
                continue
            start = time.monotonic()
            for kwargs in variants[:1]:  # warm-up
                with contextlib.suppress(OperationalError):
                    _call(search_lots, kwargs, limit)
                db.session.rollback()
            times, rows, timeouts = [], [], 0
            for i in range(args.runs):
                if i >= 5 and time.monotonic() - start > args.budget:
                    break  # at least 5 runs
                kwargs = variants[i % len(variants)]
                t = time.perf_counter()
                try:
                    found = _call(search_lots, kwargs, limit)
                except OperationalError:  # statement_timeout
                    found, timeouts = [], timeouts + 1
                times.append((time.perf_counter() - t) * 1000)
                rows.append(len(found))
                db.session.rollback()
            print(f"{name:40} {pct(times, 50):7.1f}ms {pct(times, 95):7.1f}ms {pct(times, 99):7.1f}ms "
                  f"{max(times):7.1f}ms  {statistics.mean(rows):4.1f}  {len(times):4d}"
                  f"{f'  ({timeouts} hit the timeout)' if timeouts else ''}", flush=True)
            if explain_out:
                _explain(db, search_lots, explain_out, name, variants[0], limit, captured)
    if explain_out:
        explain_out.close()


def _call(search_lots, kwargs: dict, limit: int):
    """search_lots(text, **filters) as the page calls it (the text is the first argument)."""
    filters = dict(kwargs)
    return search_lots(filters.pop("q", ""), limit=limit, **filters)


def _explain(db, search_lots, out, name: str, kwargs: dict, limit: int, captured: list) -> None:
    captured.clear()
    try:
        _call(search_lots, kwargs, limit)
    except OperationalError:
        db.session.rollback()
    statement, parameters = captured[-1]
    try:
        plan = db.session.connection().exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).scalars().all()
    except OperationalError:  # too slow: the plan without running it
        db.session.rollback()
        plan = ["(EXPLAIN ANALYZE hit the timeout; plan only)",
                *db.session.connection().exec_driver_sql("EXPLAIN " + statement, parameters).scalars()]
    db.session.rollback()
    out.write(f"=== {name}: {kwargs}\n{statement}\n{parameters}\n\n" + "\n".join(plan) + "\n\n")
    out.flush()


if __name__ == "__main__":
    main()
