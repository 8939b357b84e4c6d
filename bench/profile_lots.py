"""Where the time of one search-page request goes: SQL, template, the rest (and a cProfile).

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/qaldyq_bench_lots \
        .venv/bin/python bench/profile_lots.py "/lots/?q=шлак&region=350000000" --runs 20 [--profile]

Requests the page through the app's test client (no HTTP server) RUNS times after a warm-up
and prints, per request on average: wall time, the number and total time of SQL statements
(timed around the cursor), the time of render_template (between Flask's before_render_template
and template_rendered signals), and each distinct SQL statement with its mean time.
``--profile`` adds the cProfile of all runs, top 30 by cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask import before_render_template, template_rendered
from sqlalchemy import event


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("QALDYQ_ENV", "development")

    from market import create_app
    from market.extensions import db

    app = create_app()
    sql = defaultdict(lambda: [0, 0.0])
    render = [0.0]
    started: dict = {}

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["t"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def after(conn, cursor, statement, parameters, context, executemany):
        entry = sql[" ".join(statement.split())[:150]]
        entry[0] += 1
        entry[1] += time.perf_counter() - conn.info.pop("t")

    def on_before(sender, template, context, **extra):
        started["t"] = time.perf_counter()

    def on_rendered(sender, template, context, **extra):
        if template.name == "lots/list.html" or "t" in started:
            render[0] += time.perf_counter() - started.pop("t", time.perf_counter())

    before_render_template.connect(on_before, app)
    template_rendered.connect(on_rendered, app)
    client = app.test_client()
    for _ in range(3):
        assert client.get(args.path).status_code == 200
    sql.clear()
    render[0] = 0.0
    profiler = cProfile.Profile() if args.profile else None
    t = time.perf_counter()
    if profiler:
        profiler.enable()
    for _ in range(args.runs):
        response = client.get(args.path)
        assert response.status_code == 200
    if profiler:
        profiler.disable()
    wall = (time.perf_counter() - t) / args.runs * 1000
    n_sql = sum(c for c, _ in sql.values()) / args.runs
    t_sql = sum(s for _, s in sql.values()) / args.runs * 1000
    print(f"{args.path}: {wall:.1f} ms per request; SQL {n_sql:.0f} statements {t_sql:.1f} ms; "
          f"render_template {render[0] / args.runs * 1000:.1f} ms; rest {wall - t_sql - render[0] / args.runs * 1000:.1f} ms"
          f" (SQL executed while rendering counts in both); {len(response.data) // 1024} KiB")
    for statement, (count, total) in sorted(sql.items(), key=lambda kv: -kv[1][1]):
        print(f"  {count / args.runs:4.1f}× {total / count * 1000:8.2f} ms  {statement}")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)


if __name__ == "__main__":
    main()
