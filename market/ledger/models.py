"""Ledger rows: entries (the leaves) and signed tree heads. Both are append-only: the database
refuses UPDATE and DELETE on them (triggers of migration d6a1e5f0c2b7)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from market.core.types import UTCDateTime
from market.extensions import db

KINDS = (
    "org.verified", "org.suspended", "org.reinstated", "lot.awarded", "agreement.approved",
    "rights.registered", "transfer.cancelled", "complaint.decided",
)


class LedgerEntry(db.Model):
    """One leaf: sequence (0-based, gapless, = the leaf index), time, kind, canonical payload.

    The leaf's bytes are canonical.leaf_text(sequence, kind, unix time, payload) and
    leaf_hash = hex(SHA-256(0x00 || those bytes)).
    """

    __tablename__ = "ledger_entry"
    __table_args__ = (
        CheckConstraint("sequence >= 0", name="sequence_not_negative"),
    )

    sequence: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # Whole seconds, UTC: the leaf carries the time as integer Unix seconds.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)
    # The deal the payload names at its top level ("deal": id), for the deal page's timeline;
    # not part of the leaf (derived from the payload, so it adds nothing to verify).
    deal_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    leaf_hash: Mapped[str] = mapped_column(String(64))

    @property
    def time(self) -> int:
        return int(self.created_at.timestamp())

    def __repr__(self) -> str:
        return f"<LedgerEntry {self.sequence} {self.kind}>"


class TreeHead(db.Model):
    """A signed statement: the first `size` entries have Merkle root `root_hash` (hex).

    signature = Ed25519 over signing.head_message(size, root, timestamp), hex; key_id = hex
    SHA-256 of the raw 32-byte public key.
    """

    __tablename__ = "ledger_tree_head"
    __table_args__ = (CheckConstraint("size > 0", name="size_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, unique=True)
    root_hash: Mapped[str] = mapped_column(String(64))
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime)
    signature: Mapped[str] = mapped_column(String(128))
    key_id: Mapped[str] = mapped_column(String(64))

    @property
    def time(self) -> int:
        return int(self.timestamp.timestamp())

    def __repr__(self) -> str:
        return f"<TreeHead {self.size} {self.root_hash[:12]}>"
