"""Saved lot searches: keep a search, hear about new lots that match it.

A saved search is the query string of the search page (:class:`LotQuery` ``to_args()``),
personal to a user, with the organisation the user acted for (the "allowed by my licences"
filter is judged for it).

Matching a newly published lot (:func:`match_new_lot`, run by the job
``market.lots.jobs.lot_published`` after the publication committed) scales with the number of
saved searches in three steps:

1. SQL over indexed copies of the simple filters (``region_kato``, ``code_prefix``,
   ``pricing_mode``: written once, when the search is saved) picks the searches with alerts
   that the lot may match, skipping inactive users and the members of the lot's own
   organisation (nobody is alerted about their own lot);
2. a check in Python of the other simple filters (hazardous, mandatory, recurring, quantity
   range, ending soon, chapter and code) drops more;
3. each remaining search is confirmed by the real search (:func:`search_lots` restricted to
   this one lot), so that text, price and licence filters mean exactly what they mean on the
   search page. Searches with the same conditions are confirmed once.

Hits are inserted with INSERT … ON CONFLICT DO NOTHING RETURNING: a lot is announced once per
search however often (or concurrently) the job runs. The user gets one in-app notification per
new lot. The e-mail digest (:func:`send_digests`, daily at 08:00 Asia/Almaty) sends one message
per user with every hit not yet e-mailed; each hit is claimed with a conditional UPDATE
(``emailed_at IS NULL``) in the transaction that writes the message to the outbox, so two
consumers running it at once cannot send a hit twice.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from market.accounts.models import Membership, Organization, User
from market.core import audit
from market.core.errors import DomainError, NotFound, PermissionDenied
from market.core.notify import notify, queue_email
from market.core.timeutil import ALMATY, aware, utcnow
from market.extensions import db
from market.lots.models import UNITS, Lot
from market.lots.models_interest import SavedSearch, SavedSearchHit
from market.lots.query import LotQuery
from market.lots.search import ENDING_SOON_HOURS, code_prefix, search_lots
from market.refdata.models import Region

MAX_SAVED_SEARCHES = 50
NAME_MAX = 120
DIGEST_LOCAL_HOUR = 8  # the digest goes out at 08:00 in Kazakhstan
IGNORED = ("sort", "near")  # change the order of results, not which lots match


def _conditions(params: dict) -> dict:
    return {k: v for k, v in params.items() if k not in IGNORED}


def _match_keys(query: LotQuery) -> dict:
    """The indexed copies of the simple filters (see the module doc)."""
    prefixes = [p for p in (query.chapter, query.code, code_prefix(query.q.strip()) or "") if p]
    longest = max(prefixes, key=len, default="")[:6]
    longest = longest[:len(longest) // 2 * 2]  # "100" (a typed code) implies the chapter "10"
    return {"region_kato": query.region or None, "code_prefix": longest or None,
            "pricing_mode": query.mode or None}


def _own(search: SavedSearch, actor: User) -> None:
    if search.user_id != actor.id:
        raise NotFound(_l("Сохранённый поиск не найден."))


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise DomainError(_l("Укажите название поиска."))
    if len(name) > NAME_MAX:
        raise DomainError(_l("Название поиска — не длиннее %(n)s знаков."), n=NAME_MAX)
    return name


def default_name(query: LotQuery) -> str:
    """The conditions in words; the text in inner quotes, as the name is quoted itself:
    «„шлака“, раздел 10, Карагандинская область»."""
    text = query.describe()
    if query.q:
        text = text.replace(f"«{query.q}»", f"„{query.q}“", 1)
    return text[:NAME_MAX]


def save_search(user: User, *, query: LotQuery, name: str = "", alerts: bool = True,
                organization: Organization | None = None) -> SavedSearch:
    """Save the user's search (at most MAX_SAVED_SEARCHES, no two with the same conditions)."""
    if query.errors:
        raise DomainError(_l("Исправьте условия поиска: %(error)s"), error=str(query.errors[0]))
    params = query.to_args()
    if not _conditions(params):
        raise DomainError(_l("Задайте запрос или хотя бы один фильтр: поиск по всем лотам "
                             "сохранять незачем."))
    if organization is not None and user.membership_in(organization) is None:
        raise PermissionDenied(_l("Вы действуете не от имени этой организации."))
    if query.allowed and organization is None:
        raise DomainError(_l("Фильтр «по моим лицензиям» работает для организации: выберите "
                             "организацию и сохраните поиск снова."))
    if query.region and db.session.get(Region, query.region) is None:
        raise DomainError(_l("Неизвестный регион (КАТО): %(code)s."), code=query.region)
    name = _clean_name(name or default_name(query))
    mine = db.session.scalars(select(SavedSearch).where(SavedSearch.user_id == user.id)).all()
    same = next((s for s in mine if _conditions(s.params or {}) == _conditions(params)), None)
    if same is not None:
        raise DomainError(_l("Такой поиск уже сохранён: «%(name)s»."), name=same.name)
    if len(mine) >= MAX_SAVED_SEARCHES:
        raise DomainError(_l("Сохранено уже %(n)s поисков — это предел. Удалите ненужные на "
                             "странице «Сохранённые поиски»."), n=MAX_SAVED_SEARCHES)
    search = SavedSearch(user_id=user.id, organization_id=getattr(organization, "id", None),
                         name=name, params=params, alerts=bool(alerts), created_at=utcnow(),
                         **_match_keys(query))
    db.session.add(search)
    db.session.flush()
    audit.record("saved_search.created", search, actor=user, params=params, alerts=search.alerts)
    return search


