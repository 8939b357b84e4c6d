"""Query shapes that could make lot search fast at 1M lots, timed on the generated database.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/qaldyq_bench_lots \
        .venv/bin/python bench/lots_experiments.py --setup      # once: builds schema bench_exp
    ... bench/lots_experiments.py --runs 40

Nothing here is used by the app and nothing of the app's schema is changed: ``--setup`` builds,
in a separate schema ``bench_exp``, what a proposal would add to ``lot`` (published lots only):

- ``bench_exp.lot_search``: one stored, weighted tsvector per published lot — the lower-cased
  title with weight A in both configurations, plus the whole search_text in 'russian' and
  'simple' (weight D) — with a GIN index, a small tsvector of the title alone (``title_vec``,
  for a cheap order), and ``region_kato`` / ``waste_code`` for filters;
- ``bench_exp.lexicon``: the distinct words of those vectors (``ts_stat``) with a trigram
  index, to correct misspelt query words before the full-text search.

Then it times (p50/p95 over RUNS varied searches) the app's current expressions with and
without the trigram branch, and the proposed shapes. Each statement runs with a 30 s timeout.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time

import psycopg
from sqlalchemy.engine import make_url

REGIONS = ["350000000", "550000000", "630000000", "620000000", "150000000", "230000000", "710000000"]
WORDS = ["шлак", "шлам", "пыль", "кек", "зола", "хвосты", "металлолом", "окалина", "стружка",
         "фосфогипс", "съёмы", "нефтешлам"]
TYPOS = ["медиплавильный", "шлок", "сталиплавильный", "ферасплавный", "алюминевый", "окаллина"]

SETUP = [
    "CREATE SCHEMA IF NOT EXISTS bench_exp",
    "DROP TABLE IF EXISTS bench_exp.lot_search, bench_exp.lexicon, bench_exp.lot_title",
    """CREATE TABLE bench_exp.lot_search AS
       SELECT id, region_kato, waste_code,
              to_tsvector('russian', lower(title)) || to_tsvector('simple', lower(title)) AS title_vec,
              setweight(to_tsvector('russian', lower(title)), 'A')
              || setweight(to_tsvector('simple', lower(title)), 'A')
              || to_tsvector('russian', search_text) || to_tsvector('simple', search_text) AS vec
       FROM lot WHERE state = 'published'""",
    "ALTER TABLE bench_exp.lot_search ADD PRIMARY KEY (id)",
    "CREATE INDEX ON bench_exp.lot_search USING gin (vec)",
    "CREATE INDEX ON bench_exp.lot_search (region_kato, id)",
    """CREATE TABLE bench_exp.lexicon AS
       SELECT word, ndoc FROM ts_stat('SELECT vec FROM bench_exp.lot_search')""",
    "CREATE INDEX ON bench_exp.lexicon USING gin (word gin_trgm_ops)",
    "ANALYZE bench_exp.lot_search",
    "ANALYZE bench_exp.lexicon",
]

# the app's expressions today (market/lots/search.py), written out; {trgm} is the typo branch
CURRENT = """
SELECT id FROM lot
WHERE state = 'published' {region}
  AND (to_tsvector('russian', search_text) @@ plainto_tsquery('russian', %(q)s)
       OR to_tsvector('simple', search_text) @@ plainto_tsquery('simple', %(q)s) {trgm})
ORDER BY CASE WHEN to_tsvector('russian', lower(title)) @@ plainto_tsquery('russian', %(q)s)
                OR to_tsvector('simple', lower(title)) @@ plainto_tsquery('simple', %(q)s) THEN 1.0 ELSE 0.0 END
         + word_similarity(%(q)s, lower(title))
         + ts_rank(to_tsvector('russian', search_text), plainto_tsquery('russian', %(q)s))
         + ts_rank(to_tsvector('simple', search_text), plainto_tsquery('simple', %(q)s))
         + word_similarity(%(q)s, search_text) DESC, id DESC
LIMIT 26"""
TSQ = "(plainto_tsquery('russian', %(q)s) || plainto_tsquery('simple', %(q)s))"
STORED = f"""
SELECT id FROM bench_exp.lot_search
WHERE vec @@ {TSQ} {{region}}
ORDER BY ts_rank(vec, {TSQ}) DESC, id DESC LIMIT 26"""
BOUNDED = f"""
SELECT id FROM (SELECT id, vec FROM bench_exp.lot_search WHERE vec @@ {TSQ} {{region}}
                ORDER BY id DESC LIMIT 1000) newest
