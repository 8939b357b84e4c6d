"""Measure pages with wrk beside a bare Flask page, under the same gunicorn settings.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/qaldyq_bench \
        .venv/bin/python bench/pages.py --duration 15 registry     # or: lots

Starts gunicorn for the app and for bench/hello_app.py on free ports (same workers and
threads), logs in through the real login form to get session cookies, runs wrk on each page
and prints p50/p95/p99 latency and requests per second, plus the ratio to the bare page.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import requests

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WORKERS, THREADS = "2", "4"


def lots(**args) -> str:
    return "/lots/?" + urlencode(args) if args else "/lots/"


SUITES = {
    # name: (login e-mail or None for an anonymous visitor, [(label, path or callable(session) -> path)])
    "registry": [
        ("owner@bench.kz", [
            ("org registry (100k records)", lambda s: "/registry/"),
            ("stream journal page", "STREAM"),
        ]),
        ("official@bench.kz", [
            ("official: organisations", lambda s: "/official/registry/"),
            ("official: stocks by region", lambda s: "/official/registry/stocks?group=region"),
            ("official: stocks by chapter", lambda s: "/official/registry/stocks?group=chapter"),
            ("official: compliance list", lambda s: "/official/registry/compliance"),
        ]),
    ],
    # the public search page over 1,000,000 lots (bench/gen_lots.py), anonymous visitor; the
    # fast pages first: a slow search still runs in PostgreSQL after wrk has stopped waiting
    "lots": [
        (None, [
            ("no query: newest", lots()),
            ("no query: ending soon, region", lots(sort="ending", region="550000000")),
            ("search: code prefix 10 02", lots(q="10 02")),
            ("search: шлак + region (Karaganda)", lots(q="шлак", region="350000000")),
            ("search: зола + chapter 10", lots(q="зола", chapter="10")),
            ("search: typo медиплавильный", lots(q="медиплавильный")),
        ]),
    ],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(app: str, port: int, env: dict) -> subprocess.Popen:
    proc = subprocess.Popen([str(BIN / "gunicorn"), "-c", str(ROOT / "bench" / "gunicorn_bench.py"), "-w", WORKERS, "--threads", THREADS,
                             "-k", "gthread", "-b", f"127.0.0.1:{port}", "--log-level", "warning",
                             app], cwd=ROOT, env=env)
    for _ in range(100):
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=1)
            return proc
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"{app} did not start")


def login(base: str, email: str, password: str) -> requests.Session:
    s = requests.Session()
    page = s.get(f"{base}/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    r = s.post(f"{base}/login", data={"csrf_token": token, "email": email, "password": password})
    r.raise_for_status()
    return s


def wrk(url: str, cookie: str | None, duration: int) -> dict:
    cmd = ["wrk", "-t2", "-c8", f"-d{duration}s", "--timeout", "30s",
           "-s", str(ROOT / "bench" / "percentiles.lua"), url]
    if cookie:
        cmd[1:1] = ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    values = dict(re.findall(r"^(P50|P95|P99|RPS|ERRS) ([\d.]+)$", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    ms = lambda key: f"{float(values[key]) / 1000:.1f}ms"  # noqa: E731
    return {"p50": ms("P50"), "p95": ms("P95"), "p99": ms("P99"), "rps": float(values["RPS"]),
            "errors": int(values["ERRS"]) + (int(non2xx.group(1)) if non2xx else 0)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("suite", choices=sorted(SUITES))
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--password", default="bench-password-1")
    parser.add_argument("--uncached", action="store_true",
                        help="PAGE_CACHE_SECONDS=0: every anonymous page rendered afresh")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so that `finally` stops the servers
    env = {**os.environ, "QALDYQ_ENV": "development", "PYTHONPATH": str(ROOT)}
    if args.uncached:
        env["PAGE_CACHE_SECONDS"] = "0"
    app_port, hello_port = free_port(), free_port()
    app_proc = start("wsgi:app", app_port, env)
    hello_proc = start("bench.hello_app:app", hello_port, env)
    try:
        hello = wrk(f"http://127.0.0.1:{hello_port}/", None, args.duration)
        print(f"{'bare Flask hello':34} p50 {hello['p50']:>8} p95 {hello['p95']:>8} "
              f"p99 {hello['p99']:>8} {hello['rps']:8.0f} req/s")
        base = f"http://127.0.0.1:{app_port}"
        for email, pages in SUITES[args.suite]:
            session = login(base, email, args.password) if email else requests.Session()
            cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies) or None
            for label, path in pages:
                if path == "STREAM":
                    html = session.get(f"{base}/registry/").text
                    path = re.search(r'href="(/registry/streams/\d+)"', html).group(1)
                elif callable(path):
                    path = path(session)
                assert session.get(base + path).status_code == 200, path
                r = wrk(base + path, cookie, args.duration)
                print(f"{label:34} p50 {r['p50']:>8} p95 {r['p95']:>8} p99 {r['p99']:>8} "
                      f"{r['rps']:8.0f} req/s  {100 * r['rps'] / hello['rps']:5.1f} % of bare"
                      f"{'  ERRORS ' + str(r['errors']) if r['errors'] else ''}", flush=True)
    finally:
        app_proc.terminate()
        hello_proc.terminate()
        app_proc.wait()
        hello_proc.wait()


if __name__ == "__main__":
    main()
