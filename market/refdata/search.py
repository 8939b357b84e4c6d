"""Look-ups in the reference data: classifier search, R/D operations and HP in natural order.

Shared by the classifier pages, the autocomplete endpoint and any form that needs a code.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from market.extensions import db
from market.refdata.models import HazardProperty, Operation, WasteCode

# Separators people type inside a code: "10 02 07*", "10.02.07", "10-02-07".
_CODE_NOISE = re.compile(r"[\s*.\-]+")
_CHAPTER = re.compile(r"\d\d")
_NATURAL = re.compile(r"([A-Za-z]*)(\d+)")

TITLE_COLUMNS = ("description_ru", "description_kk", "description_en")


def code_prefix(q: str | None) -> str | None:
    """The digits of a code query ("10 02", "1002", "100207*"), or None for a word query."""
    digits = _CODE_NOISE.sub("", q or "")
    return digits if digits.isdigit() else None


def _words(q: str) -> list[str]:
    return [w for w in q.casefold().split() if w]


def _title_matches(code: WasteCode, words: list[str]) -> bool:
    """Every word occurs in one of the titles (ru, kk, en), ignoring case in any script."""
    haystacks = [(getattr(code, col) or "").casefold() for col in TITLE_COLUMNS]
    return all(any(w in h for h in haystacks) for w in words)


def search_codes(q: str | None = None, chapter: str | None = None,
                 hazardous_only: bool = False, limit: int | None = None) -> list[WasteCode]:
    """Classifier codes matching a code prefix or words of the title, in code order.

    `q` is either a code (prefix) written any usual way — "10 02", "1002", "10 02 07",
    "100207*" — or words looked up in the ru/kk/en titles (case-insensitive, all words
    must occur). An empty `q` returns every code that passes the filters.
    """
    stmt = select(WasteCode).order_by(WasteCode.code6)
    if chapter:
        if not _CHAPTER.fullmatch(chapter):
            return []
        stmt = stmt.where(WasteCode.chapter == chapter)
    if hazardous_only:
        stmt = stmt.where(WasteCode.hazardous.is_(True))
    q = (q or "").strip()
    prefix = code_prefix(q) if q else None
    if prefix is not None:
        if len(prefix) > 6:
            return []
        stmt = stmt.where(WasteCode.code6.startswith(prefix, autoescape=True))
        if limit:
            stmt = stmt.limit(limit)
        return list(db.session.scalars(stmt))
    codes = list(db.session.scalars(stmt))
    # The classifier is small (842 codes): filter titles in Python, where casefold() works
    # for Cyrillic and Kazakh letters (SQLite's LIKE/lower() only fold ASCII).
    words = _words(q)
    if words:
        codes = [c for c in codes if _title_matches(c, words)]
    return codes[:limit] if limit else codes


def natural_key(code: str) -> tuple[str, int]:
    """"R10" sorts after "R9", "HP10" after "HP9"."""
    match = _NATURAL.fullmatch(code or "")
    return (match.group(1), int(match.group(2))) if match else (code or "", 0)


def operations_in_order() -> dict[str, list[Operation]]:
    """Basel Annex IV operations by kind: {"recovery": [R1..R13], "disposal": [D1..D15]}."""
    out: dict[str, list[Operation]] = {"recovery": [], "disposal": []}
    for op in sorted(db.session.scalars(select(Operation)), key=lambda o: natural_key(o.code)):
        out.setdefault(op.kind, []).append(op)
    return out


def hazards_in_order() -> list[HazardProperty]:
    """HP1..HP15 in numeric order."""
    return sorted(db.session.scalars(select(HazardProperty)), key=lambda h: natural_key(h.code))
