"""What buyers are interested in: wanted posts (and their matches with lots), saved
searches (and the new lots they found), and the watch list."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from market.core.timeutil import utcnow
from market.core.types import UTCDateTime
from market.extensions import db
from market.registry.models import TONNES

WANTED_STATES = {"open": _l("Открыт"), "closed": _l("Закрыт")}
# Who pays: the processor offers a price for the waste, or asks the holder for a gate fee.
WANTED_PRICE_KINDS = {"pay": _l("Готовы заплатить"), "fee": _l("Просим плату за приём")}


class WantedPost(db.Model):
    """A processor's or investor's public request: the waste it is looking for."""

    __tablename__ = "wanted_post"
    __table_args__ = (Index("ix_wanted_post_state_created", "state", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # classifier prefixes as digits: "10" chapter, "1002" sub-chapter, "100201" code
    code_prefixes: Mapped[list] = mapped_column(JSON, default=list)
    regions: Mapped[list] = mapped_column(JSON, default=list)  # KATO codes; empty: anywhere
    operation_code: Mapped[str | None] = mapped_column(ForeignKey("operation.code"))
    quantity: Mapped[Decimal | None] = mapped_column(TONNES)
    monthly_quantity: Mapped[Decimal | None] = mapped_column(TONNES)
    price: Mapped[int | None] = mapped_column(BigInteger)  # tiyn per tonne
    price_kind: Mapped[str] = mapped_column(String(4), default="pay")
    valid_to: Mapped[date | None] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(8), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organization = relationship("Organization")
    operation = relationship("Operation")


class WantedMatch(db.Model):
    """A lot that fits a wanted post, found by matching or offered by the holder in answer."""

    __tablename__ = "wanted_match"
    __table_args__ = (UniqueConstraint("wanted_id", "lot_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    wanted_id: Mapped[int] = mapped_column(ForeignKey("wanted_post.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"), index=True)
    answered: Mapped[bool] = mapped_column(default=False)  # the holder answered with this lot
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    wanted = relationship("WantedPost")
    lot = relationship("Lot")


class SavedSearch(db.Model):
    """A user's saved lot search (the query string of the search page) with optional alerts."""

    __tablename__ = "saved_search"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    # the organisation the user acted for: "lots I am allowed to take" is judged for it
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"))
    name: Mapped[str] = mapped_column(String(120))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    alerts: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Copies of the simple filters of ``params`` (written once, when saved): a new lot looks up
    # the searches it may match through these indexes (market.lots.saved.match_new_lot).
    region_kato: Mapped[str | None] = mapped_column(String(9), index=True)
    code_prefix: Mapped[str | None] = mapped_column(String(6), index=True)  # 2, 4 or 6 digits
    pricing_mode: Mapped[str | None] = mapped_column(String(12))

    user = relationship("User")
    organization = relationship("Organization")


class SavedSearchHit(db.Model):
    """A newly published lot that matched a saved search; ``emailed_at`` once in a digest."""

    __tablename__ = "saved_search_hit"
    __table_args__ = (UniqueConstraint("saved_search_id", "lot_id"),
                      Index("ix_saved_search_hit_unsent", "emailed_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    saved_search_id: Mapped[int] = mapped_column(ForeignKey("saved_search.id", ondelete="CASCADE"),
                                                 index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    saved_search = relationship("SavedSearch")
    lot = relationship("Lot")


class Watch(db.Model):
    """A lot on a user's watch list."""

    __tablename__ = "watch"
    __table_args__ = (UniqueConstraint("user_id", "lot_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lot = relationship("Lot")
