"""Search over published lots: full text, waste-code prefixes, filters and sort orders.

Every lot keeps ``search_text``: its title, description, the waste code as written
("10 06 01*") and as digits ("100601") and the code's titles (en/ru/kk), lower-cased, with
"ё" written "е". Operations call :func:`refresh_search_text` when one of those changes.

The index behind it is made by raw DDL in migration 85cf7ad9ebbe (not in the models):

- PostgreSQL: a lot matches when ``to_tsvector('russian', search_text)`` (Russian stems)
  or ``to_tsvector('simple', search_text)`` (Kazakh and any other word as written) matches
  ``plainto_tsquery`` of the query, or when the query is trigram-similar to a part of the
  text (``word_similarity > 0.4``: the ``<%`` operator, which the GIN ``gin_trgm_ops``
  index serves, with ``pg_trgm.word_similarity_threshold`` set to 0.4 for the
  transaction): this catches typos ("медиплавильный") and Kazakh inflections the Russian
  stemmer does not know. Rank:
  ``ts_rank`` + ``word_similarity``, with a bonus when the title itself matches.
- SQLite: FTS5 external-content table ``lot_fts`` (tokenizer unicode61) kept by triggers.
  Each query word is stemmed with the Snowball Russian stemmer and searched as a prefix
  (``"шлак"* AND "медеплавильн"*``); rank: title hits, then ``bm25``. There is **no typo
  tolerance on SQLite** (PostgreSQL only).

A query made only of digits, spaces and "*" ("10 06", "1006") is a waste-code prefix:
``waste_code LIKE '1006%'`` instead of text search, on both databases.

Sort orders: ``relevance`` (the default with a query), ``newest`` (the default without),
``ending`` (ends_at ascending, lots without an end last) and ``price`` (price ascending,
lots without a price last; the price basis — per tonne or per lot — is not normalised).
Pagination: ``newest`` keeps keyset pagination (``before=<id>``: stable while lots are
being published); the other orders use offset pagination (``page=``), as their keys are
not unique or are computed per query.
"""

from __future__ import annotations

import re

import snowballstemmer
from sqlalchemy import Float, case, cast, column, func, literal, literal_column, or_, select, table

from market.extensions import db
from market.lots.models import PRICING_MODES, Lot
from market.refdata.models import WasteCode

SORTS = ("relevance", "newest", "ending", "price")
SIMILARITY = 0.4
_CODE_QUERY = re.compile(r"^[\d\s*]+$")
_WORD = re.compile(r"\w+")
_stemmer = snowballstemmer.stemmer("russian")
_fts = table("lot_fts", column("rowid"), column("search_text"))


def _normalize(value: str) -> str:
    return (value or "").lower().replace("ё", "е")


def build_search_text(title: str, description: str, waste_code: str | None,
                      code: WasteCode | None) -> str:
    parts = [title, description]
    if code is not None:
        parts += [code.code, code.code6, code.description_en, code.description_ru,
                  code.description_kk]
    elif waste_code:
        parts.append(waste_code)
    return _normalize(" ".join(p for p in parts if p))


def refresh_search_text(lot: Lot) -> None:
    """Recompute ``lot.search_text`` (call after title, description or waste code changed)."""
    code = db.session.get(WasteCode, lot.waste_code) if lot.waste_code else None
    lot.search_text = build_search_text(lot.title, lot.description, lot.waste_code, code)


def code_prefix(q: str) -> str | None:
    """"10 06" / "1006*" → "1006"; None when the query is not a code."""
    if q and _CODE_QUERY.match(q):
        return re.sub(r"\D", "", q)
    return None


def fts5_query(q: str) -> str:
    """SQLite: stemmed prefix terms joined with AND (``"шлак"* AND "медеплавильн"*``)."""
    terms = []
    for word in _WORD.findall(_normalize(q)):
        stem = _stemmer.stemWord(word)
        terms.append(f'"{stem if len(stem) >= 3 else word}"*')
    return " AND ".join(terms)