def rename_search(search: SavedSearch, *, actor: User, name: str) -> None:
    _own(search, actor)
    search.name = _clean_name(name)
    audit.record("saved_search.renamed", search, actor=actor, name=search.name)
    db.session.flush()


def set_alerts(search: SavedSearch, *, actor: User, alerts: bool) -> None:
    """Switch the alerts (in-app and the e-mail digest) of a saved search on or off."""
    _own(search, actor)
    search.alerts = bool(alerts)
    audit.record("saved_search.alerts", search, actor=actor, alerts=search.alerts)
    db.session.flush()


def delete_search(search: SavedSearch, *, actor: User) -> None:
    """Delete a saved search and its hits."""
    _own(search, actor)
    audit.record("saved_search.deleted", search, actor=actor, name=search.name)
    db.session.execute(SavedSearchHit.__table__.delete()
                       .where(SavedSearchHit.saved_search_id == search.id))
    db.session.delete(search)
    db.session.flush()


def user_searches(user: User) -> list[tuple[SavedSearch, int]]:
    """The user's saved searches, newest first, with how many new lots each has found."""
    hits = (select(SavedSearchHit.saved_search_id, func.count(SavedSearchHit.id).label("n"))
            .group_by(SavedSearchHit.saved_search_id).subquery())
    return [(s, n or 0) for s, n in db.session.execute(
        select(SavedSearch, hits.c.n).outerjoin(hits, hits.c.saved_search_id == SavedSearch.id)
        .where(SavedSearch.user_id == user.id).order_by(SavedSearch.id.desc())).all()]


def find_saved(user, params: dict) -> SavedSearch | None:
    """The user's saved search with these conditions, if any (the search page shows it)."""
    if not getattr(user, "is_authenticated", False) or not _conditions(params):
        return None
    return next((s for s in db.session.scalars(select(SavedSearch).where(SavedSearch.user_id == user.id))
                 if _conditions(s.params or {}) == _conditions(params)), None)


def search_url(search: SavedSearch) -> str:
    """The search page with the saved conditions (relative)."""
    return "/lots/" + (f"?{urlencode(search.params)}" if search.params else "")


