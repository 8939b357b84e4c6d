"""A complaint against a deal: by a party (the award, a signature step, an official decision) or
by a losing bidder (the award); assigned to an official not involved in the decision; ends in a
reasoned decision (upheld or dismissed) within its own deadline (working days).

While it is open the deal's deadlines are paused: on the decision the signing deadline and the
review deadline are pushed by the time it was open (``paused_seconds``). Text only (grounds and
reason); no attached documents.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from market.core.timeutil import utcnow
from market.core.types import UTCDateTime
from market.extensions import db

SUBJECTS = {
    "award": _l("Итоги торгов (присуждение)"),
    "signature": _l("Подписание договора"),
    "decision": _l("Решение уполномоченного органа"),
}
COMPLAINT_STATES = {
    "open": _l("На рассмотрении"),
    "upheld": _l("Жалоба удовлетворена"),
    "dismissed": _l("Жалоба отклонена"),
}


class Complaint(db.Model):
    __tablename__ = "complaint"
    __table_args__ = (Index("ix_complaint_state_deadline", "state", "deadline"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deal.id"), index=True)
    region_kato: Mapped[str] = mapped_column(ForeignKey("region.kato"), index=True)
    # Who complains: the user and the organisation (a party or a losing bidder), as what.
    complainant_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    role: Mapped[str] = mapped_column(String(8))  # seller, buyer, bidder
    subject: Mapped[str] = mapped_column(String(12))
    grounds: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), default="open")
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    # The official it is assigned to (never the one who decided the review, never a party's).
    official_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    # How long the deal's deadlines were paused (seconds), set by the decision.
    paused_seconds: Mapped[int | None]

    deal = relationship("Deal")
    complainant = relationship("User", foreign_keys=[complainant_id])
    organization = relationship("Organization")
    official = relationship("User", foreign_keys=[official_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])
    files = relationship("ComplaintFile", back_populates="complaint",
                         order_by="ComplaintFile.id")

    @property
    def subject_label(self) -> str:
        return str(SUBJECTS.get(self.subject, self.subject))

    @property
    def state_label(self) -> str:
        return str(COMPLAINT_STATES.get(self.state, self.state))

    @property
    def is_open(self) -> bool:
        return self.state == "open"

    def is_overdue(self, now: datetime) -> bool:
        return self.is_open and self.deadline <= now


class ComplaintFile(db.Model):
    """A PDF document attached to a complaint on filing. The bytes live in the file storage
    (market.core.storage) under ``storage_key``, never in the database."""

    __tablename__ = "complaint_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), index=True)
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    complaint = relationship("Complaint", back_populates="files")
