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
from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from market.core.statemachine import StateMachine
from market.core.timeutil import utcnow
from market.core.types import UTCDateTime
from market.extensions import db
from market.registry.models import TONNES

DEAL_STATES = {
    "agreed": _l("Согласована, ждёт подписания"),
    "offered": _l("Предложена следующему участнику, ждёт подписания"),
    "lapsed": _l("Не подписана в срок"),
    "withdrawn": _l("Покупатель отказался"),
    "declined": _l("Участник отклонил предложение"),
    "submitted": _l("Подписана, на проверке у уполномоченного органа"),
    "registered": _l("Одобрена, передача прав зарегистрирована"),
    "rejected": _l("Отклонена уполномоченным органом"),
    "cancelled": _l("Передача прав отменена уполномоченным органом"),
}
# States in which a deal still binds (waits to be signed) and in which it failed.
OPEN_STATES = ("agreed", "offered")
FAILED_STATES = ("lapsed", "withdrawn", "declined", "rejected")
# The official review's part of the deal's states: deals.review.DEAL_REVIEW_FLOW.

# What the holder did after a failed auction deal.
FOLLOW_UPS = {"offered": _l("Предложено следующему участнику"), "closed": _l("Лот закрыт без покупателя")}

DEAL_FLOW = StateMachine(
    name="deal",
    states=("agreed", "offered", "lapsed", "withdrawn", "declined"),
    transitions={
        ("agreed", "lapse"): "lapsed",        # sign_by passed without a signature
        ("agreed", "withdraw"): "withdrawn",  # the buyer backs out, with a reason
        ("offered", "lapse"): "lapsed",
        ("offered", "decline"): "declined",   # the next bidder does not take the offer
    },
)


class Deal(db.Model):
    __tablename__ = "deal"
    __table_args__ = (
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
        CheckConstraint("total >= 0", name="total_not_negative"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_deal_state_sign_by", "state", "sign_by"),
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
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How it ended when it failed (lapsed, withdrawn, declined): when, by whom, why.
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    end_reason: Mapped[str | None] = mapped_column(Text)
    # The holder's choice after a failed auction deal (FOLLOW_UPS), set once.
    follow_up: Mapped[str | None] = mapped_column(String(12))
    # An offer to the next-best bidder: the failed deal it follows.
    offered_after_id: Mapped[int | None] = mapped_column(ForeignKey("deal.id"))

    lot = relationship("Lot")
    seller = relationship("Organization", foreign_keys=[seller_id])
    buyer = relationship("Organization", foreign_keys=[buyer_id])
    bid = relationship("Bid")
    ended_by = relationship("User")
    offered_after = relationship("Deal", remote_side=[id], foreign_keys=[offered_after_id])

    @property
    def state_label(self) -> str:
        return str(DEAL_STATES.get(self.state, self.state))

    @property
    def follow_up_label(self) -> str:
        return str(FOLLOW_UPS.get(self.follow_up, self.follow_up or ""))

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def is_purchase(self) -> bool:
        """A fixed-price purchase (the others come from an auction's award or a next offer)."""
        return self.bid is not None and self.bid.mode == "fixed"

    def can_view(self, user) -> bool:
        """The parties' members and the officials of the deal's region."""
        return bool(user.is_authenticated and (
            user.membership_in(self.seller) or user.membership_in(self.buyer)
            or user.official_covers(self.region_kato)))

    def __repr__(self) -> str:
        return f"<Deal {self.id} lot={self.lot_id} buyer={self.buyer_id} {self.total}>"
