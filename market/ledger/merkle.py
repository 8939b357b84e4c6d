"""Merkle tree hashing, proofs and their verifiers exactly as RFC 6962 §2.1 / RFC 9162 §2.1.

leaf hash  = SHA-256(0x00 || leaf bytes)
node hash  = SHA-256(0x01 || left || right)
MTH(D[n])  = SHA-256() for n = 0; the leaf hash for n = 1; otherwise, with k the largest power
             of two smaller than n, node(MTH(D[0:k]), MTH(D[k:n])).

Proof generation takes `subtree(a, b)` -> MTH(D[a:b]) so that the caller decides where leaf
hashes come from (a list here, the database with a cache in market.ledger.store). Hashes are
raw 32-byte strings; leaf indices are 0-based.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

_sha256 = hashlib.sha256
EMPTY_ROOT = _sha256(b"").digest()
Subtree = Callable[[int, int], bytes]


class ProofError(ValueError):
    """A proof that does not verify (or a request for an impossible proof)."""


def leaf_hash(data: bytes) -> bytes:
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(hashes: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes (iteratively, with a stack of complete subtrees)."""
    tree = CompactTree()
    for h in hashes:
        tree.append(h)
    return tree.root()


class CompactTree:
    """The right edge of a growing tree: one hash per complete subtree (O(log n) memory)."""

    __slots__ = ("size", "stack")

    def __init__(self) -> None:
        self.size = 0
        self.stack: list[bytes] = []

    def append(self, leaf: bytes) -> None:
        stack = self.stack
        stack.append(leaf)
        self.size += 1
        count = self.size
        while not count & 1:
            right = stack.pop()
            stack[-1] = _sha256(b"\x01" + stack[-1] + right).digest()
            count >>= 1

    def root(self) -> bytes:
        if not self.stack:
            return EMPTY_ROOT
        result = self.stack[-1]
        for h in reversed(self.stack[:-1]):
            result = _sha256(b"\x01" + h + result).digest()
        return result


def list_subtree(hashes: Sequence[bytes]) -> Subtree:
    """subtree(a, b) over an in-memory list of leaf hashes."""
    return lambda a, b: root_of(hashes[a:b])


# Proof generation (RFC 6962 §2.1.1 PATH and §2.1.2 SUBPROOF) ---------------------------------
def inclusion_proof(index: int, size: int, subtree: Subtree) -> list[bytes]:
    """The audit path of leaf `index` in the tree of the first `size` leaves."""
    if not 0 <= index < size:
        raise ProofError("leaf index outside the tree")
    path: list[bytes] = []
    lo, hi, m = 0, size, index
    while hi - lo > 1:
        k = split_point(hi - lo)
        if m < k:
            path.append(subtree(lo + k, hi))
            hi = lo + k
        else:
            path.append(subtree(lo, lo + k))
            lo, m = lo + k, m - k
    path.reverse()
    return path


def consistency_proof(first: int, second: int, subtree: Subtree) -> list[bytes]:
    """The proof that the tree of `first` leaves is a prefix of the tree of `second` leaves."""
    if not 0 <= first <= second:
        raise ProofError("sizes out of order")
    if first == 0 or first == second:
        return []
    path: list[bytes] = []
    lo, hi, m, complete = 0, second, first, True
    while m != hi - lo:
        k = split_point(hi - lo)
        if m <= k:
            path.append(subtree(lo + k, hi))
            hi = lo + k
        else:
            path.append(subtree(lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    if not complete:
        path.append(subtree(lo, hi))
    path.reverse()
    return path


# Verification (RFC 9162 §2.1.3.2 and §2.1.4.2) ----------------------------------------------
def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes:
    if not 0 <= index < size:
        raise ProofError("leaf index outside the tree")
    if len(leaf) != 32 or any(len(p) != 32 for p in path):
        raise ProofError("a hash is not 32 bytes")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise ProofError("proof too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("proof too short")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes],
                     root: bytes) -> None:
    """Raise ProofError unless `path` proves leaf hash `leaf` at `index` under `root`."""
    if root_from_inclusion(index, size, leaf, path) != root:
        raise ProofError("the computed root differs from the tree head's root")


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       path: Sequence[bytes]) -> None:
    """Raise ProofError unless `path` proves tree `first` is a prefix of tree `second`."""
    if not 0 <= first <= second:
        raise ProofError("sizes out of order")
    if any(len(p) != 32 for p in path):
        raise ProofError("a hash is not 32 bytes")
    if first == second:
        if path or first_root != second_root:
            raise ProofError("equal sizes need equal roots and an empty proof")
        return
    if first == 0:
        if path:
            raise ProofError("a proof from the empty tree must be empty")
        return
    if not path:
        raise ProofError("empty proof")
    path = list(path)
    if first & (first - 1) == 0:  # an exact power of two: the first tree is a node of the second
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("proof too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("proof too short")
    if fr != first_root:
        raise ProofError("the proof does not give the first root")
    if sr != second_root:
        raise ProofError("the proof does not give the second root")
