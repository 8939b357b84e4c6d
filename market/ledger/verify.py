"""The whole-ledger check: one pass over the entries in sequence order, O(log n) memory.

Sequences must run 0, 1, 2, … without a gap. For each entry the leaf (canonical JSON of kind,
payload, sequence and time) is rebuilt from the stored columns and hashed here, and must equal
the stored leaf hash. The recomputed leaves feed a compact tree (a stack of complete subtree
roots); at each published tree head's size its root must equal the head's root, and every
head's signature must verify with the site's public key. The first problem is reported.

Rows arrive through a binary server-side cursor on PostgreSQL (a plain cursor on SQLite) and
are hashed a batch at a time (leafhash), so a million entries take seconds. On PostgreSQL a
ledger of more than PARALLEL_MIN entries is split at a multiple of BLOCK: a second process
(leafhash.py run as a script, its own connection in this transaction's exported snapshot)
hashes the upper half into aligned block roots while this one hashes the lower half; the
halves' units are folded in order into the same stack, so heads and the first bad entry (the
lowest sequence) are found as in one pass.
"""

from __future__ import annotations

import itertools
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from hashlib import sha256
from typing import IO

from sqlalchemy import select, text

from market.extensions import db
from market.ledger import leafhash, signing
from market.ledger.leafhash import pg_rows, units
from market.ledger.models import TreeHead

BATCH = 20480
BLOCK = 1024  # leaves hashed as one complete subtree when aligned
# On PostgreSQL a ledger of more entries is hashed by two processes (one per half); a worker
# process costs ~0.3 s to start, so small ledgers stay in one.
PARALLEL_MIN = 200_000
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


def _first_gap() -> tuple[int | None, int]:
    """The first missing sequence (None when they run 0..max without a gap) and the count."""
    count, last = db.session.execute(
        text("SELECT count(*), coalesce(max(sequence), -1) FROM ledger_entry")).one()
    if count == last + 1:
        return None, count
    return db.session.scalar(text(
        "SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM ledger_entry WHERE sequence = 0) THEN 0"
        " ELSE (SELECT min(e.sequence) + 1 FROM ledger_entry e WHERE e.sequence >= 0"
        " AND NOT EXISTS (SELECT 1 FROM ledger_entry f WHERE f.sequence = e.sequence + 1))"
        " END")), count


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


def _second_half(limit: int, sizes: list[int], batch: int) -> tuple[int, subprocess.Popen, IO]:
    """Start a process (leafhash.py as a script) hashing the upper half of 0..limit-1, split
    at a multiple of BLOCK, in this transaction's snapshot; returns (split, process, the file
    of its stderr)."""
    split = max(BLOCK, (limit // 2) // BLOCK * BLOCK)
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    raw = db.session.connection().connection.dbapi_connection
    with raw.cursor() as plain:
        snapshot = plain.execute("SELECT pg_export_snapshot()").fetchone()[0]
    errors = tempfile.TemporaryFile()  # noqa: SIM115  (closed by verify_ledger)
    process = subprocess.Popen([sys.executable, "-P", leafhash.__file__],  # noqa: S603
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors)
    # The URL (with any password) goes through the pipe, not the command line.
    process.stdin.write(pickle.dumps((url, snapshot, split, limit, sizes, batch, BLOCK)))
    process.stdin.close()
    return split, process, errors


def _upper(process: subprocess.Popen, errors: IO) -> Iterator:
    with process.stdout:
        out = process.stdout.read()
    if process.wait():
        errors.seek(0)
        raise RuntimeError("ledger verify worker failed: "
                           + errors.read().decode(errors="replace"))
    yield from pickle.loads(out)  # noqa: S301  (our own child's output)


def verify_ledger(batch: int = BATCH, parallel_min: int | None = None) -> Report:
    """parallel_min: on PostgreSQL, ledgers of more entries are hashed by two processes."""
    heads = db.session.scalars(select(TreeHead).order_by(TreeHead.size)
                               .execution_options(populate_existing=True)).all()
    try:
        public = signing.public_key_bytes()
    except signing.SigningKeyMissing as exc:
        return Report(0, 0, Problem(None, str(exc)))
    key_id = signing.key_id(public)
    gap, count = _first_gap()
    postgres = db.session.connection().dialect.name == "postgresql"
    sizes = [h.size for h in heads]
    parallel_min = PARALLEL_MIN if parallel_min is None else parallel_min
    limit = gap if gap is not None else count
    process = None
    if postgres and limit > max(parallel_min, BLOCK):
        split, process, errors = _second_half(limit, sizes, batch)
        raw = db.session.connection().connection.dbapi_connection
        lower = units(pg_rows(raw, 0, split, batch), 0, sizes, BLOCK)
        stream = itertools.chain(_checked(lower, 0, split),
                                 _checked(_upper(process, errors), split, limit))
    elif postgres:
        raw = db.session.connection().connection.dbapi_connection
        stream = units(pg_rows(raw, 0, gap if gap is not None else 2**62, batch), 0, sizes,
                       BLOCK)
    else:
        stream = units(_sqlite_rows(gap if gap is not None else 2**62, batch), 0, sizes, BLOCK)
    try:
        return _fold(stream, heads, public, key_id, gap)
    finally:
        if process is not None:
            if process.poll() is None:  # an early answer: its half is not needed
                process.kill()
                process.wait()
            process.stdout.close()
            errors.close()


def _checked(half: Iterable, start: int, stop: int) -> Iterator:
    """The units of one half; a short read (rows gone since the count) is a gap."""
    n = start
    for unit in half:
        yield unit
        if isinstance(unit, int):
            return
        n += BLOCK if isinstance(unit, bytes) else len(unit)
    if n < stop:
        yield _Short(n)


class _Short(int):
    """The sequence where the rows ended before the expected count."""


def _fold(stream, heads: list[TreeHead], public: bytes, key_id: str,
          gap: int | None) -> Report:
    """Fold the units into a compact tree (a stack of complete subtree roots), checking each
    signed head at its size; the first problem is reported."""
    sha = sha256
    sizes = [h.size for h in heads]
    hi = 0  # the next head to check
    next_size = sizes[0] if sizes else -1
    previous = 0  # the size of the last checked head
    stack: list[bytes] = []
    n = 0
    for unit in stream:
        if isinstance(unit, _Short):
            return Report(n, hi, Problem(n, "missing: the sequence has a gap here"))
        if isinstance(unit, int):
            return Report(n, hi, Problem(n, "the leaf hash does not match the entry's kind, "
                                            "time and payload"))
        if isinstance(unit, bytes):
            stack.append(unit)
            n += BLOCK
            count = n // BLOCK
            while not count & 1:
                right = stack.pop()
                stack[-1] = sha(b"\x01" + stack[-1] + right).digest()
                count >>= 1
            leaves = ((),)  # the head check below, once
        else:
            leaves = ((d,) for d in unit)
        for leaf in leaves:
            for digest in leaf:
                stack.append(digest)
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
