"""The deal: seller, buyer, the winning bid, the price and the terms agreed, the frozen bid log.

A deal is created when a lot is awarded at its close (English, sealed, reverse) or at once for
each accepted fixed-price purchase. One deal per bid (unique), so an award can never make two.
The registry reservation stays with the lot until the rights transfer (a later slice moves the
bought tonnes with the deal).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from market.core.timeutil import utcnow
from market.core.types import UTCDateTime
from market.extensions import db
from market.registry.models import TONNES

DEAL_STATES = {
    "agreed": _l("Согласована, ждёт подписания"),
}


class Deal(db.Model):
    __tablename__ = "deal"
    __table_args__ = (
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
        CheckConstraint("total >= 0", name="total_not_negative"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"), index=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bid.id"), unique=True)
    # Tiyn per the lot's price basis (per tonne or for the whole lot), and the total in tiyn.
    unit_price: Mapped[int] = mapped_column(BigInteger)
    price_basis: Mapped[str] = mapped_column(String(8))
    quantity: Mapped[Decimal] = mapped_column(TONNES)
    total: Mapped[int] = mapped_column(BigInteger)
    # The terms as they were at the award (the lot may not change after, but the deal keeps them).
    delivery: Mapped[str] = mapped_column(String(12))
    waste_code: Mapped[str | None] = mapped_column(String(6))
    region_kato: Mapped[str] = mapped_column(ForeignKey("region.kato"))
    state: Mapped[str] = mapped_column(String(16), default="agreed")
    sign_by: Mapped[datetime] = mapped_column(UTCDateTime)
    # SHA-256 of the lot's bid log at the award (canonical JSON, in sequence order).
    bid_log_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lot = relationship("Lot")
    seller = relationship("Organization", foreign_keys=[seller_id])
    buyer = relationship("Organization", foreign_keys=[buyer_id])
    bid = relationship("Bid")

    @property
    def state_label(self) -> str:
        return str(DEAL_STATES.get(self.state, self.state))

    def __repr__(self) -> str:
        return f"<Deal {self.id} lot={self.lot_id} buyer={self.buyer_id} {self.total}>"
