"""Formations (TMO objects) and their assays."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from market.core.timeutil import utcnow
from market.core.types import UTCDateTime
from market.extensions import db

FORMATION_KINDS = {
    "tailings": _l("Хвостохранилище"),
    "slag_heap": _l("Шлакоотвал"),
    "overburden_dump": _l("Отвал вскрышных пород"),
    "sludge_pond": _l("Шламонакопитель"),
    "ash_dump": _l("Золоотвал"),
    "other": _l("Другое"),
}

FORMATION_STATUSES = {
    "active": _l("Действующее"),
    "conserved": _l("Законсервировано"),
    "abandoned": _l("Бесхозное / заброшенное"),
    "processing": _l("Перерабатывается"),
}

ASSAY_UNITS = {"pct": "%", "g_t": _l("г/т"), "ppm": "ppm", "kg_t": _l("кг/т")}


class Formation(db.Model):
    """A technogenic mineral formation, owned by an organisation or by the state."""

    __tablename__ = "formation"
    __table_args__ = (
        CheckConstraint("lat BETWEEN -90 AND 90", name="lat_range"),
        CheckConstraint("lon BETWEEN -180 AND 180", name="lon_range"),
        CheckConstraint("volume_m3 IS NULL OR volume_m3 >= 0", name="volume_not_negative"),
        CheckConstraint("tonnage IS NULL OR tonnage >= 0", name="tonnage_not_negative"),
        CheckConstraint("area_ha IS NULL OR area_ha >= 0", name="area_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20))
    # The holder organisation; for a state-owned formation, the state body that manages it.
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    state_owned: Mapped[bool] = mapped_column(default=False)
    region_kato: Mapped[str] = mapped_column(ForeignKey("region.kato"), index=True)
    address: Mapped[str | None] = mapped_column(String(500))
    lat: Mapped[float]
    lon: Mapped[float]
    outline: Mapped[dict | None] = mapped_column(JSON)  # GeoJSON Polygon
    area_ha: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    volume_m3: Mapped[Decimal | None] = mapped_column(Numeric(18, 1))
    tonnage: Mapped[Decimal | None] = mapped_column(Numeric(18, 1))
    year_formed: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(16), default="active")
    hazard_class: Mapped[int | None]  # 1 (extremely hazardous) .. 5 (practically non-hazardous)
    waste_code: Mapped[str | None] = mapped_column(ForeignKey("waste_code.code6"))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    organization = relationship("Organization")
    region = relationship("Region", lazy="joined")
    code = relationship("WasteCode")
    assays: Mapped[list[Assay]] = relationship(back_populates="formation",
                                               cascade="all, delete-orphan",
                                               order_by="Assay.sampled_on.desc()")

    @property
    def kind_label(self) -> str:
        return str(FORMATION_KINDS.get(self.kind, self.kind))

    @property
    def status_label(self) -> str:
        return str(FORMATION_STATUSES.get(self.status, self.status))


class Assay(db.Model):
    """A laboratory result for one useful (or harmful) component of a formation."""

    __tablename__ = "assay"
    __table_args__ = (CheckConstraint("grade >= 0", name="grade_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    formation_id: Mapped[int] = mapped_column(ForeignKey("formation.id"), index=True)
    component: Mapped[str] = mapped_column(String(60))
    grade: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    unit: Mapped[str] = mapped_column(String(8))
    laboratory: Mapped[str | None] = mapped_column(String(200))
    sampled_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    formation: Mapped[Formation] = relationship(back_populates="assays")

    @property
    def unit_label(self) -> str:
        return str(ASSAY_UNITS.get(self.unit, self.unit))
