"""Appending entries, publishing signed tree heads, the JSON forms, and the domain hooks."""

from __future__ import annotations

import json
import logging

from sqlalchemy import select, text

from market.core.timeutil import utcnow
from market.extensions import db
from market.ledger import merkle, signing
from market.ledger.canonical import canonical_json, leaf_text
from market.ledger.models import KINDS, LedgerEntry, TreeHead
from market.ledger.store import StoredTree, entry_count

log = logging.getLogger("qaldyq.ledger")
LOCK_KEY = 0x51_4C_45_44  # "QLED": the advisory lock that orders appends and publications


def _lock() -> None:
    """Serialise ledger writers until the end of the transaction (PostgreSQL; SQLite has one
    writer at a time anyway, and the sequence's primary key refuses a duplicate)."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})


def append(kind: str, payload: dict) -> LedgerEntry:
    """Append one entry in the current transaction; its sequence is the next one, no gaps."""
    if kind not in KINDS:
        raise ValueError(f"unknown ledger entry kind {kind!r}")
    body = canonical_json(payload)
    _lock()
    sequence = entry_count()
    now = utcnow().replace(microsecond=0)
    leaf = leaf_text(sequence, kind, int(now.timestamp()), body)
    deal = payload.get("deal")
    entry = LedgerEntry(sequence=sequence, created_at=now, kind=kind, payload=body,
                        leaf_hash=merkle.leaf_hash(leaf.encode()).hex(),
                        deal_id=deal if isinstance(deal, int) and not isinstance(deal, bool) else None)
    db.session.add(entry)
    db.session.flush()
    return entry


def latest_head() -> TreeHead | None:
    return db.session.scalar(select(TreeHead).order_by(TreeHead.size.desc()).limit(1))


def head_by_size(size: int) -> TreeHead | None:
    return db.session.scalar(select(TreeHead).where(TreeHead.size == size))


def publish() -> TreeHead | None:
    """Sign and store a tree head of all entries, if the tree grew since the last one."""
    _lock()
    size = entry_count()
    last = latest_head()
    if size == 0 or (last is not None and last.size >= size):
        return None
    root = StoredTree(size).root().hex()
    now = utcnow().replace(microsecond=0)
    signature, key_id = signing.sign_head(size, root, int(now.timestamp()))
    head = TreeHead(size=size, root_hash=root, timestamp=now, signature=signature, key_id=key_id)
    db.session.add(head)
    db.session.flush()
    log.info("ledger tree head published: size %s root %s", size, root)
    return head


# JSON forms ----------------------------------------------------------------------------------
def head_json(head: TreeHead) -> dict:
    return {"tree_size": head.size, "root_hash": head.root_hash, "timestamp": head.time,
            "timestamp_iso": head.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "signature": head.signature, "key_id": head.key_id,
            "signed_message": signing.head_message(head.size, head.root_hash, head.time).decode()}


def entry_json(entry: LedgerEntry) -> dict:
    leaf = leaf_text(entry.sequence, entry.kind, entry.time, entry.payload)
    return {"sequence": entry.sequence, "kind": entry.kind, "time": entry.time,
            "time_iso": entry.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "payload": json.loads(entry.payload), "payload_canonical": entry.payload,
            "leaf": leaf, "leaf_hash": entry.leaf_hash}


def inclusion_json(entry: LedgerEntry, head: TreeHead) -> dict | None:
    """The audit path of the entry in the head's tree (None: the head does not include it)."""
    if entry.sequence >= head.size:
        return None
    path = StoredTree(head.size).inclusion(entry.sequence)
    return {"leaf_index": entry.sequence, "tree_size": head.size,
            "audit_path": [h.hex() for h in path]}


def consistency_json(first: TreeHead, second: TreeHead) -> dict:
    path = StoredTree(second.size).consistency(first.size)
    return {"first": head_json(first), "second": head_json(second),
            "consistency_path": [h.hex() for h in path]}


# Hooks of other domains (one call each; the entry commits with the event) -------------------
ORG_KINDS = {"verify": "org.verified", "suspend": "org.suspended", "reinstate": "org.reinstated"}


def record_org_decision(org, action: str, *, reason: str | None = None) -> LedgerEntry | None:
    """Organisation verified / suspended / reinstated (other transitions are not recorded)."""
    kind = ORG_KINDS.get(action)
    if kind is None:
        return None
    return append(kind, {"organization": {"id": org.id, "bin": org.bin, "name": org.name},
                         "state": org.state, "reason": reason or None})


def record_award(lot, deal, bid) -> LedgerEntry:
    """A lot awarded: lot, deal, both parties, price (tiyn), quantity (t, text), bid log hash."""
    return append("lot.awarded", {
        "lot": {"id": lot.id, "title": lot.title, "waste_code": deal.waste_code},
        "deal": deal.id, "bid": bid.id,
        "seller": {"id": deal.seller_id, "bin": deal.seller.bin, "name": deal.seller.name},
        "buyer": {"id": deal.buyer_id, "bin": deal.buyer.bin, "name": deal.buyer.name},
        "unit_price": deal.unit_price, "price_basis": deal.price_basis, "total": deal.total,
        "quantity": str(deal.quantity), "bid_log_sha256": deal.bid_log_sha256,
    })

