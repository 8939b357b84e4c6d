"""The load client of bench/bids.py: processes × threads, each thread one keep-alive connection.

Each thread bids for its own bidders in turn (a bidder that its last answer said leads sits
out: the leader does not bid against itself), always "current price + step" as the last answer
(201 or 409, both carry the auction's `minimum`) said, with a fresh Idempotency-Key per attempt.
Nothing is shared between threads but the server: a refused bidder learns the new price from
its refusal and bids again. Results (status counts, latencies, accepted bid ids) go back to the
parent through a queue. Also drives plain GETs (the bare Flask page) with the same machinery.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing as mp
import random
import threading
import time
import uuid
from collections import Counter


def _connect(port: int) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", port, timeout=30)


def _request(conn, method: str, path: str, body: bytes | None, headers: dict):
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


def _bid_thread(port, lots, bidders, deadline, seed, keys, out):
    """Bid until the deadline; ``lots`` {lot id: start minimum}; ``bidders`` [(org id, secret)]."""
    rng = random.Random(seed)
    conn = _connect(port)
    minimum = dict(lots)
    leading: set[tuple[int, int]] = set()  # (lot, org) that led at their last answer
    lot_ids = list(lots)
    counts: Counter = Counter()
    latencies: list[float] = []
    accepted: list[tuple[int, int, int, int]] = []  # (lot, org, bid id, amount)
    i = 0
    while time.monotonic() < deadline:
        lot = lot_ids[0] if len(lot_ids) == 1 else rng.choice(lot_ids)
        org, secret = bidders[i % len(bidders)]
        i += 1
        if (lot, org) in leading and len(bidders) > 1:
            continue
        amount = minimum[lot]
        headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
        if keys:
            headers["Idempotency-Key"] = uuid.uuid4().hex
        body = json.dumps({"amount": amount}).encode()
        t0 = time.perf_counter()
        try:
            status, raw = _request(conn, "POST", f"/api/v1/lots/{lot}/bids", body, headers)
        except (OSError, http.client.HTTPException):
            counts["exception"] += 1
            conn.close()
            conn = _connect(port)
            continue
        latencies.append(time.perf_counter() - t0)
        counts[status] += 1
        try:
            data = json.loads(raw)
        except ValueError:
            counts["bad_json"] += 1
            continue
        state = data.get("auction") or {}
        if state.get("minimum") is not None:
            minimum[lot] = state["minimum"]
        if status == 201:
            accepted.append((lot, org, data["bid"]["id"], amount))
            if data["bid"]["leading"]:
                leading.add((lot, org))
            leading -= {(lot, o) for o, _ in bidders if o != org}
        elif status == 409:
            leading.discard((lot, org))
    conn.close()
    out.append((counts, latencies, accepted))


def _get_thread(port, path, deadline, out):
    conn = _connect(port)
    counts: Counter = Counter()
    latencies: list[float] = []
    while time.monotonic() < deadline:
        t0 = time.perf_counter()
        try:
            status, _ = _request(conn, "GET", path, None, {})
        except (OSError, http.client.HTTPException):
            counts["exception"] += 1
            conn.close()
            conn = _connect(port)
            continue
        latencies.append(time.perf_counter() - t0)
        counts[status] += 1
    conn.close()
    out.append((counts, latencies, []))


def _process(kind, port, threads, work, start_at, duration, seed, keys, queue):
    while time.time() < start_at:  # every process starts together
        time.sleep(0.001)
    deadline = time.monotonic() + duration
    out: list = []
    pool = []
    for t in range(threads):
        if kind == "get":
            args = (port, work, deadline, out)
            target = _get_thread
        else:
            lots, bidders = work[t]
            args = (port, lots, bidders, deadline, seed * 1000 + t, keys, out)
            target = _bid_thread
        pool.append(threading.Thread(target=target, args=args))
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    counts: Counter = Counter()
    latencies: list[float] = []
    accepted: list = []
    for c, lat, acc in out:
        counts.update(c)
        latencies.extend(lat)
        accepted.extend(acc)
    queue.put((dict(counts), latencies, accepted))


def run(kind: str, port: int, *, procs: int, threads: int, duration: float, work=None,
        keys: bool = True) -> dict:
    """Drive the server for ``duration`` s. kind "get": ``work`` is a path; kind "bid": ``work``
    is a list of procs × threads (lots, bidders) assignments. Returns the merged results."""
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    start_at = time.time() + 1.0
    children = []
    for p in range(procs):
        share = work if kind == "get" else work[p * threads:(p + 1) * threads]
        child = ctx.Process(target=_process, args=(kind, port, threads, share, start_at, duration,
                                                   p + 1, keys, queue))
        child.start()
        children.append(child)
    results = [queue.get(timeout=duration + 120) for _ in children]
    for child in children:
        child.join()
    counts: Counter = Counter()
    latencies: list[float] = []
    accepted: list = []
    for c, lat, acc in results:
        counts.update(c)
        latencies.extend(lat)
        accepted.extend(acc)
    latencies.sort()

    def pct(q):
        return 1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else 0.0

    return {"counts": dict(counts), "requests": len(latencies), "rps": len(latencies) / duration,
            "p50": pct(0.50), "p95": pct(0.95), "p99": pct(0.99), "accepted": accepted,
            "duration": duration}
