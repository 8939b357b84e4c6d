"""API v1 lots: search and read published lots (no token needed), create, publish, withdraw.

Reading is public, like the exchange's web pages: without a token a lot comes without its
holder (the web page shows the holder after login); with a token of any scope the holder
and its contacts are included and `allowed=1` uses the token organisation's licences.
Writing needs a token with the scope `lots:write`, which also shows the organisation its own
drafts and withdrawn lots. The same operations as the web pages (market.lots.operations)
apply the same rules; their refusals are JSON errors in the language of Accept-Language:
a rule of the domain → 422, the registry's balance or the lot's state says no → 409.
Audit events of API writes carry `source=api` and the token's prefix.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from contextvars import ContextVar
from http import HTTPStatus

from flask import g, request, url_for
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint, abort
from sqlalchemy import event, select

from market.accounts.models import Organization
from market.api import idempotency, tokens
from market.api.auth import REALM, acting_user, bearer_secret, rate_limit, rate_limit_key
from market.api.errors import MESSAGES, json_error, register_error_handlers
from market.api.schemas import IdempotencyHeaderSchema
from market.api.schemas_lots import (
    LotCreateSchema,
    LotPageSchema,
    LotSchema,
    LotSearchQuerySchema,
    LotWithdrawSchema,
    lot_payload,
)
from market.cadastre.models import Formation
from market.core.errors import DomainError, IllegalTransition, PermissionDenied
from market.core.locking import lock_for_update
from market.core.models import AuditEvent
from market.core.txn import commit, rollback
from market.extensions import csrf, db, limiter
from market.lots import operations as ops
from market.lots.models import Lot
from market.lots.query import LotQuery
from market.lots.reservation import ReservationError
from market.lots.search import code_prefix, search_lots
from market.lots.views import PUBLIC_STATES
from market.registry.models import Site, WasteStream

WRITE_SCOPE = "lots:write"
TAG = "Lots"
# Anonymous or with a token: `{}` makes the bearer scheme optional for these operations.
OPTIONAL_TOKEN = [{}, {"bearerAuth": []}]
ERROR = {code: HTTPStatus(code).name for code in (401, 403, 404, 409, 422)}

bp = Blueprint("api_lots", __name__, url_prefix="/api/v1",
               description="Lots of the exchange: public search and reading; the token "
                           "organisation's drafts, publication and withdrawal.")


# Tokens -------------------------------------------------------------------------------------


def optional_token() -> None:
    """before_request: no Authorization header → anonymous; a bad one → 401; writes need lots:write."""
    g.api_token = None
    if "Authorization" in request.headers:
        secret = bearer_secret()
        if secret is None:
            abort(401, message=MESSAGES[401], headers={"WWW-Authenticate": REALM})
        token = tokens.find_active(secret)
        if token is None:
            abort(401, message=_l("API-токен недействителен или отозван."),
                  headers={"WWW-Authenticate": f'{REALM}, error="invalid_token"'})
        if tokens.touch(token):
            commit()  # a tiny transaction of its own, at most once a minute per token
        g.api_token = token
    if request.method == "POST":  # every POST here writes: checked before the body is read
        if g.api_token is None:
            abort(401, message=MESSAGES[401], headers={"WWW-Authenticate": REALM})
        if WRITE_SCOPE not in (g.api_token.scopes or []):
            abort(403, message=_l("У токена нет права «%(scope)s».", scope=WRITE_SCOPE),
                  headers={"WWW-Authenticate":
                           f'{REALM}, error="insufficient_scope", scope="{WRITE_SCOPE}"'})


def _conflict(exc: DomainError):
    """The registry's balance or the lot's state refuses (another request got there first...)."""
    rollback()
    return json_error(409, str(exc))


# Set up once, at import, like the registry's blueprint (market.api.views).
bp.before_request(optional_token)
register_error_handlers(bp)
bp.register_error_handler(ReservationError, _conflict)
bp.register_error_handler(IllegalTransition, _conflict)
csrf.exempt(bp)
limiter.shared_limit(rate_limit, scope="api-v1", key_func=rate_limit_key)(bp)


def _token_org_id() -> int | None:
    return g.api_token.organization_id if g.api_token is not None else None


def _manages(lot: Lot) -> bool:
    """A lots:write token of the lot's holder."""
    token = g.api_token
    return bool(token is not None and token.organization_id == lot.organization_id
                and WRITE_SCOPE in (token.scopes or []))


