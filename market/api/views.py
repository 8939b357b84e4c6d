"""API v1 resources: the token organisation's sites, streams, balances and journal.

Objects of other organisations answer 404, exactly like objects that do not exist.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from http import HTTPStatus

from flask import url_for
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint, abort
from sqlalchemy import select

from market.api import idempotency
from market.api.auth import (
    acting_user,
    authenticate,
    current_org,
    current_token,
    rate_limit,
    rate_limit_key,
)
from market.api.errors import register_error_handlers
from market.api.schemas import (
    BalancesSchema,
    IdempotencyHeaderSchema,
    RecordCreateSchema,
    RecordPageQuerySchema,
    RecordPageSchema,
    RecordSchema,
    SiteSchema,
    StreamQuerySchema,
    StreamSchema,
)
from market.api.tokens import can_write_with
from market.core.errors import PermissionDenied
from market.extensions import csrf, db, limiter
from market.registry import journal
from market.registry.models import Site, WasteRecord, WasteStream

bp = Blueprint("api", __name__, url_prefix="/api/v1",
               description="Registry of the token's organisation: sites, waste streams, "
                           "balances and the waste journal.")

# Set up once, at import (the blueprint object outlives each app that registers it):
# bearer tokens only, never cookies, so nothing for CSRF to protect; one rate limit per token
# shared by every endpoint; JSON errors.
bp.before_request(authenticate)
register_error_handlers(bp)
csrf.exempt(bp)
limiter.shared_limit(rate_limit, scope="api-v1", key_func=rate_limit_key)(bp)

# Names of flask-smorest's error response components (e.g. NOT_FOUND).
ERROR = {str(code): HTTPStatus(code).name for code in (403, 404)}


def _site(site_id: int) -> Site:
    site = db.session.get(Site, site_id)
    if site is None or site.organization_id != current_token().organization_id:
        abort(404, message=_l("Площадка не найдена."))
    return site


def _stream(stream_id: int) -> WasteStream:
    stream = db.session.get(WasteStream, stream_id)
    if stream is None or stream.organization_id != current_token().organization_id:
        abort(404, message=_l("Поток отходов не найден."))
    return stream


def _streams_query():
    return select(WasteStream).where(WasteStream.organization_id == current_token().organization_id)


# Sites ------------------------------------------------------------------------------------


@bp.route("/sites", tags=["Sites"])
@bp.response(200, SiteSchema(many=True))
def list_sites():
    """Sites of the organisation"""
    return db.session.scalars(select(Site).where(Site.organization_id == current_token().organization_id)
                              .order_by(Site.id)).all()


@bp.route("/sites/<int:site_id>", tags=["Sites"])
@bp.response(200, SiteSchema)
@bp.alt_response(404, response=ERROR["404"])
def get_site(site_id: int):
    """One site"""
    return _site(site_id)


# Streams ----------------------------------------------------------------------------------


@bp.route("/streams", tags=["Streams"])
@bp.arguments(StreamQuerySchema, location="query")
@bp.response(200, StreamSchema(many=True))
def list_streams(args):
    """Waste streams with balance, reserve and storage-time flags

    Filter by `site_id` and/or `waste_code`.
    """
    q = _streams_query()
    if args["site_id"] is not None:
        q = q.where(WasteStream.site_id == args["site_id"])
    if args["waste_code"]:
        q = q.where(WasteStream.waste_code == args["waste_code"].replace(" ", "").rstrip("*"))
    return db.session.scalars(q.order_by(WasteStream.id)).all()


@bp.route("/streams/<int:stream_id>", tags=["Streams"])
@bp.response(200, StreamSchema)
@bp.alt_response(404, response=ERROR["404"])
def get_stream(stream_id: int):
    """One waste stream"""
    return _stream(stream_id)


# Balances ---------------------------------------------------------------------------------


def _sum(streams: list[WasteStream]) -> dict:
    balance = sum((s.balance for s in streams), Decimal("0"))
    reserved = sum((s.reserved for s in streams), Decimal("0"))
    return {"waste_code": streams[0].waste_code, "hazardous": streams[0].hazardous,
            "streams": len(streams), "balance": balance, "reserved": reserved,
            "available": balance - reserved}


def _by_code(streams: list[WasteStream]) -> list[dict]:
    groups: dict[str, list[WasteStream]] = defaultdict(list)
    for s in streams:
        groups[s.waste_code].append(s)
    return [_sum(groups[code]) for code in sorted(groups)]


@bp.route("/balances", tags=["Balances"])
@bp.response(200, BalancesSchema)
def balances():
    """Balances per stream, per site and for the organisation, summed by waste code

    Exact decimal sums, written as strings with three decimals.
    """
    org = current_org()
    streams = db.session.scalars(_streams_query().order_by(WasteStream.id)).all()
    sites = db.session.scalars(select(Site).where(Site.organization_id == org.id)
                               .order_by(Site.id)).all()
    per_site: dict[int, list[WasteStream]] = defaultdict(list)
    for s in streams:
        per_site[s.site_id].append(s)
    return {
        "organization_id": org.id,
        "streams": [{"stream_id": s.id, "site_id": s.site_id, "name": s.name,
                     "waste_code": s.waste_code, "hazardous": s.hazardous, "balance": s.balance,
                     "reserved": s.reserved, "available": s.available} for s in streams],
        "sites": [{"site_id": site.id, "name": site.name, "by_waste_code": _by_code(per_site[site.id])}
                  for site in sites],
        "organization": _by_code(streams),
    }


# Journal ----------------------------------------------------------------------------------


@bp.route("/streams/<int:stream_id>/records", methods=["GET"], tags=["Records"])
@bp.arguments(RecordPageQuerySchema, location="query")
@bp.response(200, RecordPageSchema)
@bp.alt_response(404, response=ERROR["404"])
def list_records(args, stream_id: int):
    """The stream's journal, oldest first, by pages (keyset on the record id)

    Follow `next` (also sent as a `Link: <…>; rel="next"` header) until it is null.
    """
    stream = _stream(stream_id)
    limit = args["limit"]
    rows = db.session.scalars(
        select(WasteRecord).where(WasteRecord.stream_id == stream.id,
                                  WasteRecord.id > args["after_id"])
        .order_by(WasteRecord.id).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_url = (url_for("api.list_records", stream_id=stream.id, after_id=rows[-1].id,
                        limit=limit, _external=True) if more else None)
    headers = {"Link": f'<{next_url}>; rel="next"'} if next_url else {}
    return {"items": rows, "limit": limit, "next": next_url}, 200, headers


@bp.route("/streams/<int:stream_id>/records", methods=["POST"], tags=["Records"])
@bp.arguments(IdempotencyHeaderSchema, location="headers", as_kwargs=True)
@bp.arguments(RecordCreateSchema)
@bp.response(201, RecordSchema)
@bp.alt_response(403, response=ERROR["403"])
@bp.alt_response(404, response=ERROR["404"])
def create_record(data, stream_id: int, idempotency_key: str | None = None):
    """Append a record to the stream's journal (scope registry:write)

    Refused with 422 when a rule of the journal says no (the balance would go negative,
    a hazardous stream has no passport, the R/D code does not fit the kind, a future date…).
    Send an `Idempotency-Key` header to make retries safe: the same key with the same body
    returns the first answer (same record, header `Idempotent-Replayed: true`); the same key
    with another body is refused with 422.
    """
    stream = _stream(stream_id)
    token = current_token()
    actor = acting_user()
    if not can_write_with(token, actor):
        raise PermissionDenied(_l("Создатель токена больше не может вносить записи в журнал этой "
                                  "организации; выпустите новый токен."))

    def perform():
        rec = journal.record(stream, actor=actor, source="api", idempotency_key=idempotency_key,
                             **data)
        return RecordSchema().dump(rec)

    return idempotency.idempotent_write(token.organization_id, idempotency_key, 201, perform)
