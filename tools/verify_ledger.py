#!/usr/bin/env python3
"""Verify Qaldyq's public ledger from its JSON endpoints alone (no code from the site).

    python tools/verify_ledger.py https://qaldyq.example --entry 42
    python tools/verify_ledger.py https://qaldyq.example --entry 42 --first 10 --second 57
    python tools/verify_ledger.py https://qaldyq.example --key-id <hex>   # pin the key

Checks, printing OK or what failed (exit code 0 / 1):
- the public key (/ledger/api/public-key.json): its key id is SHA-256 of the raw key (and equals
  --key-id when given: pin it from a trusted copy, or the site could swap keys);
- the entry (/ledger/api/entries/N.json[?tree_size=]): its leaf is recomputed from kind,
  payload, sequence and time as canonical JSON and hashed as RFC 6962 (SHA-256(0x00 || leaf));
  its inclusion proof gives the tree head's root (RFC 9162 §2.1.3.2);
- the tree head's Ed25519 signature over canonical JSON {"log","root","size","timestamp"};
- with --first/--second: both heads' signatures and the consistency proof (RFC 9162 §2.1.4.2).

Only the standard library and the `cryptography` package are used.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
import urllib.request
from collections.abc import Callable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

LOG_ID = "qaldyq-ledger-v1"


class Failed(Exception):
    pass


def canonical(value) -> str:
    if isinstance(value, float):
        raise Failed("a float in canonical JSON")
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion(index: int, size: int, leaf: bytes, path: list[bytes]) -> bytes:
    if not 0 <= index < size:
        raise Failed("inclusion: leaf index outside the tree")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise Failed("inclusion: proof too long")
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise Failed("inclusion: proof too short")
    return r


def check_consistency(first: int, second: int, root1: bytes, root2: bytes,
                      path: list[bytes]) -> None:
    if not 0 < first <= second:
        raise Failed("consistency: sizes out of order")
    if first == second:
        if path or root1 != root2:
            raise Failed("consistency: equal sizes need equal roots and no proof")
        return
    if not path:
        raise Failed("consistency: empty proof")
    if first & (first - 1) == 0:
        path = [root1, *path]
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise Failed("consistency: proof too long")
        if fn & 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or fr != root1 or sr != root2:
        raise Failed(f"consistency: the proof does not link tree {first} to tree {second}")


def hashes(values: list[str]) -> list[bytes]:
    out = [bytes.fromhex(v) for v in values]
    if any(len(h) != 32 for h in out):
        raise Failed("a proof hash is not 32 bytes")
    return out


def check_head(head: dict, key: Ed25519PublicKey, key_id: str) -> bytes:
    if head.get("key_id") != key_id:
        raise Failed(f"tree head {head.get('tree_size')}: signed by another key")
    message = canonical({"log": LOG_ID, "root": head["root_hash"], "size": head["tree_size"],
                         "timestamp": head["timestamp"]}).encode()
    try:
        key.verify(bytes.fromhex(head["signature"]), message)
    except (InvalidSignature, ValueError) as exc:
        raise Failed(f"tree head {head['tree_size']}: bad signature") from exc
    return bytes.fromhex(head["root_hash"])


def http_fetch(base: str) -> Callable[[str], dict]:
    def fetch(path: str) -> dict:
        with urllib.request.urlopen(base.rstrip("/") + path, timeout=30) as response:  # noqa: S310
            return json.load(response)
    return fetch


def run(fetch: Callable[[str], dict], *, entry: int | None = None, tree_size: int | None = None,
        first: int | None = None, second: int | None = None, pin: str | None = None) -> list[str]:
    """All checks; returns the lines of what was verified, raises Failed at the first failure."""
    done = []
    info = fetch("/ledger/api/public-key.json")
    raw = base64.b64decode(info["public_key"])
    key_id = hashlib.sha256(raw).hexdigest()
    if key_id != info.get("key_id") or (pin and pin.lower() != key_id):
        raise Failed("public key: the key id does not match" + (" the pinned one" if pin else ""))
    key = Ed25519PublicKey.from_public_bytes(raw)
    done.append(f"public key {key_id}")
    if entry is not None:
        query = f"?tree_size={tree_size}" if tree_size is not None else ""
        data = fetch(f"/ledger/api/entries/{entry}.json{query}")
        leaf = ('{"kind":' + json.dumps(data["kind"], ensure_ascii=False) + ',"payload":'
                + canonical(data["payload"]) + ',"sequence":' + str(int(data["sequence"]))
                + ',"time":' + str(int(data["time"])) + "}")
        leaf_hash = hashlib.sha256(b"\x00" + leaf.encode()).digest()
        if data["sequence"] != entry or leaf_hash.hex() != data["leaf_hash"]:
            raise Failed(f"entry {entry}: the leaf hash does not match its content")
        head, proof = data.get("tree_head"), data.get("inclusion")
        if not head or not proof:
            raise Failed(f"entry {entry}: not yet in a signed tree head")
        root = check_head(head, key, key_id)
        if proof["tree_size"] != head["tree_size"] or proof["leaf_index"] != entry:
            raise Failed(f"entry {entry}: the proof is for another tree or leaf")
        computed = root_from_inclusion(entry, head["tree_size"], leaf_hash,
                                       hashes(proof["audit_path"]))
        if computed != root:
            raise Failed(f"entry {entry}: the inclusion proof does not give the signed root")
        done.append(f"entry {entry} ({data['kind']}) is in the signed tree of {head['tree_size']}")
    if first is not None and second is not None:
        data = fetch(f"/ledger/api/consistency.json?first={first}&second={second}")
        root1 = check_head(data["first"], key, key_id)
        root2 = check_head(data["second"], key, key_id)
        if (data["first"]["tree_size"], data["second"]["tree_size"]) != (first, second):
            raise Failed("consistency: the heads are of other sizes")
        check_consistency(first, second, root1, root2, hashes(data["consistency_path"]))
        done.append(f"tree {second} extends tree {first} (no history rewritten)")
    if entry is None and first is None:
        head = fetch("/ledger/api/tree-head.json")
        check_head(head, key, key_id)
        done.append(f"latest tree head {head['tree_size']} is signed")
    return done


def main(argv: list[str] | None = None, fetch: Callable[[str], dict] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base_url")
    parser.add_argument("--entry", type=int)
    parser.add_argument("--tree-size", type=int)
    parser.add_argument("--first", type=int)
    parser.add_argument("--second", type=int)
    parser.add_argument("--key-id", help="the key id you expect (pinned)")
    args = parser.parse_args(argv)
    try:
        lines = run(fetch or http_fetch(args.base_url), entry=args.entry,
                    tree_size=args.tree_size, first=args.first, second=args.second,
                    pin=args.key_id)
    except (Failed, KeyError, TypeError, ValueError, OSError) as exc:
        print(f"FAILED: {exc}")
        return 1
    for line in lines:
        print(f"OK: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
