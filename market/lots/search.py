"""Search over published lots: full text, waste-code prefixes, filters and sort orders.

Every lot keeps ``search_text``: its title, description, the waste code as written
("10 06 01*") and as digits ("100601") and the code's titles (en/ru/kk), lower-cased, with
"ё" written "е". Operations call :func:`refresh_search_text` when one of those changes.

The structures behind it are made by raw DDL in migrations (not in the models):

- PostgreSQL (migration c4d1a7e9b2f3): the stored tsvector ``lot.search_vector`` — the
  title with weight A, then ``search_text``, each in the 'russian' (stems) and 'simple'
  (Kazakh and any other word as written) configurations — kept by a trigger and indexed by
  GIN (published lots; ``ix_lot_search_region`` on (region_kato, search_vector) for searches
  within a region). Every query word must match, as a Russian stem or as written.
  Typos: the trigger also keeps ``lot_fts_words``, the distinct lexemes of all lots (a few
  thousand, trigram-indexed); a query word found neither as written nor as its Russian stem
  is replaced by its most similar lexicon words (``similarity >= 0.3``, at most 3:
  "медиплавильный" → "медеплавильный"), or left out when nothing resembles it (unless
  no word would remain). Rank: ``ts_rank`` (a title hit weighs most), computed over the
  newest :data:`RANK_WINDOW` matches only, so a broad word does not rank every lot that
  has it (relevance pages go no further than that window). The other sort orders of a text
  query take all matches.
- SQLite (migration 85cf7ad9ebbe): FTS5 external-content table ``lot_fts`` (tokenizer
  unicode61) kept by triggers.
  Each query word is stemmed with the Snowball Russian stemmer and searched as a prefix
  (``"шлак"* AND "медеплавильн"*``); rank: title hits, then ``bm25``. There is **no typo
  tolerance on SQLite** (PostgreSQL only).

A query made only of digits, spaces and "*" ("10 06", "1006") is a waste-code prefix:
``waste_code LIKE '1006%'`` instead of text search, on both databases.

Filters (:class:`market.lots.query.LotQuery`): code prefix, chapter, region, pricing mode,
hazardous, mandatory offers, recurring supplies, ending within 72 hours, quantity range,
price range (per tonne: a per-lot price is divided by the quantity), and "lots my
organisation may take" (market.lots.eligibility: its licences).

Sort orders: ``relevance`` (the default with a query), ``newest`` (the default without),
``ending`` (ends_at ascending, lots without an end last), ``price`` (per tonne ascending,
lots without a price last) and ``distance`` from one of the searcher's sites (equirectangular
approximation in SQL, lots without coordinates last; no spatial index: it sorts the filtered
set, so it is meant to be combined with filters at national scale).
Pagination: ``newest`` keeps keyset pagination (``before=<id>``: stable while lots are
being published); the other orders use offset pagination (``page=``), as their keys are
not unique or are computed per query.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from functools import reduce

import snowballstemmer
from sqlalchemy import Float, case, cast, column, func, literal, literal_column, select, table, text
from sqlalchemy.orm import selectinload

from market.core.timeutil import utcnow
from market.extensions import db
from market.lots.models import Lot
from market.lots.query import SORTS, LotQuery
from market.refdata.models import WasteCode

ENDING_SOON_HOURS = 72
SIMILARITY = 0.3  # lexicon words this similar (pg_trgm similarity) to an unknown query word
CORRECTIONS = 3  # at most this many of them replace it
RANK_WINDOW = 100  # relevance ranks the newest this many matches (PostgreSQL)
WINDOW_SPANS = (50_000, 400_000)  # ... looked for among the newest this many lots first
_CODE_QUERY = re.compile(r"^[\d\s*]+$")
_WORD = re.compile(r"\w+")
_stemmer = snowballstemmer.stemmer("russian")
_fts = table("lot_fts", column("rowid"), column("search_text"))
# The configurations are SQL literals (not bound parameters): plainto_tsquery needs a regconfig.
_RUSSIAN, _SIMPLE = literal_column("'russian'"), literal_column("'simple'")
_VECTOR = literal_column("lot.search_vector")  # PostgreSQL only, not in the model
_KNOWN = text("SELECT w FROM unnest(CAST(:words AS text[])) AS w WHERE EXISTS (SELECT 1 FROM lot_fts_words"
              " WHERE word = ANY(array_append(tsvector_to_array(to_tsvector('russian', w)), w)))")
_SIMILAR = text("SELECT word FROM lot_fts_words WHERE word % :w"
                " ORDER BY similarity(word, :w) DESC, word LIMIT :n")


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


def is_text_query(q: str) -> bool:
    """True when ``q`` is searched as text (ranked by relevance): it has a word and is not a
    waste-code prefix. Punctuation alone is no query at all."""
    q = (q or "").strip()
    return bool(q) and code_prefix(q) is None and _WORD.search(q) is not None


def fts5_query(q: str) -> str:
    """SQLite: stemmed prefix terms joined with AND (``"шлак"* AND "медеплавильн"*``)."""
    terms = []
    for word in _WORD.findall(_normalize(q)):
        stem = _stemmer.stemWord(word)
        terms.append(f'"{stem if len(stem) >= 3 else word}"*')
    return " AND ".join(terms)


def price_per_tonne():
    """The price compared by filters and the price sort: per tonne whatever the lot's basis
    (a column the database computes, indexed for published lots)."""
    return Lot.price_per_t


def _filtered(stmt, query: LotQuery, *, org=None, now=None):
    if query.region:
        stmt = stmt.where(Lot.region_kato == query.region)
    if query.chapter:
        stmt = stmt.where(Lot.waste_code.like(f"{query.chapter}%"))
    if query.code:
        stmt = stmt.where(Lot.waste_code.like(f"{query.code}%"))
    if query.mode:
        stmt = stmt.where(Lot.pricing_mode == query.mode)
    if query.hazardous:
        stmt = stmt.where(Lot.waste_code.in_(select(WasteCode.code6).where(
            WasteCode.hazardous.is_(query.hazardous == "yes"))))
    if query.mandatory:
        stmt = stmt.where(Lot.mandatory.is_(True))
    if query.recurring:
        stmt = stmt.where(Lot.monthly_quantity.is_not(None))
    if query.ending:
        now = now or utcnow()
        stmt = stmt.where(Lot.ends_at > now, Lot.ends_at <= now + timedelta(hours=ENDING_SOON_HOURS))
    if query.qty_min is not None:
        stmt = stmt.where(Lot.quantity >= query.qty_min)
    if query.qty_max is not None:
        stmt = stmt.where(Lot.quantity <= query.qty_max)
    if query.price_min is not None:
        stmt = stmt.where(price_per_tonne() >= query.price_min)
    if query.price_max is not None:
        stmt = stmt.where(price_per_tonne() <= query.price_max)
    if query.allowed and org is not None:
        from market.lots.eligibility import allowed_condition

        stmt = stmt.where(allowed_condition(org))
    return stmt


def distance_order(origin: tuple[float, float]):
    """Squared equirectangular distance from ``origin`` (lat, lon): orders like the great-circle
    distance at the scale of a country; lots without coordinates come last."""
    lat0, lon0 = origin
    scale = math.cos(math.radians(lat0))
    dlat = Lot.lat - lat0
    dlon = (Lot.lon - lon0) * scale
    return dlat * dlat + dlon * dlon


def distance_km(origin: tuple[float, float] | None, lat: float | None, lon: float | None):
    """Great-circle distance in km (haversine), None when a point is missing."""
    if origin is None or lat is None or lon is None:
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, (origin[0], origin[1], lat, lon))
    a = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * 6371.0 * math.asin(math.sqrt(a))


def _pg_words(q: str) -> list[tuple[str, list[str]]]:
    """The query's words, each with the lexicon words it stands for when it is not in the
    lexicon itself (a typo); words neither known nor similar to one are left out."""
    words = list(dict.fromkeys(_WORD.findall(q)))
    known = set(db.session.scalars(_KNOWN, {"words": words}))
    if len(known) == len(words):
        return [(w, []) for w in words]
    db.session.execute(select(func.set_config("pg_trgm.similarity_threshold", str(SIMILARITY), True)))
    result = []
    for word in words:
        similar = [] if word in known else list(
            db.session.scalars(_SIMILAR, {"w": word, "n": CORRECTIONS}))
        if word in known or similar:
            result.append((word, similar))
    return result or [(w, []) for w in words]


def _pg_tsquery(q: str):
    """AND over the words of (the word in both configurations OR its corrections)."""
    groups = []
    for word, similar in _pg_words(q):
        terms = [func.plainto_tsquery(_RUSSIAN, word), func.plainto_tsquery(_SIMPLE, word)]
        terms += [func.plainto_tsquery(_SIMPLE, s) for s in similar]
        groups.append(reduce(lambda a, b: a.op("||")(b), terms))
    return reduce(lambda a, b: a.op("&&")(b), groups)


def _text_search(stmt, q: str):
    """(statement restricted to matches, relevance expression: higher is better)."""
    if db.session.get_bind().dialect.name == "postgresql":
        tsquery = _pg_tsquery(q)
        return stmt.where(_VECTOR.op("@@")(tsquery)), func.ts_rank(_VECTOR, tsquery)
    match = fts5_query(q)
    stmt = stmt.join(_fts, _fts.c.rowid == Lot.id).where(
        literal_column("lot_fts").op("MATCH")(match))
    # search_text starts with the lower-cased title: count the query stems found there.
    title = func.substr(Lot.search_text, 1, func.length(Lot.title))
    stems = [t.strip('"*') for t in match.split(" AND ")]
    title_hits = sum((case((func.instr(title, s) > 0, 1), else_=0) for s in stems), literal(0))
    rank = cast(title_hits, Float) * 100 - func.bm25(literal_column("lot_fts"))
    return stmt, rank


def search_lots(query: LotQuery | str = "", *, org=None, origin: tuple[float, float] | None = None,
                before: int | None = None, offset: int = 0, limit: int = 20, now=None,
                only_ids=None, **filters) -> list[Lot]:
    """Published lots matching the query, in its sort order (see the module doc).

    ``query`` is a :class:`LotQuery` (or the text of one, with its other fields as keyword
    arguments). ``org`` is the searcher's organisation (the "allowed" filter), ``origin`` the
    (lat, lon) of the site chosen for the distance sort. ``before`` (keyset) applies to
    ``newest`` only; ``offset`` to the other orders. ``only_ids`` restricts the search to
    those lots (a saved search checks whether one new lot matches it).
    """
    if not isinstance(query, LotQuery):
        query = LotQuery(q=query or "", **filters)
    q = (query.q or "").strip()
    # A literal, so that even a prepared statement's generic plan may use the partial GIN index.
    published = Lot.state == literal_column("'published'")
    stmt = _filtered(select(Lot).where(published), query, org=org, now=now)
    if only_ids is not None:
        stmt = stmt.where(Lot.id.in_(list(only_ids)))
    rank = None
    prefix = code_prefix(q)
    if prefix is not None:
        if prefix:
            stmt = stmt.where(Lot.waste_code.like(f"{prefix}%"))
    elif is_text_query(q):
        stmt, rank = _text_search(stmt, _normalize(q))
    sort = query.effective_sort(rank is not None, has_origin=origin is not None)
    if sort == "newest" or (sort == "relevance" and rank is None):
        if before:
            stmt = stmt.where(Lot.id < before)
        return _load(stmt.order_by(Lot.id.desc()).limit(limit))
    if sort == "relevance" and db.session.get_bind().dialect.name == "postgresql":
        # With a region, "id + 0" keeps the planner off walking the primary key backwards (it
        # would test every lot's vector, de-TOASTing it, before the region): the bitmap of
        # ix_lot_search_region gives the region's matches exactly.
        key = Lot.id + 0 if query.region else Lot.id
        newest = stmt.with_only_columns(Lot.id).order_by(key.desc()).limit(RANK_WINDOW)
        stmt = select(Lot).where(Lot.id.in_(_newest_matches(newest)))
    if sort == "relevance":
        order = (rank.desc(), Lot.id.desc())
    elif sort == "ending":
        order = (Lot.ends_at.asc().nulls_last(), Lot.id.desc())
    elif sort == "distance":
        order = (distance_order(origin).asc().nulls_last(), Lot.id.desc())
    else:
        order = (price_per_tonne().asc().nulls_last(), Lot.id.desc())
    return _load(stmt.order_by(*order).limit(limit).offset(max(offset, 0)))


def _newest_matches(newest) -> list[int]:
    """The ids `newest` selects (the newest RANK_WINDOW matches), looked for first among the
    newest lots only (WINDOW_SPANS): when that range holds enough matches they are the same
    ids, and the database read only the pages of that range instead of every match's page."""
    top = db.session.scalar(select(func.max(Lot.id))) or 0
    for span in WINDOW_SPANS:
        if span >= top:
            break
        ids = list(db.session.scalars(newest.where(Lot.id > top - span)))
        if len(ids) >= RANK_WINDOW:
            return ids
    return list(db.session.scalars(newest))


def _load(stmt) -> list[Lot]:
    return list(db.session.scalars(stmt.options(selectinload(Lot.code), selectinload(Lot.region))))


__all__ = ["SORTS", "LotQuery", "build_search_text", "code_prefix", "distance_km", "refresh_search_text",
           "search_lots"]
