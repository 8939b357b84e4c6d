"""Load the reference CSV files idempotently: insert new rows, update changed ones."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect

from market.extensions import db
from market.refdata.models import (
    HazardProperty,
    Operation,
    Region,
    WasteChapter,
    WasteCode,
    WasteSubchapter,
)

DATA_DIR = Path(__file__).resolve().parent / "data"

# (file, model, converters); order matters for foreign keys.
FILES = (
    ("kato_regions.csv", Region, {"lat": float, "lon": float}),
    ("waste_chapters.csv", WasteChapter, {}),
    ("waste_subchapters.csv", WasteSubchapter, {}),
    ("waste_codes_ewc.csv", WasteCode, {"hazardous": lambda v: v.strip() == "1"}),
    ("operations_basel.csv", Operation, {}),
    ("hazard_properties.csv", HazardProperty, {}),
)


@dataclass
class LoadResult:
    table: str
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.updated)


def _rows(path: Path, model, converters) -> list[dict]:
    """Read a CSV; columns the model has are kept (so ru/kk columns added later load too)."""
    columns = {c.key for c in inspect(model).column_attrs}
    out = []
    with path.open(encoding="utf-8", newline="") as fh:
        for raw in csv.DictReader(fh):
            row = {}
            for key, value in raw.items():
                if key not in columns:
                    continue
                value = (value or "").strip()
                if key in converters:
                    value = converters[key](value) if value != "" else None
                elif value == "":
                    value = None
                row[key] = value
            out.append(row)
    return out


def load_file(path: Path, model, converters) -> LoadResult:
    pk = inspect(model).primary_key[0].key
    result = LoadResult(model.__tablename__)
    existing = {getattr(obj, pk): obj for obj in db.session.scalars(db.select(model))}
    for row in _rows(path, model, converters):
        obj = existing.get(row[pk])
        if obj is None:
            db.session.add(model(**row))
            result.inserted += 1
            continue
        changed = False
        for key, value in row.items():
            if getattr(obj, key) != value:
                setattr(obj, key, value)
                changed = True
        result.updated += changed
        result.unchanged += not changed
    db.session.flush()
    return result


def load_all(data_dir: Path = DATA_DIR) -> list[LoadResult]:
    """Load every reference file; flushes, the caller commits."""
    return [load_file(data_dir / name, model, conv) for name, model, conv in FILES]
