"""The whole-ledger check: one pass over the entries in sequence order, O(log n) memory.

Sequences must run 0, 1, 2, … without a gap. For each entry the leaf (canonical JSON of kind,
payload, sequence and time) is rebuilt from the stored columns and hashed here, and must equal
the stored leaf hash. The recomputed leaves feed a compact tree (a stack of complete subtree
roots); at each published tree head's size its root must equal the head's root, and every
head's signature must verify with the site's public key. The first problem is reported.

Rows arrive through a binary server-side cursor on PostgreSQL (a plain cursor on SQLite) and
are hashed a batch at a time, so a million entries take seconds.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from hashlib import sha256

from sqlalchemy import select, text

from market.extensions import db
from market.ledger import signing
from market.ledger.models import TreeHead

BATCH = 20480
BLOCK = 1024  # leaves hashed as one complete subtree when aligned
# The leaf of canonical.leaf_text, assembled by PostgreSQL. A time with a fraction of a second
# (never written by append) becomes -1, so such a row fails its hash check.
PG_LEAF = ("""'{"kind":' || to_json(kind)::text || ',"payload":' || payload"""
           """ || ',"sequence":' || sequence || ',"time":' || CASE WHEN"""
           """ date_trunc('second', created_at) = created_at"""
           """ THEN EXTRACT(EPOCH FROM created_at)::bigint ELSE -1 END || '}'""")


@dataclass
class Problem:
    sequence: int | None  # the first bad entry, when one entry is to blame
    message: str

    def __str__(self) -> str:
        where = f"entry {self.sequence}: " if self.sequence is not None else ""
        return where + self.message


@dataclass
class Report:
    entries: int
    heads: int
    problem: Problem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _first_gap() -> int | None:
    """The first missing sequence, or None when they run 0..max without a gap."""
    count, last = db.session.execute(
        text("SELECT count(*), coalesce(max(sequence), -1) FROM ledger_entry")).one()
    if count == last + 1:
        return None
    return db.session.scalar(text(
        "SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM ledger_entry WHERE sequence = 0) THEN 0"
        " ELSE (SELECT min(e.sequence) + 1 FROM ledger_entry e WHERE e.sequence >= 0"
        " AND NOT EXISTS (SELECT 1 FROM ledger_entry f WHERE f.sequence = e.sequence + 1))"
        " END"))


class _Prefixes(dict):
    """kind -> the bytes of the leaf up to its payload: `{"kind":"…","payload":`."""

    def __missing__(self, kind: str) -> bytes:
        value = self[kind] = ('{"kind":' + json.dumps(kind, ensure_ascii=False)
                              + ',"payload":').encode()
        return value


def _pg_rows(limit: int, batch: int) -> Iterator[list[tuple]]:
    """Lists of (leaf hash hex, kind, payload bytes, unix time) for sequences below limit, in
    order, streamed from a binary server-side cursor; a thread fetches the next batch while
    this one is hashed. A time with a fraction of a second (never written by append) becomes
    -1, so that row fails its hash check."""
    raw = db.session.connection().connection.dbapi_connection
    with raw.cursor() as plain:
        plain.execute("SET LOCAL jit = off")  # compiling the expressions costs more than saved
    sql = ("SELECT leaf_hash, kind, convert_to(payload, 'UTF8'), CASE WHEN"  # noqa: S608
           " date_trunc('second', created_at) = created_at THEN"
           " EXTRACT(EPOCH FROM created_at)::bigint ELSE -1 END FROM ledger_entry"
           f" WHERE sequence < {int(limit)} ORDER BY sequence")
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


def _sqlite_rows(limit: int, batch: int) -> Iterator[list[tuple]]:
    cursor = db.session.connection().connection.dbapi_connection.cursor()
    try:
        cursor.execute("SELECT leaf_hash, kind, payload, CAST(strftime('%s', created_at) AS"
                       " INTEGER) FROM ledger_entry WHERE sequence < ? ORDER BY sequence",
                       (limit,))
        while rows := cursor.fetchmany(batch):
            yield [(h, kind, payload.encode(), time) for h, kind, payload, time in rows]
    finally:
        cursor.close()


def verify_ledger(batch: int = BATCH) -> Report:
    heads = db.session.scalars(select(TreeHead).order_by(TreeHead.size)
                               .execution_options(populate_existing=True)).all()
    try:
        public = signing.public_key_bytes()
    except signing.SigningKeyMissing as exc:
        return Report(0, 0, Problem(None, str(exc)))
    key_id = signing.key_id(public)
    gap = _first_gap()
    limit = gap if gap is not None else 2**62
    postgres = db.session.connection().dialect.name == "postgresql"
    batches = _pg_rows(limit, batch) if postgres else _sqlite_rows(limit, batch)
    sizes = [h.size for h in heads]
    hi = 0  # the next head to check
    next_size = sizes[0] if sizes else -1
    previous = 0  # the size of the last checked head
    stack: list[bytes] = []
    n = 0
    sha = sha256
    prefixes = _Prefixes()
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
            if not n % BLOCK and end - j >= BLOCK and not n < next_size < n + BLOCK:
                # A whole aligned subtree of BLOCK leaves, level by level (no per-leaf stack).
                level = digests[j:j + BLOCK]
                while len(level) > 1:
                    pairs = iter(level)
                    level = [sha(b"\x01" + a + b).digest() for a, b in zip(pairs, pairs,
                                                                           strict=True)]
                stack.append(level[0])
                j += BLOCK
                n += BLOCK
                count = n // BLOCK
            else:
                stack.append(digests[j])
                j += 1
                n += 1
                count = n
            while not count & 1:
                right = stack.pop()
                stack[-1] = sha(b"\x01" + stack[-1] + right).digest()
                count >>= 1
            if n == next_size:
                root = stack[-1]
                for h in reversed(stack[:-1]):
                    root = sha(b"\x01" + h + root).digest()
                problem = _check_head(heads[hi], root, public, key_id, previous)
                if problem:
                    return Report(n, hi, problem)
                previous = n
                hi += 1
                next_size = sizes[hi] if hi < len(sizes) else -1
        if bad is not None:
            return Report(n, hi, Problem(n, "the leaf hash does not match the entry's kind, "
                                            "time and payload"))
    if gap is not None:
        return Report(n, hi, Problem(gap, "missing: the sequence has a gap here"))
    if hi < len(sizes):
        return Report(n, hi, Problem(n, f"missing: the signed tree head of size {sizes[hi]} "
                                        f"covers entries up to {sizes[hi] - 1}, the ledger "
                                        "ends before"))
    return Report(n, hi, None)


def _check_head(head: TreeHead, root: bytes, public: bytes, key_id: str,
                first_of_range: int) -> Problem | None:
    if root.hex() != head.root_hash:
        return Problem(first_of_range if head.size - first_of_range == 1 else None,
                       f"the root of the first {head.size} entries differs from the signed tree "
                       f"head of that size: an entry among {first_of_range}..{head.size - 1} "
                       "was rewritten, reordered, inserted or removed")
    if head.key_id != key_id:
        return Problem(None, f"tree head {head.size}: signed with unknown key {head.key_id}")
    if not signing.check_signature(public, head.size, head.root_hash, head.time, head.signature):
        return Problem(None, f"tree head {head.size}: the signature does not verify")
    return None