def _payload(lot: Lot) -> dict:
    return lot_payload(lot, holder=g.api_token is not None, owner=_manages(lot))


# Audit: API writes are marked as such ---------------------------------------------------------

_api_token_prefix: ContextVar[str | None] = ContextVar("api_token_prefix", default=None)


@event.listens_for(AuditEvent, "before_insert")
def _mark_api_source(_mapper, _connection, target: AuditEvent) -> None:
    prefix = _api_token_prefix.get()
    if prefix is not None:
        target.data = {**(target.data or {}), "source": "api", "token": prefix}


@contextmanager
def via_api():
    """Audit events written (flushed) inside carry source=api and the token's prefix."""
    reset = _api_token_prefix.set(g.api_token.prefix)
    try:
        yield
    finally:
        _api_token_prefix.reset(reset)


def _write(status: int, idempotency_key: str | None, perform):
    """Run perform() → payload and commit; with an Idempotency-Key a retry returns the first answer."""
    token = g.api_token
    actor = acting_user()
    if not tokens.can_write_with(token, actor):
        raise PermissionDenied(_l("Создатель токена больше не может управлять лотами этой организации; "
                                  "выпустите новый токен."))
    with via_api():
        return idempotency.idempotent_write(token.organization_id, idempotency_key, status,
                                            lambda: LotSchema().dump(perform(actor)))


# Search -------------------------------------------------------------------------------------


def _query_error(field: str, message) -> None:
    abort(422, message=MESSAGES[422], errors={"query": {field: [message]}})


def _lot_query(args: dict) -> LotQuery:
    """The web search's LotQuery from the validated parameters (prices already in tiyn)."""
    text = {name: args[name] for name in ("q", "code", "chapter", "region", "mode", "hazardous",
                                          "qty_min", "qty_max", "sort")}
    text.update({name: "1" for name in ("mandatory", "recurring", "ending", "allowed") if args[name]})
    query = LotQuery.from_args(text)
    if query.errors:  # the schema checked each value already; kept as a safety net
        abort(422, message=MESSAGES[422], errors={"query": {"_": query.errors}})
    query.price_min, query.price_max = args["price_min"], args["price_max"]
    return query


def _origin(args: dict, org: Organization | None):
    if args["near"] is None:
        return None
    site = db.session.get(Site, args["near"]) if org is not None else None
    if site is None or site.organization_id != org.id or site.lat is None:
        _query_error("near", _l("Расстояние считается от площадки организации токена с координатами: "
                                "укажите её id."))
    return site.lat, site.lon


