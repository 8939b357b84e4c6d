"""Hashing the ledger's leaves from rows, standalone (the standard library and psycopg only):
verify imports it, and runs it as a script (`python -P leafhash.py`, no Flask app, no package
import: ~0.15 s to start) to hash the upper half of a large ledger on the second core.

As a script it reads a pickled (url, snapshot, start, limit, sizes, batch, block) on stdin,
opens its own psycopg connection in the caller's exported snapshot, and writes the pickled
list of units (see units()) to stdout.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import pickle
import queue
import sys
import threading
from collections.abc import Iterator
from hashlib import sha256


class Prefixes(dict):
    """kind -> the bytes of the leaf up to its payload: `{"kind":"…","payload":`."""

    def __missing__(self, kind: str) -> bytes:
        value = self[kind] = ('{"kind":' + json.dumps(kind, ensure_ascii=False)
                              + ',"payload":').encode()
        return value


def pg_rows(raw, start: int, limit: int, batch: int) -> Iterator[list[tuple]]:
    """Lists of (leaf hash hex, kind, payload bytes, unix time) for sequences start..limit-1,
    in order, streamed from a binary server-side cursor of the psycopg connection raw; a thread
    fetches the next batch while this one is hashed. A time with a fraction of a second (never
    written by append) becomes -1, so that row fails its hash check."""
    with raw.cursor() as plain:
        plain.execute("SET LOCAL jit = off")  # compiling the expressions costs more than saved
    sql = ("SELECT leaf_hash, kind, convert_to(payload, 'UTF8'), CASE WHEN"  # noqa: S608
           " date_trunc('second', created_at) = created_at THEN"
           " EXTRACT(EPOCH FROM created_at)::bigint ELSE -1 END FROM ledger_entry"
           f" WHERE sequence >= {int(start)} AND sequence < {int(limit)} ORDER BY sequence")
    batches: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()

    def fetch(cursor):
        try:
            while not stop.is_set():
                rows = cursor.fetchmany(batch)
                batches.put(rows)
                if not rows:
                    return
        except Exception as exc:  # handed to the consumer
            batches.put(exc)

    with raw.cursor(name="ledger_verify", binary=True) as cursor:
        cursor.execute(sql)
        worker = threading.Thread(target=fetch, args=(cursor,), daemon=True)
        worker.start()
        try:
            while True:
                rows = batches.get()
                if isinstance(rows, Exception):
                    raise rows
                if not rows:
                    return
                yield rows
        finally:
            stop.set()
            while worker.is_alive():  # the fetcher ends its call before the cursor closes
                with contextlib.suppress(queue.Empty):
                    batches.get(timeout=0.1)
            worker.join()


def units(batches: Iterator[list[tuple]], start: int, sizes: list[int],
           block: int) -> Iterator[bytes | list[bytes] | int]:
    """The hashed leaves of the rows from sequence start on, in order: a bytes is the root of a
    whole aligned block of leaves (never one with a head's size strictly inside), a list holds
    single leaf hashes; an int, last, is the sequence of the first row whose stored hash
    differs."""
    sha = sha256
    prefixes = Prefixes()
    n = start
    hi = bisect.bisect_right(sizes, n)
    for rows in batches:
        # The leaf (canonical.leaf_text) with the sequence this row must have: its position.
        digests = [sha(b'\x00%s%s,"sequence":%d,"time":%d}' % (prefixes[kind], payload, n + i,
                                                                 time)).digest()
                   for i, (_, kind, payload, time) in enumerate(rows)]
        stored = [r[0] for r in rows]
        bad = None
        if [d.hex() for d in digests] != stored:
            bad = next(i for i, d in enumerate(digests) if d.hex() != stored[i])
            digests = digests[:bad]
        j, end = 0, len(digests)
        while j < end:
            while hi < len(sizes) and sizes[hi] <= n:
                hi += 1
            inside = hi < len(sizes) and sizes[hi] < n + block
            if not n % block and end - j >= block and not inside:
                # A whole aligned subtree of block leaves, level by level (no per-leaf stack).
                level = digests[j:j + block]
                while len(level) > 1:
                    pairs = iter(level)
                    level = [sha(b"\x01" + a + b).digest() for a, b in zip(pairs, pairs,
                                                                           strict=True)]
                yield level[0]
                j += block
                n += block
            else:  # single leaves up to the next block boundary (or head, or the batch end)
                step = min(end - j, block - n % block)
                if inside:
                    step = min(step, sizes[hi] - n)
                yield digests[j:j + step]
                j += step
                n += step
        if bad is not None:
            yield n
            return


def main() -> None:
    import psycopg  # the worker process only

    url, snapshot, start, limit, sizes, batch, block = pickle.load(sys.stdin.buffer)  # noqa: S301  (from verify)
    with psycopg.connect(url) as raw:
        if snapshot:
            raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            raw.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
        result = list(units(pg_rows(raw, start, limit, batch), start, sizes, block))
    pickle.dump(result, sys.stdout.buffer, protocol=pickle.HIGHEST_PROTOCOL)
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