ORDER BY ts_rank(vec, {TSQ}) DESC, id DESC LIMIT 26"""
TITLE_FIRST = f"""
SELECT id FROM bench_exp.lot_search WHERE vec @@ {TSQ} {{region}}
ORDER BY title_vec @@ {TSQ} DESC, id DESC LIMIT 26"""
TITLE_RANK = f"""
SELECT id FROM bench_exp.lot_search WHERE vec @@ {TSQ} {{region}}
ORDER BY ts_rank(title_vec, {TSQ}) DESC, id DESC LIMIT 26"""
NEWEST = f"""
SELECT id FROM bench_exp.lot_search WHERE vec @@ {TSQ} {{region}} ORDER BY id DESC LIMIT 26"""
LEXICON = """
SELECT word FROM bench_exp.lexicon WHERE word %% %(q)s ORDER BY word <-> %(q)s, ndoc DESC LIMIT 3"""


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[max(0, min(len(values) - 1, round(p / 100 * len(values) + 0.5) - 1))]


def timed(conn, sql: str, params: dict) -> tuple[float, int]:
    t = time.perf_counter()
    try:
        rows = conn.execute(sql, params).fetchall()
    except psycopg.errors.QueryCanceled:
        conn.rollback()
        return 30_000.0, -1
    conn.rollback()
    return (time.perf_counter() - t) * 1000, len(rows)


def typo_then_fts(conn, params: dict) -> int:
    """Correct the word through the lexicon, then the bounded full-text search with it."""
    conn.execute("SET LOCAL pg_trgm.similarity_threshold = 0.4")
    words = [r[0] for r in conn.execute(LEXICON, params)]
    q = " | ".join(words) if words else params["q"]
    sql = BOUNDED.format(region="").replace(TSQ, "to_tsquery('simple', %(q)s)")
    return len(conn.execute(sql, {"q": q}).fetchall())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--setup", action="store_true")
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--budget", type=float, default=60.0)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        sys.exit("DATABASE_URL must point at the generated PostgreSQL database")
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn:
        if args.setup:
            conn.execute("SET maintenance_work_mem = '1GB'")
            for sql in SETUP:
                t = time.monotonic()
                conn.execute(sql)
                conn.commit()
                print(f"{time.monotonic() - t:7.1f} s  {' '.join(sql.split())[:90]}", flush=True)
            print(conn.execute("SELECT pg_size_pretty(pg_total_relation_size('bench_exp.lot_search')),"
                               " (SELECT count(*) FROM bench_exp.lexicon)").fetchone())
            return
        conn.execute("SET statement_timeout = '30s'")
        conn.commit()
        rng = random.Random(3)
        region = "AND region_kato = %(region)s"
        cases = [
            ("current, word + region", CURRENT.format(region=region, trgm="OR %(q)s <%% search_text"), True),
            ("current without trigram, word + region", CURRENT.format(region=region, trgm=""), True),
            ("stored vector, rank all, word + region", STORED.format(region=region), True),
            ("stored vector, rank newest 1000, + region", BOUNDED.format(region=region), True),
            ("title match first, then newest, + region", TITLE_FIRST.format(region=region), True),
            ("title rank, then newest, + region", TITLE_RANK.format(region=region), True),
            ("stored vector, rank all, word", STORED.format(region=""), False),
            ("stored vector, rank newest 1000, word", BOUNDED.format(region=""), False),
            ("title match first, then newest, word", TITLE_FIRST.format(region=""), False),
            ("stored vector, newest first, word", NEWEST.format(region=""), False),
        ]
        print(f"{'shape':45} {'p50':>9} {'p95':>9}  rows runs")
        for name, sql, with_region in cases:
            times, rows = [], []
            start = time.monotonic()
            for i in range(args.runs):
                if time.monotonic() - start > args.budget:
                    break
                params = {"q": WORDS[i % len(WORDS)], "region": rng.choice(REGIONS) if with_region else None}
                if "<%%" in sql:
                    conn.execute("SET LOCAL pg_trgm.word_similarity_threshold = 0.4")
                ms, n = timed(conn, sql, params)
                times.append(ms)
                rows.append(n)
            print(f"{name:45} {pct(times, 50):7.1f}ms {pct(times, 95):7.1f}ms  {sum(rows) / len(rows):4.1f} "
                  f"{len(times):4d}", flush=True)
        times = []
        for i in range(min(args.runs, 30)):
            t = time.perf_counter()
            typo_then_fts(conn, {"q": TYPOS[i % len(TYPOS)]})
            conn.rollback()
            times.append((time.perf_counter() - t) * 1000)
        print(f"{'typo: lexicon lookup + bounded FTS':45} {pct(times, 50):7.1f}ms {pct(times, 95):7.1f}ms")


if __name__ == "__main__":
    main()