@bp.route("/lots", tags=[TAG])
@bp.arguments(LotSearchQuerySchema, location="query")
@bp.response(200, LotPageSchema)
@bp.alt_response(401, response=ERROR[401])
@bp.doc(security=OPTIONAL_TOKEN)
def search(args):
    """Search published lots (no token needed)

    The parameters of the exchange's web search (`/lots/?…`), with two differences: prices
    are integers in tiyn per tonne (`price_min=5000000` is 50 000 ₸/t), and flags are `1`/`0`.
    Invalid values → 422 with a message per parameter. `allowed=1` and `near` need a token
    (its organisation's licences and sites).

    Pages: the `newest` order (the default without words) pages by `before=<id>` (stable while
    lots are being published); the other orders by `page=`. Follow `next` (also the
    `Link: <…>; rel="next"` header) until it is null.
    """
    token_org = g.api_token.organization if g.api_token is not None else None
    if args["allowed"] and token_org is None:
        _query_error("allowed", _l("Фильтр «по моим лицензиям» работает с API-токеном организации: "
                                   "её лицензии определяют, какие лоты ей доступны."))
    query = _lot_query(args)
    origin = _origin(args, token_org)
    q = query.q.strip()
    has_text = bool(q) and code_prefix(q) is None and re.search(r"\w", q) is not None
    sort = query.effective_sort(has_text, has_origin=origin is not None)
    keyset = sort == "newest" or (sort == "relevance" and not has_text)
    limit, page, before = args["limit"], args["page"], args["before"]
    if keyset and page > 1:
        _query_error("page", _l("Порядок «сначала новые» листается параметром before (id последнего "
                                "лота страницы): следуйте ссылке next."))
    if not keyset and before is not None:
        _query_error("before", _l("before листает только порядок «сначала новые»; для этого порядка "
                                  "используйте page."))
    rows = search_lots(query, org=token_org, origin=origin, before=before,
                       offset=0 if keyset else (page - 1) * limit, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    ids = {lot.organization_id for lot in rows}
    if g.api_token is not None and ids:  # the holders in one query (the identity map serves the rest)
        db.session.scalars(select(Organization).where(Organization.id.in_(ids))).all()
    next_url = None
    if more:
        step = {"before": rows[-1].id} if keyset else {"page": page + 1}
        kept = {k: v for k, v in request.args.items() if k not in ("before", "page")}
        next_url = url_for("api_lots.search", **kept, **step, _external=True)
    headers = {"Link": f'<{next_url}>; rel="next"'} if next_url else {}
    page_body = {"items": [_payload(lot) for lot in rows], "sort": sort, "limit": limit, "next": next_url}
    return page_body, 200, headers


# One lot ------------------------------------------------------------------------------------


def _not_found():
    abort(404, message=_l("Лот не найден."))


def _visible_lot(lot_id: int) -> Lot:
    lot = db.session.get(Lot, lot_id)
    if lot is None or (lot.state not in PUBLIC_STATES and not _manages(lot)):
        _not_found()
    return lot


def _own_lot(lot_id: int) -> Lot:
    lot = db.session.get(Lot, lot_id)
    if lot is None or lot.organization_id != _token_org_id():
        _not_found()
    return lot


@bp.route("/lots/<int:lot_id>", tags=[TAG])
@bp.response(200, LotSchema)
@bp.alt_response(401, response=ERROR[401])
@bp.alt_response(404, response=ERROR[404])
@bp.doc(security=OPTIONAL_TOKEN)
def get_lot(lot_id: int):
    """One lot (no token needed for a published one)

    Published, closed, awarded and transferred lots are public. Drafts and withdrawn lots
    answer 404, except to a `lots:write` token of the holder.
    """
    return _payload(_visible_lot(lot_id))


# Writes -------------------------------------------------------------------------------------


def _source(data: dict) -> tuple[WasteStream | None, Formation | None]:
    """The token organisation's stream or formation named in the body; 422 otherwise."""
    org_id = _token_org_id()
    if data["stream_id"] is not None:
        stream = db.session.get(WasteStream, data["stream_id"])
        if stream is None or stream.organization_id != org_id:
            abort(422, message=MESSAGES[422], errors={"json": {"stream_id": [
                _l("В организации токена нет потока отходов с таким id.")]}})
        return stream, None
    formation = db.session.get(Formation, data["formation_id"])
    if formation is None or formation.organization_id != org_id:
        abort(422, message=MESSAGES[422], errors={"json": {"formation_id": [
            _l("У организации токена нет объекта ТМО с таким id.")]}})
    return None, formation


@bp.route("/lots", methods=["POST"], tags=[TAG])
@bp.arguments(IdempotencyHeaderSchema, location="headers", as_kwargs=True)
@bp.arguments(LotCreateSchema)
@bp.response(201, LotSchema)
@bp.alt_response(401, response=ERROR[401])
@bp.alt_response(403, response=ERROR[403])
def create_lot(data, idempotency_key: str | None = None):
    """Create a draft lot from a stream or a formation of the organisation (scope lots:write)

    The fields of the web form, money in tiyn. Refused with 422 when a field is invalid
    (`errors` per field) or a rule of the exchange says no (message). A stream lot's quantity
    is checked against the registry when the lot is published. Send an `Idempotency-Key`
    header to make retries safe: the same key with the same body returns the first answer
    (same lot, header `Idempotent-Replayed: true`); with another body it is refused (422).
    """
    stream, formation = _source(data)
    org = g.api_token.organization

    def perform(actor):
        lot = ops.create_lot(org, actor=actor, stream=stream, formation=formation,
                             **LotCreateSchema.to_operation(data))
        return _payload(lot)

    return _write(201, idempotency_key, perform)


@bp.route("/lots/<int:lot_id>/publish", methods=["POST"], tags=[TAG])
@bp.arguments(IdempotencyHeaderSchema, location="headers", as_kwargs=True)
@bp.response(200, LotSchema)
@bp.alt_response(401, response=ERROR[401])
@bp.alt_response(403, response=ERROR[403])
@bp.alt_response(404, response=ERROR[404])
@bp.alt_response(409, response=ERROR[409])
@bp.alt_response(422, response=ERROR[422])
def publish_lot(lot_id: int, idempotency_key: str | None = None):
    """Publish a draft of the organisation (scope lots:write): its quantity is reserved

    Refused with 409 when the registry does not hold that much free of other open lots (the
    message names the numbers) or the lot is not a draft (already published: a retry with the
    first request's `Idempotency-Key` returns the first answer instead); with 422 when a rule
    says no (an organisation not yet verified, a hazardous stream without a passport, an
    auction end in the past).
    """
    lot = _own_lot(lot_id)
    lock_for_update(lot)  # two publications at once queue here; the second sees the first's result
    if idempotency_key is None or idempotency.stored(lot.organization_id, idempotency_key) is None:
        if lot.state == "published":
            abort(409, message=_l("Лот №%(id)s уже опубликован. Повтор с тем же Idempotency-Key, что и "
                                  "у первой публикации, вернёт её ответ.", id=lot.id))
        if lot.state != "draft":
            abort(409, message=_l("Опубликовать можно только черновик, а лот №%(id)s — «%(state)s».",
                                  id=lot.id, state=lot.state_label))

    def perform(actor):
        ops.publish_lot(lot, actor=actor)
        return _payload(lot)

    return _write(200, idempotency_key, perform)


@bp.route("/lots/<int:lot_id>/withdraw", methods=["POST"], tags=[TAG])
@bp.arguments(IdempotencyHeaderSchema, location="headers", as_kwargs=True)
@bp.arguments(LotWithdrawSchema)
@bp.response(200, LotSchema)
@bp.alt_response(401, response=ERROR[401])
@bp.alt_response(403, response=ERROR[403])
@bp.alt_response(404, response=ERROR[404])
@bp.alt_response(409, response=ERROR[409])
def withdraw_lot(data, lot_id: int, idempotency_key: str | None = None):
    """Withdraw a draft or published lot of the organisation, with a reason (scope lots:write)

    The reserve goes back to the stream. A mandatory offer stays published for its minimum
    period (422 until then); a lot already withdrawn or closed → 409.
    """
    lot = _own_lot(lot_id)
    lock_for_update(lot)
    if (idempotency_key is None or idempotency.stored(lot.organization_id, idempotency_key) is None) \
            and lot.state not in ("draft", "published"):
        abort(409, message=_l("Снять можно черновик или опубликованный лот, а лот №%(id)s — «%(state)s».",
                              id=lot.id, state=lot.state_label))

    def perform(actor):
        ops.withdraw_lot(lot, actor=actor, reason=data["reason"])
        return _payload(lot)

    return _write(200, idempotency_key, perform)
