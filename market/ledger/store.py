"""Merkle hashes and proofs over the stored leaves.

A proof needs MTH of O(log n) ranges, which together cover the whole tree. Leaves are immutable,
so the root of each complete, aligned chunk of CHUNK leaves is cached in the process; a chunk is
recomputed when its last leaf hash in the database differs from the cached one (another database,
a rolled-back test). Ranges smaller than a chunk are hashed from their leaves, read once per
chunk. A proof over 1,000,000 entries thus reads ~1,000 chunk-end hashes and ≤ 2 chunks of leaves.
"""

from __future__ import annotations

import threading

from sqlalchemy import select

from market.extensions import db
from market.ledger import merkle
from market.ledger.models import LedgerEntry

CHUNK = 1024
_chunks: dict[tuple[str, int], tuple[str, bytes]] = {}  # (db, chunk) -> (last leaf hex, root)
_lock = threading.Lock()


def _db_key() -> str:
    return db.engine.url.render_as_string(hide_password=True)


def entry_count() -> int:
    """The number of entries (sequences are gapless from 0, so max + 1)."""
    last = db.session.scalar(select(db.func.max(LedgerEntry.sequence)))
    return 0 if last is None else last + 1


def _leaf_rows(lo: int, hi: int):
    return db.session.execute(
        select(LedgerEntry.sequence, LedgerEntry.leaf_hash)
        .where(LedgerEntry.sequence >= lo, LedgerEntry.sequence < hi)
        .order_by(LedgerEntry.sequence)).all()


def _leaf_hashes(lo: int, hi: int):
    """The raw leaf hashes of sequences lo..hi-1 in order (binary server-side cursor on
    PostgreSQL: a million in about a second)."""
    conn = db.session.connection()
    if conn.dialect.name != "postgresql":
        rows = conn.execute(select(LedgerEntry.leaf_hash).where(
            LedgerEntry.sequence >= lo, LedgerEntry.sequence < hi).order_by(LedgerEntry.sequence))
        for (hex_hash,) in rows:
            yield bytes.fromhex(hex_hash)
        return
    raw = conn.connection.dbapi_connection
    with raw.cursor(name="ledger_leaves", binary=True) as cursor:
        cursor.execute("SELECT decode(leaf_hash, 'hex') FROM ledger_entry"
                       " WHERE sequence >= %s AND sequence < %s ORDER BY sequence", (lo, hi))
        while rows := cursor.fetchmany(50000):
            for (digest,) in rows:
                yield digest


class StoredTree:
    """subtree(a, b) = MTH(D[a:b]) of the stored entries, for the tree of `size` leaves."""

    def __init__(self, size: int):
        self.size = size
        self._leaves: dict[int, list[bytes]] = {}  # chunk index -> its leaf hashes
        self._roots: dict[int, bytes] | None = None

    def _chunk_leaves(self, chunk: int) -> list[bytes]:
        if chunk not in self._leaves:
            lo = chunk * CHUNK
            hi = min(lo + CHUNK, self.size)
            rows = _leaf_rows(lo, hi)
            if len(rows) != hi - lo:
                raise merkle.ProofError(f"entries {lo}..{hi - 1} are not contiguous")
            self._leaves[chunk] = [bytes.fromhex(h) for _, h in rows]
        return self._leaves[chunk]

    def _chunk_roots(self) -> dict[int, bytes]:
        """Roots of every complete chunk of this tree, validated against their last leaves."""
        if self._roots is not None:
            return self._roots
        complete = self.size // CHUNK
        ends = [c * CHUNK + CHUNK - 1 for c in range(complete)]
        last = {}
        for i in range(0, len(ends), 5000):
            part = ends[i:i + 5000]
            last.update(db.session.execute(
                select(LedgerEntry.sequence, LedgerEntry.leaf_hash)
                .where(LedgerEntry.sequence.in_(part))).all())
        key = _db_key()
        roots: dict[int, bytes] = {}
        missing = []
        with _lock:
            for c, end in enumerate(ends):
                cached = _chunks.get((key, c))
                if cached is not None and cached[0] == last.get(end):
                    roots[c] = cached[1]
                else:
                    missing.append(c)
        if missing:
            roots.update(self._compute_chunks(missing, key))
        self._roots = roots
        return roots

    def _compute_chunks(self, missing: list[int], key: str) -> dict[int, bytes]:
        """Stream the leaves of the missing chunks (contiguous runs in one query each)."""
        out: dict[int, bytes] = {}
        runs: list[list[int]] = []
        for c in missing:
            if runs and runs[-1][-1] == c - 1:
                runs[-1].append(c)
            else:
                runs.append([c])
        for run in runs:
            lo, hi = run[0] * CHUNK, (run[-1] + 1) * CHUNK
            tree = merkle.CompactTree()
            seen = lo
            for digest in _leaf_hashes(lo, hi):
                tree.append(digest)
                seen += 1
                if tree.size == CHUNK:
                    chunk = (seen - 1) // CHUNK
                    out[chunk] = tree.root()
                    with _lock:
                        _chunks[(key, chunk)] = (digest.hex(), out[chunk])
                    tree = merkle.CompactTree()
            if seen != hi:
                raise merkle.ProofError(f"entries {lo}..{hi - 1} are not contiguous")
        return out

    def subtree(self, a: int, b: int) -> bytes:
        if not 0 <= a < b <= self.size:
            raise merkle.ProofError("range outside the tree")
        if b - a >= CHUNK and a % CHUNK == 0 and (b - a) % CHUNK == 0:
            # An aligned range of complete chunks (every power-of-two subtree of >= CHUNK leaves).
            roots = self._chunk_roots()
            return merkle.root_of([roots[c] for c in range(a // CHUNK, b // CHUNK)]) \
                if b - a > CHUNK else roots[a // CHUNK]
        if b - a <= CHUNK and a // CHUNK == (b - 1) // CHUNK:
            chunk = a // CHUNK
            leaves = self._chunk_leaves(chunk)
            return merkle.root_of(leaves[a - chunk * CHUNK:b - chunk * CHUNK])
        k = merkle.split_point(b - a)
        return merkle.node_hash(self.subtree(a, a + k), self.subtree(a + k, b))

    def root(self) -> bytes:
        return merkle.EMPTY_ROOT if self.size == 0 else self.subtree(0, self.size)

    def inclusion(self, index: int) -> list[bytes]:
        return merkle.inclusion_proof(index, self.size, self.subtree)

    def consistency(self, first: int) -> list[bytes]:
        return merkle.consistency_proof(first, self.size, self.subtree)
