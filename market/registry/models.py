"""Sites, waste streams, hazardous-waste passports and the append-only waste journal."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from market.core.timeutil import utcnow
from market.core.types import UTCDateTime
from market.extensions import db

TONNES = Numeric(18, 3)  # quantities in tonnes, to the kilogram

SITE_KINDS = {
    "production": _l("Производственная площадка"),
    "storage": _l("Площадка хранения / накопления"),
    "processing": _l("Площадка переработки"),
    "disposal": _l("Полигон / объект удаления"),
}

PHYSICAL_STATES = {
    "solid": _l("Твёрдое"),
    "powder": _l("Порошкообразное / пыль"),
    "sludge": _l("Шлам / осадок"),
    "paste": _l("Пастообразное"),
    "liquid": _l("Жидкое"),
    "mixed": _l("Смешанное"),
}

STORAGE_PURPOSES = {
    "generation": _l("Временное хранение в месте образования до вывоза"),
    "recovery": _l("Накопление для восстановления / переработки"),
    "disposal": _l("Накопление до удаления"),
}


class RecordKind(enum.StrEnum):
    generated = "generated"
    received = "received"
    transferred_out = "transferred_out"
    processed = "processed"
    disposed = "disposed"
    correction = "correction"

    @property
    def sign(self) -> int:
        return {"generated": 1, "received": 1, "transferred_out": -1, "processed": -1,
                "disposed": -1, "correction": 0}[self.value]

    @property
    def label(self) -> str:
        return str(RECORD_LABELS[self.value])


RECORD_LABELS = {
    "generated": _l("Образование"),
    "received": _l("Получение"),
    "transferred_out": _l("Передача другой организации"),
    "processed": _l("Переработка / восстановление"),
    "disposed": _l("Удаление"),
    "correction": _l("Исправление"),
}

RECORD_SOURCES = {"form": _l("форма"), "import": _l("импорт"), "api": _l("API")}


class Site(db.Model):
    """A place where an organisation generates, stores, processes or disposes of waste."""

    __tablename__ = "site"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    region_kato: Mapped[str] = mapped_column(ForeignKey("region.kato"), index=True)
    address: Mapped[str] = mapped_column(String(500))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    organization = relationship("Organization")
    region = relationship("Region", lazy="joined")
    streams: Mapped[list[WasteStream]] = relationship(back_populates="site")

    __table_args__ = (
        CheckConstraint("lat IS NULL OR (lat BETWEEN -90 AND 90)", name="lat_range"),
        CheckConstraint("lon IS NULL OR (lon BETWEEN -180 AND 180)", name="lon_range"),
    )

    @property
    def kind_label(self) -> str:
        return str(SITE_KINDS.get(self.kind, self.kind))


class WasteStream(db.Model):
    """One kind of waste at one site; its balance is the sum of its journal."""

    __tablename__ = "waste_stream"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="balance_not_negative"),
        CheckConstraint("reserved >= 0 AND reserved <= balance", name="reserved_within_balance"),
        Index("ix_waste_stream_org_code", "organization_id", "waste_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    waste_code: Mapped[str] = mapped_column(ForeignKey("waste_code.code6"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    physical_state: Mapped[str] = mapped_column(String(16))
    hazard_properties: Mapped[list] = mapped_column(JSON, default=list)
    storage_purpose: Mapped[str] = mapped_column(String(16), default="recovery")
    # Cached figures: written only by the journal operations, in the same transaction.
    balance: Mapped[Decimal] = mapped_column(TONNES, default=Decimal("0"))
    reserved: Mapped[Decimal] = mapped_column(TONNES, default=Decimal("0"))
    oldest_stock_date: Mapped[date | None] = mapped_column(Date)
    must_offer_since: Mapped[date | None] = mapped_column(Date, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    site: Mapped[Site] = relationship(back_populates="streams")
    organization = relationship("Organization")
    code = relationship("WasteCode", lazy="joined")
    passport: Mapped[Passport | None] = relationship(back_populates="stream", uselist=False)

    @property
    def hazardous(self) -> bool:
        return bool(self.code and self.code.hazardous)

    @property
    def needs_passport(self) -> bool:
        return self.hazardous and self.passport is None

    @property
    def available(self) -> Decimal:
        return self.balance - self.reserved

    @property
    def state_label(self) -> str:
        return str(PHYSICAL_STATES.get(self.physical_state, self.physical_state))

    @property
    def purpose_label(self) -> str:
        return str(STORAGE_PURPOSES.get(self.storage_purpose, self.storage_purpose))


class Passport(db.Model):
    """Hazardous-waste passport: required before a hazardous stream is recorded or listed."""

    __tablename__ = "passport"

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("waste_stream.id"), unique=True)
    composition: Mapped[str] = mapped_column(Text)
    hazard_properties: Mapped[list] = mapped_column(JSON, default=list)
    handling: Mapped[str] = mapped_column(Text)
    transport: Mapped[str] = mapped_column(Text)
    emergency: Mapped[str] = mapped_column(Text)
    compiled_by: Mapped[str] = mapped_column(String(200))
    compiled_on: Mapped[date] = mapped_column(Date)
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    stream: Mapped[WasteStream] = relationship(back_populates="passport")


class WasteRecord(db.Model):
    """One line of the append-only journal. Never updated or deleted; corrections reference it."""

    __tablename__ = "waste_record"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("delta <> 0", name="delta_not_zero"),
        CheckConstraint("balance_after >= 0", name="balance_after_not_negative"),
        Index("ix_waste_record_stream_id", "stream_id", "id"),
        Index("ix_waste_record_org_date", "organization_id", "event_date"),
        UniqueConstraint("organization_id", "idempotency_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("waste_stream.id"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    kind: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[Decimal] = mapped_column(TONNES)  # always positive, as entered
    delta: Mapped[Decimal] = mapped_column(TONNES)  # signed effect on the balance
    balance_after: Mapped[Decimal] = mapped_column(TONNES)
    event_date: Mapped[date] = mapped_column(Date)
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    source: Mapped[str] = mapped_column(String(8), default="form")
    operation_code: Mapped[str | None] = mapped_column(ForeignKey("operation.code"))
    counterparty: Mapped[str | None] = mapped_column(String(300))
    document: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("waste_record.id"))
    import_id: Mapped[int | None] = mapped_column(ForeignKey("import_job.id"), index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(100))

    stream = relationship("WasteStream")
    entered_by = relationship("User")
    corrects = relationship("WasteRecord", remote_side=[id])

    @property
    def kind_label(self) -> str:
        return str(RECORD_LABELS.get(self.kind, self.kind))


class StockLayer(db.Model):
    """FIFO layers of a stream's stock by date, for storage-time limits."""

    __tablename__ = "stock_layer"
    __table_args__ = (
        CheckConstraint("remaining > 0", name="remaining_positive"),
        UniqueConstraint("stream_id", "stock_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("waste_stream.id"), index=True)
    stock_date: Mapped[date] = mapped_column(Date)
    remaining: Mapped[Decimal] = mapped_column(TONNES)


class ImportJob(db.Model):
    """An uploaded CSV/XLSX file imported by a background job, all rows or none."""

    __tablename__ = "import_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # journal | formations
    filename: Mapped[str] = mapped_column(String(255))
    stored_path: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    imported_rows: Mapped[int] = mapped_column(default=0)
    errors: Mapped[list] = mapped_column(JSON, default=list)
    locale: Mapped[str] = mapped_column(String(5), default="ru")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def percent(self) -> int:
        return int(100 * self.processed_rows / self.total_rows) if self.total_rows else 0
