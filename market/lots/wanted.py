"""Wanted posts: what processors and investors look for, and their matching with lots.

A lot fits a wanted post (``mismatch`` is the reference, both directions agree with it) when:

- the lot is published, and the post is open and not past ``valid_to`` (Almaty date);
- the lot belongs to another organisation;
- the lot's waste code starts with one of the post's prefixes ("10", "1002", "100201");
- the lot's region is one of the post's regions (no regions: anywhere);
- a hazardous lot: the post's organisation holds a licence valid today that covers the lot's
  code (and the post's R/D operation, when it states one). Non-hazardous lots need none.

``lots_for_wanted`` is one SQL query (prefix LIKE on ``lot.waste_code``, region IN, the
licence scopes turned into more prefixes). ``wanted_for_lot`` narrows the open posts in SQL
on the JSON text of the prefixes and regions (digits in quotes: ``"1002"``), then checks each
candidate exactly. Matches are recorded with INSERT … ON CONFLICT DO NOTHING RETURNING, so a
match is announced once however often (or concurrently) matching runs.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from decimal import Decimal, InvalidOperation

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, cast, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import contains_eager, joinedload

from market.accounts.models import Licence, Membership, Organization, OrgRole, User
from market.core import audit
from market.core.errors import DomainError, PermissionDenied
from market.core.notify import notify, queue_email
from market.core.statemachine import StateMachine
from market.core.timeutil import today_almaty, utcnow
from market.extensions import db
from market.lots.models import Lot
from market.lots.models_interest import WANTED_PRICE_KINDS, WantedMatch, WantedPost
from market.refdata.models import (
    Operation,
    Region,
    WasteChapter,
    WasteCode,
    WasteSubchapter,
    _localized,
)
from market.refdata.search import code_prefix
from market.registry.journal import MAX_QUANTITY, parse_quantity

MAX_PREFIXES = 30
MATCH_CAP = 200  # open lots recorded and announced when a post is created or edited
_SEPARATORS = re.compile(r"[,;\n]+")
_LEVELS = {2: WasteChapter, 4: WasteSubchapter, 6: WasteCode}

WANTED_FLOW = StateMachine(name="wanted", states=("open", "closed"),
                           transitions={("open", "close"): "closed"})


# --- input -----------------------------------------------------------------------------------
def written(prefix: str) -> str:
    """"1002" → "10 02", as people write classifier codes."""
    return " ".join(prefix[i:i + 2] for i in range(0, len(prefix), 2))


def parse_prefixes(value) -> list[str]:
    """"10, 10 02, 10 02 01*" (or a list of such) → ["10", "1002", "100201"], checked against
    the classifier; a prefix inside another one given ("10" and "1002") is dropped."""
    items = value if isinstance(value, list | tuple) else _SEPARATORS.split(value or "")
    found: list[str] = []
    for raw in (str(i).strip() for i in items):
        if not raw:
            continue
        digits = code_prefix(raw)
        if digits is None or len(digits) not in _LEVELS:
            raise DomainError(_l("«%(code)s» — не код классификатора. Пишите раздел (10), подраздел "
                                 "(10 02) или код (10 02 01*), через запятую."), code=raw[:20])
        if db.session.get(_LEVELS[len(digits)], digits) is None:
            raise DomainError(_l("«%(code)s» нет в классификаторе отходов."), code=raw[:20])
        found.append(digits)
    if not found:
        raise DomainError(_l("Укажите хотя бы один код или раздел классификатора."))
    kept: list[str] = []
    for p in sorted(set(found), key=lambda p: (len(p), p)):
        if not any(p.startswith(k) for k in kept):
            kept.append(p)
    if len(kept) > MAX_PREFIXES:
        raise DomainError(_l("Не больше %(n)s кодов и разделов в одном запросе."), n=MAX_PREFIXES)
    return sorted(kept)


def _regions(values) -> list[str]:
    values = sorted({str(v).strip() for v in values or () if str(v).strip()})
    if values:
        known = set(db.session.scalars(select(Region.kato).where(Region.kato.in_(values))))
        unknown = [v for v in values if v not in known]
        if unknown:
            raise DomainError(_l("Неизвестный регион (КАТО): %(codes)s."), codes=", ".join(unknown)[:100])
    return values


def parse_tonnes(value) -> Decimal | None:
    """An optional positive quantity in tonnes ("1 500,5"); empty → None."""
    if value is None or not str(value).strip():
        return None
    try:
        qty = parse_quantity(value)
    except InvalidOperation:  # "1e400": too large to round to kilograms
        raise DomainError(_l("Слишком большое количество.")) from None
    if qty <= 0:
        raise DomainError(_l("Количество должно быть больше нуля."))
    if qty > MAX_QUANTITY:
        raise DomainError(_l("Слишком большое количество."))
    return qty


def _clean(*, title, codes, regions=(), operation_code=None, quantity=None, monthly_quantity=None,
           price=None, price_kind="pay", valid_to=None, description="", today=None) -> dict:
    """Every field of a post, validated; the messages name what is wrong."""
    title = (title or "").strip()
    if not title:
        raise DomainError(_l("Укажите заголовок запроса."))
    if len(title) > 200 or len(description or "") > 8000:
        raise DomainError(_l("Слишком длинный заголовок или описание."))
    operation_code = (operation_code or "").strip().upper() or None
    if operation_code and db.session.get(Operation, operation_code) is None:
        raise DomainError(_l("Неизвестная операция R/D: %(code)s."), code=operation_code[:8])
    if price_kind not in WANTED_PRICE_KINDS:
        raise DomainError(_l("Укажите, кто платит: вы за отходы или держатель за приём."))
    if price is not None and not 0 <= int(price) <= 10**17:
        raise DomainError(_l("Цена не может быть отрицательной."))
    if valid_to is not None and valid_to < (today or today_almaty()):
        raise DomainError(_l("Срок действия запроса уже прошёл: укажите дату не раньше сегодняшней."))
    return dict(title=title, description=(description or "").strip(),
                code_prefixes=parse_prefixes(codes), regions=_regions(regions),
                operation_code=operation_code, quantity=parse_tonnes(quantity),
                monthly_quantity=parse_tonnes(monthly_quantity),
                price=None if price is None else int(price), price_kind=price_kind, valid_to=valid_to)


def _require_manager(org: Organization, actor: User) -> None:
    if not actor.has_org_role(org, OrgRole.manager):
        raise PermissionDenied(_l("Запросами организации управляют владелец и менеджеры."))


def can_post(org: Organization) -> str | None:
    """Why the organisation may not publish wanted posts, or None."""
    if not org.can_act_on_market():
        return _l("Публиковать запросы могут только подтверждённые организации.")
    if not (org.is_processor or org.is_investor):
        return _l("Запросы на отходы публикуют переработчики и инвесторы: отметьте вид деятельности "
                  "в профиле организации.")
    return None


# --- operations ------------------------------------------------------------------------------
def create_wanted(org: Organization, *, actor: User, today: date | None = None, **fields) -> WantedPost:
    """Publish a wanted post; the open lots that fit it are recorded and their holders told."""
    _require_manager(org, actor)
    if reason := can_post(org):
        raise DomainError(reason)
    post = WantedPost(organization_id=org.id, created_by_id=actor.id, state="open",
                      **_clean(today=today, **fields))
    db.session.add(post)
    db.session.flush()
    audit.record("wanted.created", post, actor=actor, organization=org, title=post.title,
                 codes=post.code_prefixes, regions=post.regions, operation=post.operation_code)
    _match_open_lots(post)
    db.session.flush()
    return post


MATCH_FIELDS = {"code_prefixes", "regions", "operation_code", "valid_to"}


def edit_wanted(post: WantedPost, *, actor: User, today: date | None = None, **fields) -> list[str]:
    """Change an open post; when what it matches changed, newly fitting lots are announced."""
    _require_manager(post.organization, actor)
    if post.state != "open":
        raise DomainError(_l("Закрытый запрос изменить нельзя."))
    if reason := can_post(post.organization):
        raise DomainError(reason)
    changes = []
    for key, value in _clean(today=today, **fields).items():
        if getattr(post, key) != value:
            setattr(post, key, value)
            changes.append(key)
    if changes:
        audit.record("wanted.edited", post, actor=actor, organization=post.organization,
                     fields=sorted(changes))
        db.session.flush()
        if MATCH_FIELDS & set(changes):
            _match_open_lots(post)
    db.session.flush()
    return sorted(changes)


def close_wanted(post: WantedPost, *, actor: User) -> None:
    """Close a post: it leaves the board and matches nothing more."""
    _require_manager(post.organization, actor)
    if post.state == "closed":
        raise DomainError(_l("Запрос уже закрыт."))
    WANTED_FLOW.fire(post, "close")
    post.closed_at = utcnow()
    audit.record("wanted.closed", post, actor=actor, organization=post.organization)
    db.session.flush()


def answer_wanted(post: WantedPost, lot: Lot, *, actor: User, message: str = "") -> WantedMatch:
    """The holder offers one of its published lots in answer; the poster is told."""
    _require_manager(lot.organization, actor)
    message = (message or "").strip()
    if len(message) > 2000:
        raise DomainError(_l("Сообщение — не длиннее 2000 знаков."))
    if reason := mismatch(post, lot, check_region=False):
        raise DomainError(reason)
    _record_matches([(post.id, lot.id)])
    done = db.session.execute(
        update(WantedMatch).where(WantedMatch.wanted_id == post.id, WantedMatch.lot_id == lot.id,
                                  WantedMatch.answered.is_(False))
        .values(answered=True, message=message).execution_options(synchronize_session=False))
    if done.rowcount == 0:
        raise DomainError(_l("Этот лот уже предложен в ответ на запрос."))
    match = db.session.scalars(select(WantedMatch).where(
        WantedMatch.wanted_id == post.id, WantedMatch.lot_id == lot.id)).one()
    db.session.refresh(match)
    audit.record("wanted.answered", post, actor=actor, organization=lot.organization, lot=lot.id)
    text = _l("%(org)s предлагает лот «%(lot)s» в ответ на ваш запрос «%(wanted)s».",
              org=lot.organization.name, lot=lot.title, wanted=post.title)
    for user in managers(post.organization_id):
        notify(user, "wanted.answer", str(text), url=f"/wanted/{post.id}")
        queue_email(user.email, _l("Ответ на ваш запрос «%(wanted)s»", wanted=post.title),
                    "email/wanted_answer.txt", user=user, post=post, lot=lot, message=message,
                    link=_link(f"/wanted/{post.id}"), lot_link=_link(f"/lots/{lot.id}"))
    db.session.flush()
    return match


# --- matching --------------------------------------------------------------------------------
def is_live(post: WantedPost, today: date | None = None) -> bool:
    return post.state == "open" and (post.valid_to is None or post.valid_to >= (today or today_almaty()))


def _licences(org_ids) -> dict[int, list[Licence]]:
    out: dict[int, list[Licence]] = defaultdict(list)
    if org_ids:
        for lic in db.session.scalars(select(Licence).where(Licence.organization_id.in_(set(org_ids)),
                                                            Licence.revoked_at.is_(None))):
            out[lic.organization_id].append(lic)
    return out


def mismatch(post: WantedPost, lot: Lot, *, licences: list[Licence] | None = None,
             today: date | None = None, check_region: bool = True) -> str | None:
    """Why the lot does not fit the post (a message), or None when it fits."""
    today = today or today_almaty()
    if lot.state != "published":
        return _l("Предложить можно только опубликованный лот.")
    if not is_live(post, today):
        return _l("Запрос закрыт или срок его действия истёк.")
    if lot.organization_id == post.organization_id:
        return _l("Лот и запрос одной организации.")
    if not lot.waste_code or not any(lot.waste_code.startswith(p) for p in post.code_prefixes or ()):
        return _l("Код отхода лота не входит в запрос.")
    if check_region and post.regions and lot.region_kato not in post.regions:
        return _l("Лот из другого региона.")
    if lot.hazardous:
        if licences is None:
            licences = _licences([post.organization_id])[post.organization_id]
        if not any(lic.covers(lot.waste_code, post.operation_code, on=today) for lic in licences):
            return _l("У организации, разместившей запрос, нет действующей лицензии на этот "
                      "опасный отход (и операцию запроса).")
    return None


def _covered_prefixes(licences: list[Licence], operation: str | None, today: date) -> list[str]:
    """The classifier prefixes the licences cover for the operation on that day."""
    scopes = {s for lic in licences if lic.valid_on(today)
              and (not operation or operation in (lic.operations or []))
              for s in (lic.scopes or []) if s and s.isdigit()}
    return sorted(scopes)


def _code_in(prefixes):
    return or_(*[Lot.waste_code.like(f"{p}%") for p in prefixes])


def lots_for_wanted(post: WantedPost, *, today: date | None = None, limit: int | None = None,
                    before: int | None = None, organization_id: int | None = None,
                    check_region: bool = True) -> list[Lot]:
    """Published lots that fit the post, newest first (keyset: ``before`` a lot id)."""
    today = today or today_almaty()
    prefixes = [p for p in post.code_prefixes or () if p.isdigit()]
    if not prefixes or not is_live(post, today):
        return []
    licensed = _covered_prefixes(_licences([post.organization_id])[post.organization_id],
                                 post.operation_code, today)
    stmt = (select(Lot).join(WasteCode, WasteCode.code6 == Lot.waste_code)
            .where(Lot.state == "published", Lot.organization_id != post.organization_id,
                   _code_in(prefixes),
                   or_(WasteCode.hazardous.is_(False), *([_code_in(licensed)] if licensed else [])))
            .options(contains_eager(Lot.code), joinedload(Lot.region), joinedload(Lot.organization)))
    if check_region and post.regions:
        stmt = stmt.where(Lot.region_kato.in_(post.regions))
    if organization_id is not None:
        stmt = stmt.where(Lot.organization_id == organization_id)
    if before:
        stmt = stmt.where(Lot.id < before)
    stmt = stmt.order_by(Lot.id.desc())
    return list(db.session.scalars(stmt.limit(limit) if limit else stmt))


def json_has(column, value: str):
    """The JSON list column holds the string ``value`` (digits only: no escaping needed)."""
    return cast(column, String).like(f'%"{value}"%')


def wanted_for_lot(lot: Lot, *, today: date | None = None) -> list[WantedPost]:
    """Open, unexpired wanted posts of other organisations that the lot fits, oldest first."""
    today = today or today_almaty()
    code = lot.waste_code or ""
    if lot.state != "published" or not code.isdigit() or not lot.region_kato.isdigit():
        return []
    regions = cast(WantedPost.regions, String)
    candidates = db.session.scalars(
        select(WantedPost).where(
            WantedPost.state == "open",
            or_(WantedPost.valid_to.is_(None), WantedPost.valid_to >= today),
            WantedPost.organization_id != lot.organization_id,
            or_(*[json_has(WantedPost.code_prefixes, p) for p in {code[:2], code[:4], code}]),
            or_(regions.in_(["[]", "null"]), json_has(WantedPost.regions, lot.region_kato)))
        .order_by(WantedPost.id)).all()
    licences = _licences([p.organization_id for p in candidates]) if lot.hazardous else {}
    return [p for p in candidates
            if mismatch(p, lot, licences=licences.get(p.organization_id, []), today=today) is None]


def _record_matches(pairs: list[tuple[int, int]]) -> set[tuple[int, int]]:
    """Insert the (wanted_id, lot_id) pairs not yet recorded; returns those inserted now."""
    if not pairs:
        return set()
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = utcnow()
    stmt = (insert(WantedMatch)
            .values([{"wanted_id": w, "lot_id": lot, "answered": False, "message": "",
                      "created_at": now} for w, lot in pairs])
            .on_conflict_do_nothing(index_elements=["wanted_id", "lot_id"])
            .returning(WantedMatch.wanted_id, WantedMatch.lot_id))
    return {(w, lot) for w, lot in db.session.execute(stmt).all()}


def managers(org_id: int) -> list[User]:
    """Owners and managers of the organisation: who hears about matches and answers."""
    return list(db.session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.organization_id == org_id,
               Membership.role.in_([OrgRole.owner.value, OrgRole.manager.value]), User.active)
        .order_by(User.id)))


def _link(path: str) -> str:
    return current_app.config["PUBLIC_URL"].rstrip("/") + path


def _match_open_lots(post: WantedPost) -> int:
    """Record the open lots that fit a new or changed post (up to MATCH_CAP, newest first) and
    tell their holders in-app: one notification per holder's manager, however many lots."""
    lots = lots_for_wanted(post, limit=MATCH_CAP)
    new = _record_matches([(post.id, lot.id) for lot in lots])
    by_org: dict[int, list[Lot]] = defaultdict(list)
    for lot in lots:
        if (post.id, lot.id) in new:
            by_org[lot.organization_id].append(lot)
    for org_id, items in by_org.items():
        text = (_l("Новый запрос на отходы «%(wanted)s»: к нему подходит ваш лот «%(lot)s».",
                   wanted=post.title, lot=items[0].title) if len(items) == 1 else
                _l("Новый запрос на отходы «%(wanted)s»: к нему подходят ваши лоты (%(n)s).",
                   wanted=post.title, n=len(items)))
        for user in managers(org_id):
            notify(user, "wanted.fits_lots", str(text), url=f"/wanted/{post.id}")
    if new:
        audit.record("wanted.matched", post, organization=post.organization, lots=len(new))
    return len(new)