def _filtered(stmt, *, region: str = "", chapter: str = "", mode: str = "", hazardous: str = "",
              mandatory: bool = False):
    if region:
        stmt = stmt.where(Lot.region_kato == region)
    if chapter and chapter.isdigit() and len(chapter) == 2:
        stmt = stmt.where(Lot.waste_code.like(f"{chapter}%"))
    if mode in PRICING_MODES:
        stmt = stmt.where(Lot.pricing_mode == mode)
    if hazardous in ("yes", "no"):
        stmt = stmt.join(WasteCode, WasteCode.code6 == Lot.waste_code).where(
            WasteCode.hazardous.is_(hazardous == "yes"))
    if mandatory:
        stmt = stmt.where(Lot.mandatory.is_(True))
    return stmt


def _text_search(stmt, q: str):
    """(statement restricted to matches, relevance expression: higher is better)."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        db.session.execute(select(func.set_config("pg_trgm.word_similarity_threshold",
                                                  str(SIMILARITY), True)))
        # The configurations are SQL literals (not bound parameters), so that the expressions
        # equal those of the GIN indexes even under a prepared statement's generic plan.
        russian, simple_cfg = literal_column("'russian'"), literal_column("'simple'")
        ru = func.plainto_tsquery(russian, q)
        simple = func.plainto_tsquery(simple_cfg, q)
        ru_vec = func.to_tsvector(russian, Lot.search_text)
        simple_vec = func.to_tsvector(simple_cfg, Lot.search_text)
        similar = func.word_similarity(q, Lot.search_text)
        title = func.lower(Lot.title)
        stmt = stmt.where(or_(ru_vec.op("@@")(ru), simple_vec.op("@@")(simple),
                              literal(q).op("<%")(Lot.search_text)))
        title_hit = case((or_(func.to_tsvector(russian, title).op("@@")(ru),
                              func.to_tsvector(simple_cfg, title).op("@@")(simple)), 1.0),
                         else_=0.0)
        rank = (title_hit + func.word_similarity(q, title) + func.ts_rank(ru_vec, ru)
                + func.ts_rank(simple_vec, simple) + similar)
        return stmt, rank
    match = fts5_query(q)
    stmt = stmt.join(_fts, _fts.c.rowid == Lot.id).where(
        literal_column("lot_fts").op("MATCH")(match))
    # search_text starts with the lower-cased title: count the query stems found there.
    title = func.substr(Lot.search_text, 1, func.length(Lot.title))
    stems = [t.strip('"*') for t in match.split(" AND ")]
    title_hits = sum((case((func.instr(title, s) > 0, 1), else_=0) for s in stems), literal(0))
    rank = cast(title_hits, Float) * 100 - func.bm25(literal_column("lot_fts"))
    return stmt, rank


def search_lots(q: str = "", *, region: str = "", chapter: str = "", mode: str = "",
                hazardous: str = "", mandatory: bool = False, sort: str | None = None,
                before: int | None = None, offset: int = 0, limit: int = 20) -> list[Lot]:
    """Published lots matching ``q`` and the filters, in ``sort`` order (see module doc).

    ``before`` (keyset) applies to ``newest`` only; ``offset`` to the other orders.
    """
    q = (q or "").strip()
    stmt = _filtered(select(Lot).where(Lot.state == "published"), region=region,
                     chapter=chapter, mode=mode, hazardous=hazardous, mandatory=mandatory)
    rank = None
    prefix = code_prefix(q)
    if prefix is not None:
        if prefix:
            stmt = stmt.where(Lot.waste_code.like(f"{prefix}%"))
    elif q and _WORD.search(q):
        stmt, rank = _text_search(stmt, _normalize(q))
    if sort not in SORTS:
        sort = "relevance" if rank is not None else "newest"
    if sort == "newest" or (sort == "relevance" and rank is None):
        if before:
            stmt = stmt.where(Lot.id < before)
        return list(db.session.scalars(stmt.order_by(Lot.id.desc()).limit(limit)))
    if sort == "relevance":
        order = (rank.desc(), Lot.id.desc())
    elif sort == "ending":
        order = (Lot.ends_at.asc().nulls_last(), Lot.id.desc())
    else:
        order = (Lot.price.asc().nulls_last(), Lot.id.desc())
    return list(db.session.scalars(stmt.order_by(*order).limit(limit).offset(max(offset, 0))))


__all__ = ["SORTS", "build_search_text", "code_prefix", "refresh_search_text", "search_lots"]
