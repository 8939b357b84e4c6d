"""Reference data in the UI: the waste classifier, Basel R/D operations, hazard properties."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from math import ceil

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from market.core.web import db_int
from market.extensions import db
from market.refdata.models import WasteChapter, WasteCode, WasteSubchapter, _localized
from market.refdata.search import (
    code_prefix,
    hazards_in_order,
    operations_in_order,
    search_codes,
)

bp = Blueprint("refdata", __name__, url_prefix="/classifier")

PER_PAGE = 100
JSON_LIMIT = 20
MAX_QUERY = 100

HIERARCHY = {
    "recycling": (_l("Переработка"), "success"),
    "recovery": (_l("Утилизация"), "info"),
    "intermediate": (_l("Промежуточная операция"), "secondary"),
    "disposal": (_l("Удаление"), "dark"),
}


@bp.context_processor
def _helpers():
    """`localized(obj, "title")` -> (text in the user's language or English, is_fallback)."""
    return {"localized": _localized, "hierarchy": HIERARCHY}


@dataclass
class ListPage:
    """A page of an in-memory list, shaped like Flask-SQLAlchemy's Pagination for `pager`."""

    items: list
    page: int
    per_page: int
    total: int

    @classmethod
    def of(cls, rows: list, page: int, per_page: int) -> ListPage:
        pages = max(1, ceil(len(rows) / per_page))
        page = min(max(page, 1), pages)
        return cls(rows[(page - 1) * per_page:page * per_page], page, per_page, len(rows))

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def _query_args() -> tuple[str, str | None, bool]:
    q = (request.args.get("q") or "").strip()[:MAX_QUERY]
    chapter = request.args.get("chapter") or None
    hazardous_only = request.args.get("hazardous") in ("1", "on", "y")
    return q, chapter, hazardous_only


@bp.get("/")
def list_codes():
    """The classifier by chapter; with `q`, a flat list of matching codes."""
    q, chapter, hazardous_only = _query_args()
    chapters = db.session.scalars(select(WasteChapter).order_by(WasteChapter.chapter)).all()
    if chapter not in {c.chapter for c in chapters}:
        chapter = None
    codes = search_codes(q, chapter=chapter, hazardous_only=hazardous_only)
    fallback = any(c.title_is_fallback for c in codes[:1])
    common = dict(q=q, chapter=chapter, hazardous_only=hazardous_only, chapters=chapters,
                  fallback=fallback)
    if q:
        page = ListPage.of(codes, request.args.get("page", 1, type=db_int), PER_PAGE)
        # Mirror entries are stored as code6; show them as written ("01 03 04*").
        written = dict(db.session.execute(select(WasteCode.code6, WasteCode.code)).all())
        return render_template("refdata/list.html", page=page, written=written, **common)
    subchapters = {s.subchapter: s for s in db.session.scalars(select(WasteSubchapter))}
    by_chapter = {key: list(rows) for key, rows in groupby(codes, key=lambda c: c.chapter)}
    tree = []  # [(chapter, [(subchapter, [codes])], count)], only chapters with codes to show
    for ch in chapters:
        if in_chapter := by_chapter.get(ch.chapter):
            groups = [(subchapters[key], list(rows))
                      for key, rows in groupby(in_chapter, key=lambda c: c.subchapter)]
            tree.append((ch, groups, len(in_chapter)))
    return render_template("refdata/list.html", tree=tree, total=len(codes), **common)


@bp.get("/search.json")
def search_codes_json():
    """Autocomplete: up to 20 codes matching `q` (same search as the classifier page)."""
    q, chapter, hazardous_only = _query_args()
    if not q:
        return jsonify([])
    codes = search_codes(q, chapter=chapter, hazardous_only=hazardous_only, limit=JSON_LIMIT)
    return jsonify([{"code6": c.code6, "code": c.code, "title": c.title,
                     "hazardous": c.hazardous} for c in codes])


@bp.get("/operations")
def list_operations():
    """Basel Annex IV: recovery R1–R13 and disposal D1–D15."""
    return render_template("refdata/operations.html", operations=operations_in_order())


@bp.get("/hazards")
def list_hazards():
    """Hazard properties HP1–HP15."""
    return render_template("refdata/hazards.html", hazards=hazards_in_order())


@bp.get("/<code6>")
def show_code(code6: str):
    """One code with its chapter, sub-chapter and mirror entries."""
    digits = code_prefix(code6)
    if digits and len(digits) == 6 and digits != code6:  # /classifier/01 03 04* and the like
        return redirect(url_for(".show_code", code6=digits), 301)
    code = db.session.get(WasteCode, code6) if code6.isdigit() else None
    if code is None:
        abort(404)
    mirrors = []
    if code.mirror_codes:
        mirrors = db.session.scalars(select(WasteCode).where(
            WasteCode.code6.in_(code.mirror_codes)).order_by(WasteCode.code6)).all()
    return render_template(
        "refdata/show.html", code=code, mirrors=mirrors,
        chapter=db.session.get(WasteChapter, code.chapter),
        subchapter=db.session.get(WasteSubchapter, code.subchapter))