def match_new_lot(lot: Lot) -> int:
    """After a lot's publication: record the wanted posts it fits and tell both sides, once.

    Called by the job ``market.lots.jobs.lot_published``; returns how many matches are new.
    """
    posts = wanted_for_lot(lot)
    new = _record_matches([(p.id, lot.id) for p in posts])
    fresh = [p for p in posts if (p.id, lot.id) in new]
    if not fresh:
        return 0
    by_org: dict[int, list[WantedPost]] = defaultdict(list)
    for p in fresh:
        by_org[p.organization_id].append(p)
    for org_id, items in by_org.items():
        for user in managers(org_id):
            for p in items:
                notify(user, "wanted.match", str(_l(
                    "Новый лот «%(lot)s» подходит к вашему запросу «%(wanted)s».",
                    lot=lot.title, wanted=p.title)), url=f"/lots/{lot.id}")
            queue_email(user.email, _l("Новый лот по вашему запросу: %(lot)s", lot=lot.title),
                        "email/wanted_match.txt", user=user, lot=lot, posts=items,
                        lot_link=_link(f"/lots/{lot.id}"),
                        links={p.id: _link(f"/wanted/{p.id}") for p in items})
    text = _l("Ваш лот «%(lot)s» подходит к запросам на отходы: %(n)s.", lot=lot.title, n=len(fresh))
    for user in managers(lot.organization_id):
        notify(user, "wanted.lot_fits", str(text), url=f"/wanted/?lot={lot.id}")
    audit.record("wanted.lot_matched", lot, organization=lot.organization,
                 wanted=[p.id for p in fresh])
    db.session.flush()
    return len(fresh)


def describe_prefixes(prefixes) -> list[tuple[str, str]]:
    """[(code as written, title)] for a post's prefixes, in at most three queries."""
    found: dict[str, tuple[str, str]] = {}
    for size, model in _LEVELS.items():
        keys = [p for p in prefixes or () if len(p) == size]
        if not keys:
            continue
        key = model.__mapper__.primary_key[0]
        for row in db.session.scalars(select(model).where(key.in_(keys))):
            k = getattr(row, key.key)
            found[k] = (row.code, row.title) if size == 6 else (written(k), _localized(row, "title")[0])
    return [found.get(p, (written(p), "")) for p in prefixes or ()]