# --- matching --------------------------------------------------------------------------------
def _candidates(lot: Lot):
    """Step 1: (id, user_id, name, params, organization_id) of the searches with alerts whose
    region, code prefix and pricing mode admit the lot, of active users outside its holder."""
    code = lot.waste_code or ""
    prefixes = sorted({code[:n] for n in (2, 4, 6)}) if code.isdigit() and len(code) == 6 else []
    own_members = select(Membership.user_id).where(Membership.organization_id == lot.organization_id)
    return db.session.execute(
        select(SavedSearch.id, SavedSearch.user_id, SavedSearch.name, SavedSearch.params,
               SavedSearch.organization_id).join(User, User.id == SavedSearch.user_id)
        .where(SavedSearch.alerts.is_(True), User.active.is_(True),
               SavedSearch.user_id.not_in(own_members),
               or_(SavedSearch.region_kato.is_(None), SavedSearch.region_kato == lot.region_kato),
               or_(SavedSearch.code_prefix.is_(None), SavedSearch.code_prefix.in_(prefixes)),
               or_(SavedSearch.pricing_mode.is_(None), SavedSearch.pricing_mode == lot.pricing_mode))
        .order_by(SavedSearch.id)).all()


def _may_match(query: LotQuery, lot: Lot, now: datetime) -> bool:
    """The simple filters, in Python: False when the lot surely does not match."""
    code = lot.waste_code or ""
    if any(p and not code.startswith(p) for p in (query.chapter, query.code)):
        return False
    if query.hazardous and (query.hazardous == "yes") != lot.hazardous:
        return False
    if (query.mandatory and not lot.mandatory) or (query.recurring and lot.monthly_quantity is None):
        return False
    if (query.qty_min is not None and lot.quantity < query.qty_min) or \
            (query.qty_max is not None and lot.quantity > query.qty_max):
        return False
    if query.ending:
        ends = aware(lot.ends_at)
        if ends is None or not now < ends <= now + timedelta(hours=ENDING_SOON_HOURS):
            return False
    return True


def _finds(conditions: dict, org_id: int | None, lot: Lot, now: datetime) -> bool:
    """Whether a search with these conditions finds the lot (the real search, last)."""
    query = LotQuery.from_args(conditions)
    if query.errors or not _may_match(query, lot, now):
        return False
    org = None
    if query.allowed:
        org = db.session.get(Organization, org_id) if org_id else None
        if org is None:
            return False
    return bool(search_lots(query, org=org, only_ids=[lot.id], limit=1, now=now))


def _confirmed(candidates, lot: Lot, now: datetime) -> list:
    """The candidates whose conditions find the lot, each distinct condition checked once."""
    found, verdicts = [], {}
    for row in candidates:
        conditions = _conditions(row.params or {})
        org_id = row.organization_id if conditions.get("allowed") == "1" else None
        key = (json.dumps(conditions, sort_keys=True), org_id)
        if key not in verdicts:
            verdicts[key] = _finds(conditions, org_id, lot, now)
        if verdicts[key]:
            found.append(row)
    return found


def _record_hits(search_ids: list[int], lot_id: int, now: datetime) -> set[int]:
    """Insert the hits not recorded yet; returns the ids of the searches hit just now."""
    if not search_ids:
        return set()
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = (insert(SavedSearchHit)
            .values([{"saved_search_id": s, "lot_id": lot_id, "created_at": now} for s in search_ids])
            .on_conflict_do_nothing(index_elements=["saved_search_id", "lot_id"])
            .returning(SavedSearchHit.saved_search_id))
    return set(db.session.scalars(stmt).all())


