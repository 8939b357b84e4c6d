"""The official review of a deal's signed agreement: one case per deal and its steps.

A case is opened when a party submits the fully signed agreement; it records the version and
hash submitted, the buyer's receiving site (a stream lot), the deadline (REVIEW_WORKING_DAYS
working days) and the decision (official, time, reason or comments). Every submission and
decision is a step, so the case page shows the whole history.
"""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from market.core.timeutil import utcnow
from market.core.types import UTCDateTime
from market.extensions import db

REVIEW_STATES = {
    "submitted": _l("На проверке"),
    "approved": _l("Одобрено, передача зарегистрирована"),
    "rejected": _l("Отклонено"),
    "returned": _l("Возвращено на доработку"),
}
STEP_LABELS = {
    "submit": _l("Договор подан на проверку"),
    "resubmit": _l("Договор подан на проверку повторно"),
    "approve": _l("Одобрено уполномоченным органом, передача зарегистрирована"),
    "reject": _l("Отклонено уполномоченным органом"),
    "return": _l("Возвращено на доработку"),
}


class Review(db.Model):
    __tablename__ = "review"
    __table_args__ = (Index("ix_review_state_deadline", "state", "deadline"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deal.id"), unique=True)
    state: Mapped[str] = mapped_column(String(12), default="submitted")
    # The agreement version submitted (the latest submission) and its SHA-256.
    version_id: Mapped[int] = mapped_column(ForeignKey("agreement_version.id"))
    sha256: Mapped[str] = mapped_column(String(64))
    # Where the buyer receives the waste (stream lots; a formation changes owner instead).
    receiving_site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))
    region_kato: Mapped[str] = mapped_column(ForeignKey("region.kato"), index=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    rounds: Mapped[int] = mapped_column(default=1)
    official_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The reason of a rejection or the comments of a return.
    note: Mapped[str | None] = mapped_column(Text)
    # The Almaty day the region's officials were last reminded of the overdue case.
    reminded_on: Mapped[date | None]

    deal = relationship("Deal")
    version = relationship("AgreementVersion")
    receiving_site = relationship("Site")
    submitted_by = relationship("User", foreign_keys=[submitted_by_id])
    official = relationship("User", foreign_keys=[official_id])
    steps: Mapped[list[ReviewStep]] = relationship(back_populates="review", order_by="ReviewStep.id")

    @property
    def state_label(self) -> str:
        return str(REVIEW_STATES.get(self.state, self.state))

    def is_overdue(self, now: datetime) -> bool:
        return self.state == "submitted" and self.deadline <= now

    def __repr__(self) -> str:
        return f"<Review {self.id} deal={self.deal_id} {self.state}>"


class ReviewStep(db.Model):
    __tablename__ = "review_step"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id"), index=True)
    action: Mapped[str] = mapped_column(String(12))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    sha256: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)

    review: Mapped[Review] = relationship(back_populates="steps")
    actor = relationship("User")

    @property
    def label(self) -> str:
        return str(STEP_LABELS.get(self.action, self.action))
