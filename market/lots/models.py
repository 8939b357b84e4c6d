"""Lots: waste or TMO offered by its holder, bound to the registry balance it comes from."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Computed,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from market.core.timeutil import utcnow
from market.core.types import UTCDateTime
from market.extensions import db
from market.registry.models import TONNES

PRICING_MODES = {
    "fixed": _l("Фиксированная цена"),
    "english": _l("Английский аукцион (цена растёт)"),
    "sealed": _l("Закрытые предложения"),
    "reverse": _l("Обратный аукцион: держатель платит за приём"),
    "free": _l("Безвозмездная передача по заявке"),
}

LOT_STATES = {
    "draft": _l("Черновик"),
    "published": _l("Опубликован"),
    "closed": _l("Закрыт без победителя"),
    "awarded": _l("Определён покупатель"),
    "transferred": _l("Передан"),
    "withdrawn": _l("Снят"),
}

DELIVERY_TERMS = {"pickup": _l("Самовывоз с площадки"), "delivered": _l("Доставка продавцом")}
PRICE_BASES = {"per_t": _l("за тонну"), "per_lot": _l("за весь лот")}
UNITS = {"t": _l("т"), "m3": _l("м³")}


def months_in(start: date, end: date) -> int:
    """Calendar months from start's month to end's month, both included."""
    return (end.year - start.year) * 12 + end.month - start.month + 1


PRICE_PER_T = ("CAST(CASE WHEN price_basis = 'per_lot' THEN price / quantity ELSE price END"
               " AS BIGINT)")


class Lot(db.Model):
    """An offer of waste from a stream's balance, or of a formation (TMO)."""

    __tablename__ = "lot"
    __table_args__ = (
        CheckConstraint("(stream_id IS NULL) <> (formation_id IS NULL)", name="one_source"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("min_take IS NULL OR (min_take > 0 AND min_take <= quantity)",
                        name="min_take_within_quantity"),
        CheckConstraint("price IS NULL OR price >= 0", name="price_not_negative"),
        CheckConstraint("increment IS NULL OR increment > 0", name="increment_positive"),
        CheckConstraint("reserve_price IS NULL OR reserve_price >= 0", name="reserve_not_negative"),
        Index("ix_lot_state_published", "state", "published_at"),
        Index("ix_lot_state_region", "state", "region_kato"),
        Index("ix_lot_state_code", "state", "waste_code"),
        Index("ix_lot_state_ends", "state", "ends_at"),
        # The price sort and price filters (PostgreSQL: published lots only).
        Index("ix_lot_price", "price_per_t", postgresql_where=text("state = 'published'")),
        Index("ix_lot_region_price", "region_kato", "price_per_t",
              postgresql_where=text("state = 'published'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    stream_id: Mapped[int | None] = mapped_column(ForeignKey("waste_stream.id"), index=True)
    formation_id: Mapped[int | None] = mapped_column(ForeignKey("formation.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    search_text: Mapped[str] = mapped_column(Text, default="")
    waste_code: Mapped[str | None] = mapped_column(ForeignKey("waste_code.code6"))
    quantity: Mapped[Decimal] = mapped_column(TONNES)
    unit: Mapped[str] = mapped_column(String(4), default="t")
    min_take: Mapped[Decimal | None] = mapped_column(TONNES)
    # A recurring supply (e.g. fly ash): tonnes per month over a period, instead of one lot.
    monthly_quantity: Mapped[Decimal | None] = mapped_column(TONNES)
    supply_from: Mapped[date | None] = mapped_column(Date)
    supply_to: Mapped[date | None] = mapped_column(Date)
    region_kato: Mapped[str] = mapped_column(ForeignKey("region.kato"))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    available_from: Mapped[date | None] = mapped_column(Date)
    available_to: Mapped[date | None] = mapped_column(Date)
    delivery: Mapped[str] = mapped_column(String(12), default="pickup")
    pricing_mode: Mapped[str] = mapped_column(String(12), index=True)
    price_basis: Mapped[str] = mapped_column(String(8), default="per_t")
    price: Mapped[int | None] = mapped_column(BigInteger)  # tiyn: fixed price or start price
    increment: Mapped[int | None] = mapped_column(BigInteger)
    reserve_price: Mapped[int | None] = mapped_column(BigInteger)
    # The price per tonne whatever the basis (tiyn, rounded), kept by the database: what the
    # price filters and the price sort compare.
    price_per_t: Mapped[int | None] = mapped_column(BigInteger, Computed(PRICE_PER_T))
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    anti_snipe_minutes: Mapped[int] = mapped_column(default=0)
    mandatory: Mapped[bool] = mapped_column(default=False)
    state: Mapped[str] = mapped_column(String(12), default="draft")
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    state_reason: Mapped[str | None] = mapped_column(Text)
    views: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organization = relationship("Organization")
    stream = relationship("WasteStream")
    formation = relationship("Formation")
    code = relationship("WasteCode")
    region = relationship("Region")

    @property
    def is_open(self) -> bool:
        return self.state == "published"

    @property
    def state_label(self) -> str:
        return str(LOT_STATES.get(self.state, self.state))

    @property
    def mode_label(self) -> str:
        return str(PRICING_MODES.get(self.pricing_mode, self.pricing_mode))

    @property
    def hazardous(self) -> bool:
        return bool(self.code and self.code.hazardous)

    @property
    def is_recurring(self) -> bool:
        """A recurring supply: `monthly_quantity` tonnes a month from `supply_from` to `supply_to`."""
        return self.monthly_quantity is not None

    @property
    def supply_months(self) -> int | None:
        if not self.is_recurring or self.supply_from is None or self.supply_to is None:
            return None
        return months_in(self.supply_from, self.supply_to)

    @property
    def reserve_quantity(self) -> Decimal:
        """What the registry holds back while the lot is open.

        A one-off lot reserves its whole quantity. A recurring supply from a stream reserves the
        first month's quantity only: the later months come from waste not generated yet, which
        no balance can hold. A formation's tonnage exists already, so its lots reserve the total.
        """
        if self.is_recurring and self.stream_id is not None:
            return self.monthly_quantity
        return self.quantity

    def can_edit(self, user) -> bool:
        from market.accounts.models import OrgRole

        return bool(user.is_authenticated and user.has_org_role(self.organization, OrgRole.manager))


class LotEvent(db.Model):
    """The lot's public history: creation, publication, every edit, withdrawal, closing."""

    __tablename__ = "lot_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    kind: Mapped[str] = mapped_column(String(16))
    changes: Mapped[dict] = mapped_column(JSON, default=dict)


FILE_KINDS = {"document": _l("Документ (PDF)"), "photo": _l("Фотография")}


class LotFile(db.Model):
    """A document (PDF: lab analysis, passport) or photo of a lot. The bytes live in the
    file storage (market.core.storage) under ``storage_key``, never in the database."""

    __tablename__ = "lot_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lot = relationship("Lot")


HOW_CLOSED = {"expired": _l("Срок предложения истёк"),
              "withdrawn": _l("Снято держателем после минимального срока")}


class OfferReport(db.Model):
    """"Offered, no taker": the evidence a holder keeps when a mandatory offer closed without
    a taker — what was offered, for how long, and the interest it drew."""

    __tablename__ = "offer_report"
    __table_args__ = (Index("ix_offer_report_region_closed", "region_kato", "closed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"), unique=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    stream_id: Mapped[int | None] = mapped_column(ForeignKey("waste_stream.id"), index=True)
    region_kato: Mapped[str] = mapped_column(ForeignKey("region.kato"))
    waste_code: Mapped[str | None] = mapped_column(String(6))
    quantity: Mapped[Decimal] = mapped_column(TONNES)
    unit: Mapped[str] = mapped_column(String(4), default="t")
    pricing_mode: Mapped[str] = mapped_column(String(12))
    price: Mapped[int | None] = mapped_column(BigInteger)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    how_closed: Mapped[str] = mapped_column(String(12))  # expired | withdrawn
    views: Mapped[int] = mapped_column(default=0)
    requests: Mapped[int] = mapped_column(default=0)
    bids: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lot = relationship("Lot")
    organization = relationship("Organization")
    region = relationship("Region")

    @property
    def days_offered(self) -> int:
        return (self.closed_at - self.published_at).days

    @property
    def how_closed_label(self) -> str:
        return str(HOW_CLOSED.get(self.how_closed, self.how_closed))

    def can_view(self, user) -> bool:
        """The holder's members, officials of the report's region, admins."""
        return bool(user.is_authenticated and (
            user.is_admin or user.official_covers(self.region_kato)
            or user.membership_in(self.organization)))
