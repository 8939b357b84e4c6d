"""Auctions: the state of bidding on one lot, the bids, and the append-only bid log.

The lots package knows nothing of bidding: everything here points at ``lot``, never the reverse.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from market.core.timeutil import utcnow
from market.core.types import UTCDateTime
from market.extensions import db
from market.registry.models import TONNES

BID_STATES = {
    "pending_deposit": _l("Ждёт задатка"),
    "active": _l("Действует"),
    "outbid": _l("Перебита"),
    "withdrawn": _l("Отозвана"),
    "won": _l("Выиграла"),
    "lost": _l("Не выиграла"),
    "declined": _l("Отклонена"),
}
# Free transfer requests (mode "free") read better in their own words.
REQUEST_STATES = {**BID_STATES, "active": _l("На рассмотрении"), "won": _l("Принята"),
                  "lost": _l("Не принята")}
# States in which a bid takes part in the auction (pending_deposit does not, yet).
COUNTED = ("active", "outbid")
LIVE = ("pending_deposit", "active")

BID_EVENT_KINDS = {
    "placed": _l("Ставка подана"),
    "revised": _l("Ставка изменена"),
    "withdrawn": _l("Ставка отозвана"),
    "activated": _l("Задаток внесён, ставка действует"),
    "accepted": _l("Заявка принята"),
    "declined": _l("Заявка отклонена"),
}


class Auction(db.Model):
    """Bidding on one lot: the visible price, the leader, the end with its extensions, what is sold.

    Created on the lot's first bid (or purchase) and locked (SELECT ... FOR UPDATE on PostgreSQL)
    by every operation that changes bidding, so bids on one lot queue up: never two leaders, a
    bid under the step or a lost bid. ``version`` makes a write that missed the lock fail rather
    than overwrite (SQLite, where writers are serialised but a read may be stale).
    """

    __tablename__ = "auction"
    __table_args__ = (
        CheckConstraint("bid_count >= 0", name="bid_count_not_negative"),
        CheckConstraint("sold >= 0", name="sold_not_negative"),
        CheckConstraint("price IS NULL OR price >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"), unique=True)
    # The end of bidding: the lot's ends_at, moved later by anti-sniping extensions.
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extensions: Mapped[int] = mapped_column(default=0)
    # English and reverse auctions: the visible current price and the leading bid; the best
    # limit among the other organisations' bids (what the proxy engine prices the leader from).
    price: Mapped[int | None] = mapped_column(BigInteger)
    leader_bid_id: Mapped[int | None] = mapped_column(ForeignKey("bid.id"))
    runner_up: Mapped[int | None] = mapped_column(BigInteger)
    bid_count: Mapped[int] = mapped_column(default=0)  # accepted bids and purchases
    # Fixed price: tonnes bought so far. The remainder is the lot's quantity minus this, read
    # under the lock (the holder may still edit the quantity of a published lot).
    sold: Mapped[Decimal] = mapped_column(TONNES, default=Decimal("0"))
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lot = relationship("Lot")
    leader = relationship("Bid", foreign_keys=[leader_bid_id])

    __mapper_args__ = {"version_id_col": version}

    def remaining(self, lot) -> Decimal:
        """Tonnes still for sale at a fixed price."""
        return max(Decimal("0"), lot.quantity - (self.sold or Decimal("0")))


class Bid(db.Model):
    """An organisation's bid on a lot, or its purchase of part of a fixed-price lot.

    ``amount`` is tiyn per the lot's price basis (per tonne or for the whole lot). In English
    and reverse auctions ``max_amount`` is the proxy limit: the platform bids for the
    organisation up to it (reverse: down to it). A sealed bid is revised in place (one per
    organisation); so is the leader's limit when it raises it. Every change is in BidEvent.
    """

    __tablename__ = "bid"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint("max_amount IS NULL OR max_amount >= 0", name="max_amount_not_negative"),
        CheckConstraint("quantity IS NULL OR quantity > 0", name="quantity_positive"),
        Index("ix_bid_lot_org", "lot_id", "organization_id"),
        Index("ix_bid_org_created", "organization_id", "created_at"),
        # One leader per open English or reverse auction: its only active bid.
        Index("uq_bid_one_leader", "lot_id", unique=True,
              postgresql_where=text("state = 'active' AND mode IN ('english', 'reverse')"),
              sqlite_where=text("state = 'active' AND mode IN ('english', 'reverse')")),
        # One live sealed bid per organisation and lot.
        Index("uq_bid_sealed_one_per_org", "lot_id", "organization_id", unique=True,
              postgresql_where=text("mode = 'sealed' AND state IN ('pending_deposit', 'active')"),
              sqlite_where=text("mode = 'sealed' AND state IN ('pending_deposit', 'active')")),
        # One open transfer request per organisation and free lot (revised in place).
        Index("uq_bid_free_one_per_org", "lot_id", "organization_id", unique=True,
              postgresql_where=text("mode = 'free' AND state IN ('pending_deposit', 'active')"),
              sqlite_where=text("mode = 'free' AND state IN ('pending_deposit', 'active')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    placed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    mode: Mapped[str] = mapped_column(String(12))  # the lot's pricing mode (free: a transfer request)
    amount: Mapped[int] = mapped_column(BigInteger)
    max_amount: Mapped[int | None] = mapped_column(BigInteger)
    quantity: Mapped[Decimal | None] = mapped_column(TONNES)  # fixed price: tonnes bought
    state: Mapped[str] = mapped_column(String(16), default="active")
    # When the amount (or limit) that ranks the bid was set: of two equal bids the earlier wins.
    ranked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdraw_reason: Mapped[str | None] = mapped_column(Text)
    # Free transfer requests (mode "free", amount 0): what the requester will do with the
    # waste and the R/D operation (its licence must cover it for a hazardous code).
    plan: Mapped[str | None] = mapped_column(Text)
    operation_code: Mapped[str | None] = mapped_column(ForeignKey("operation.code"))

    lot = relationship("Lot")
    organization = relationship("Organization")
    placed_by = relationship("User")
    operation = relationship("Operation")

    @property
    def limit(self) -> int:
        """The proxy limit, or the amount when the bid has none."""
        return self.max_amount if self.max_amount is not None else self.amount

    @property
    def state_label(self) -> str:
        labels = REQUEST_STATES if self.mode == "free" else BID_STATES
        return str(labels.get(self.state, self.state))

    def __repr__(self) -> str:
        return f"<Bid {self.id} lot={self.lot_id} org={self.organization_id} {self.amount} {self.state}>"


class BidEvent(db.Model):
    """The bid log: every placed, revised, activated or withdrawn bid, with the auction after it.

    Append-only: the database refuses UPDATE and DELETE (triggers in the migration). The
    idempotency key of a submission lives here, unique per organisation.
    """

    __tablename__ = "bid_event"
    __table_args__ = (
        UniqueConstraint("organization_id", "idempotency_key", name="uq_bid_event_org_key"),
        Index("ix_bid_event_lot", "lot_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bid.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))  # the bid's state after the event
    amount: Mapped[int | None] = mapped_column(BigInteger)
    max_amount: Mapped[int | None] = mapped_column(BigInteger)
    quantity: Mapped[Decimal | None] = mapped_column(TONNES)
    price: Mapped[int | None] = mapped_column(BigInteger)  # the auction's visible price after it
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the auction's end after it
    reason: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    bid = relationship("Bid")

    @property
    def kind_label(self) -> str:
        return str(BID_EVENT_KINDS.get(self.kind, self.kind))
