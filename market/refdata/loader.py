"""Load the reference CSV files idempotently: insert new rows, update changed ones."""

from __future__ import annotations

import csv
import re
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


MIRROR_RE = re.compile(r"other than those mentioned in ([0-9 ,and*]+)")
CODE_RE = re.compile(r"(\d\d) (\d\d) (\d\d)")


def link_mirrors(result: LoadResult) -> None:
    """Derive mirror pairs from "other than those mentioned in 01 03 04 and 01 03 05"."""
    codes = {c.code6: c for c in db.session.scalars(db.select(WasteCode))}
    pairs: dict[str, set[str]] = {k: set() for k in codes}
    for code in codes.values():
        match = MIRROR_RE.search(code.description_en or "")
        if not match:
            continue
        for a, b, c in CODE_RE.findall(match.group(1)):
            other = a + b + c
            if other in codes and other != code.code6:
                pairs[code.code6].add(other)
                pairs[other].add(code.code6)
    for code6, mirrors in pairs.items():
        value = sorted(mirrors)
        if (codes[code6].mirror_codes or []) != value:
            codes[code6].mirror_codes = value
            result.updated += 1
    db.session.flush()


def load_all(data_dir: Path = DATA_DIR) -> list[LoadResult]:
    """Load every reference file; flushes, the caller commits."""
    results = [load_file(data_dir / name, model, conv) for name, model, conv in FILES]
    link_mirrors(next(r for r in results if r.table == WasteCode.__tablename__))
    return results
