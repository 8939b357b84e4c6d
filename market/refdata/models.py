"""Reference tables, loaded from the CSV files in market/refdata/data."""

from __future__ import annotations

from flask_babel import get_locale
from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from market.extensions import db


def _localized(obj, prefix: str) -> tuple[str, bool]:
    """(title in the user's language, True when it fell back to English)."""
    lang = str(get_locale() or "ru")
    value = getattr(obj, f"{prefix}_{lang}", None)
    if value:
        return value, False
    return getattr(obj, f"{prefix}_en"), lang != "en"


class Region(db.Model):
    """A top-level KATO unit: a region or a city of republican significance."""

    __tablename__ = "region"

    kato: Mapped[str] = mapped_column(String(9), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name_ru: Mapped[str] = mapped_column(String(120))
    name_kk: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    centre_en: Mapped[str | None] = mapped_column(String(120))
    lat: Mapped[float | None]
    lon: Mapped[float | None]

    @property
    def name(self) -> str:
        return _localized(self, "name")[0]


class WasteChapter(db.Model):
    __tablename__ = "waste_chapter"

    chapter: Mapped[str] = mapped_column(String(2), primary_key=True)
    title_en: Mapped[str] = mapped_column(Text)
    title_ru: Mapped[str | None] = mapped_column(Text)
    title_kk: Mapped[str | None] = mapped_column(Text)


class WasteSubchapter(db.Model):
    __tablename__ = "waste_subchapter"

    subchapter: Mapped[str] = mapped_column(String(4), primary_key=True)
    chapter: Mapped[str] = mapped_column(ForeignKey("waste_chapter.chapter"), index=True)
    title_en: Mapped[str] = mapped_column(Text)
    title_ru: Mapped[str | None] = mapped_column(Text)
    title_kk: Mapped[str | None] = mapped_column(Text)


class WasteCode(db.Model):
    """A six-digit code of the classifier, written `01 03 04*` (`*` = hazardous)."""

    __tablename__ = "waste_code"

    code6: Mapped[str] = mapped_column(String(6), primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    chapter: Mapped[str] = mapped_column(ForeignKey("waste_chapter.chapter"), index=True)
    subchapter: Mapped[str] = mapped_column(ForeignKey("waste_subchapter.subchapter"), index=True)
    hazardous: Mapped[bool] = mapped_column(default=False)
    description_en: Mapped[str] = mapped_column(Text)
    description_ru: Mapped[str | None] = mapped_column(Text)
    description_kk: Mapped[str | None] = mapped_column(Text)
    # Mirror entries: the hazardous / non-hazardous pair(s) of this entry (code6 values),
    # derived by the loader from "other than those mentioned in ..." in the titles.
    mirror_codes: Mapped[list] = mapped_column(JSON, default=list)

    @property
    def title(self) -> str:
        return _localized(self, "description")[0]

    @property
    def title_is_fallback(self) -> bool:
        return _localized(self, "description")[1]


class Operation(db.Model):
    """Basel Convention Annex IV operation: R1–R13 recovery, D1–D15 disposal."""

    __tablename__ = "operation"

    code: Mapped[str] = mapped_column(String(4), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    hierarchy: Mapped[str] = mapped_column(String(16))
    description_en: Mapped[str] = mapped_column(Text)
    description_ru: Mapped[str | None] = mapped_column(Text)
    description_kk: Mapped[str | None] = mapped_column(Text)


class HazardProperty(db.Model):
    __tablename__ = "hazard_property"

    code: Mapped[str] = mapped_column(String(4), primary_key=True)
    name_en: Mapped[str] = mapped_column(String(120))
    name_ru: Mapped[str | None] = mapped_column(String(120))
    name_kk: Mapped[str | None] = mapped_column(String(120))