def match_new_lot(lot: Lot, *, now: datetime | None = None) -> int:
    """Record the saved searches a newly published lot matches and tell their users in-app.

    Called by the job ``market.lots.jobs.lot_published``; returns how many hits are new.
    """
    if lot.state != "published":
        return 0
    now = now or utcnow()
    matched = _confirmed(_candidates(lot), lot, now)
    new = _record_hits([s.id for s in matched], lot.id, now)
    by_user: dict[int, list] = defaultdict(list)
    for search in matched:
        if search.id in new:
            by_user[search.user_id].append(search)
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(list(by_user))))}
    for user_id, searches in by_user.items():
        if len(searches) == 1:
            text = _l("Новый лот по сохранённому поиску «%(name)s»: %(lot)s",
                      name=searches[0].name, lot=lot.title)
        else:
            text = _l("Новый лот по сохранённым поискам %(names)s: %(lot)s",
                      names=", ".join(f"«{s.name}»" for s in searches), lot=lot.title)
        notify(users[user_id], "saved_search.hit", str(text), url=f"/lots/{lot.id}")
    if new:
        audit.record("saved_search.hits", lot, organization=lot.organization, searches=sorted(new))
    db.session.flush()
    return len(new)


# --- the e-mail digest -----------------------------------------------------------------------
def digest_hour_utc() -> int:
    """The hour (UTC: what Huey's crontab sees) of DIGEST_LOCAL_HOUR in Asia/Almaty."""
    local = datetime(2026, 1, 1, DIGEST_LOCAL_HOUR, tzinfo=ALMATY)  # Kazakhstan has no DST
    return local.astimezone(UTC).hour


def _link(path: str) -> str:
    return current_app.config["PUBLIC_URL"].rstrip("/") + path


def _claim(user_id: int, now: datetime) -> list[int]:
    """Mark the user's unsent hits as e-mailed; returns the ids this transaction claimed.

    The condition ``emailed_at IS NULL`` is checked again on a row another transaction has
    just updated (PostgreSQL, READ COMMITTED), so a hit is claimed by one digest only.
    """
    mine = select(SavedSearch.id).where(SavedSearch.user_id == user_id).scalar_subquery()
    return list(db.session.scalars(
        update(SavedSearchHit)
        .where(SavedSearchHit.emailed_at.is_(None), SavedSearchHit.saved_search_id.in_(mine))
        .values(emailed_at=now).returning(SavedSearchHit.id)
        .execution_options(synchronize_session=False)).all())


def _digest(user: User, now: datetime) -> bool:
    claimed = _claim(user.id, now)
    if not claimed:
        return False
    rows = db.session.execute(
        select(SavedSearch, Lot).join(SavedSearchHit, SavedSearchHit.saved_search_id == SavedSearch.id)
        .join(Lot, Lot.id == SavedSearchHit.lot_id)
        .where(SavedSearchHit.id.in_(claimed), SavedSearch.alerts.is_(True), Lot.state == "published")
        .order_by(SavedSearch.id, Lot.id)).all()
    groups: dict[int, tuple[SavedSearch, list[Lot]]] = {}
    for search, lot in rows:
        groups.setdefault(search.id, (search, []))[1].append(lot)
    if not groups:
        return False
    lots = len({lot.id for _search, lot in rows})
    queue_email(user.email, _l("Новые лоты по сохранённым поискам: %(n)s", n=lots),
                "email/saved_search_digest.txt", user=user, groups=list(groups.values()),
                lot_link=lambda lot: _link(f"/lots/{lot.id}"),
                search_link=lambda search: _link(search_url(search)), manage_link=_link("/saved/"),
                UNITS=UNITS)
    return True


def send_digests(*, now: datetime | None = None) -> int:
    """One e-mail per user listing the hits not e-mailed yet, grouped by saved search."""
    now = now or utcnow()
    user_ids = db.session.scalars(
        select(SavedSearch.user_id).join(SavedSearchHit, SavedSearchHit.saved_search_id == SavedSearch.id)
        .where(SavedSearchHit.emailed_at.is_(None)).distinct()).all()
    sent = 0
    for user_id in sorted(user_ids):
        user = db.session.get(User, user_id)
        if user is not None and user.active and _digest(user, now):
            sent += 1
    db.session.flush()
    return sent
