"""Canonical JSON: the exact bytes that are hashed and signed.

Sorted keys, no whitespace, UTF-8 (non-ASCII letters as themselves, not \\u escapes), and no
floating point: integers only (money in tiyn), quantities and other decimals as strings. The
same text always gives the same bytes, so anyone can recompute a hash from the published JSON.

A ledger leaf is the canonical JSON of the whole entry:
``{"kind":…,"payload":{…},"sequence":n,"time":unix seconds UTC}``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal


class NotCanonical(TypeError):
    """A value that has no canonical JSON form here (a float, a non-string key, an object)."""


def _check(value, path="$"):
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        return str(value)  # quantities: their exact decimal text
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise NotCanonical(f"{path}: naive datetime")
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, (list, tuple)):
        return [_check(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise NotCanonical(f"{path}: key {k!r} is not a string")
            out[k] = _check(v, f"{path}.{k}")
        return out
    raise NotCanonical(f"{path}: {type(value).__name__} is not allowed (floats never are)")


def canonical_json(value) -> str:
    """The canonical text of value (Decimal -> its string, aware datetime -> ISO UTC 'Z')."""
    return json.dumps(_check(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def leaf_text(sequence: int, kind: str, time: int, payload: str) -> str:
    """The canonical JSON of an entry, built around its already-canonical payload text.

    Equal to canonical_json({"kind", "payload", "sequence", "time"}) — the keys are already in
    sorted order — but without re-parsing the payload (the verifier does this a million times).
    """
    return ('{"kind":' + json.dumps(kind, ensure_ascii=False) + ',"payload":' + payload
            + ',"sequence":' + str(int(sequence)) + ',"time":' + str(int(time)) + "}")
