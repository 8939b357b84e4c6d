"""API v1 public ledger: an entry with its inclusion proof, the latest signed tree head, and the
consistency proof between two published heads. No token needed (a bad one still answers 401);
the same JSON as the ledger's own pages (market.ledger.operations), with API errors.
"""

from __future__ import annotations

from http import HTTPStatus

from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint, abort

from market.api.auth import rate_limit, rate_limit_key
from market.api.errors import MESSAGES, register_error_handlers
from market.api.lots import optional_token
from market.api.schemas_deals import (
    BIGINT,
    ConsistencyQuerySchema,
    ConsistencySchema,
    LedgerEntryQuerySchema,
    LedgerEntrySchema,
    TreeHeadSchema,
)
from market.extensions import csrf, db, limiter
from market.ledger import operations as ops
from market.ledger.models import LedgerEntry

TAG = "Ledger"
OPTIONAL_TOKEN = [{}, {"bearerAuth": []}]
ERROR = {code: HTTPStatus(code).name for code in (401, 404, 422)}

bp = Blueprint("api_ledger", __name__, url_prefix="/api/v1",
               description="The public ledger: entries with inclusion proofs, signed tree heads, "
                           "consistency proofs.")
bp.before_request(optional_token)
register_error_handlers(bp)
csrf.exempt(bp)
limiter.shared_limit(rate_limit, scope="api-v1", key_func=rate_limit_key)(bp)

NO_HEAD = _l("Подписанная вершина дерева ещё не опубликована.")
NO_HEAD_OF_SIZE = _l("Нет опубликованной вершины дерева размера %(size)s.")


@bp.route("/ledger/entries/<int:sequence>", tags=[TAG])
@bp.arguments(LedgerEntryQuerySchema, location="query")
@bp.response(200, LedgerEntrySchema)
@bp.alt_response(401, response=ERROR[401])
@bp.alt_response(404, response=ERROR[404])
@bp.alt_response(422, response=ERROR[422])
@bp.doc(security=OPTIONAL_TOKEN)
def entry(args, sequence: int):
    """One ledger entry and its inclusion proof

    The proof is in the tree head of `tree_size` (default: the latest published one);
    `tree_head` and `inclusion` are null before the first head is published.
    """
    found = db.session.get(LedgerEntry, sequence) if sequence <= BIGINT else None
    if found is None:
        abort(404, message=_l("Записи №%(n)s в реестре нет.", n=sequence))
    size = args["tree_size"]
    head = ops.latest_head() if size is None else ops.head_by_size(size)
    if size is not None and head is None:
        abort(404, message=NO_HEAD_OF_SIZE % {"size": size})
    data = ops.entry_json(found)
    data["tree_head"] = ops.head_json(head) if head is not None else None
    data["inclusion"] = ops.inclusion_json(found, head) if head is not None else None
    return data


@bp.route("/ledger/tree-head", tags=[TAG])
@bp.response(200, TreeHeadSchema)
@bp.alt_response(401, response=ERROR[401])
@bp.alt_response(404, response=ERROR[404])
@bp.doc(security=OPTIONAL_TOKEN)
def tree_head():
    """The latest signed tree head"""
    head = ops.latest_head()
    if head is None:
        abort(404, message=NO_HEAD)
    return ops.head_json(head)


@bp.route("/ledger/consistency", tags=[TAG])
@bp.arguments(ConsistencyQuerySchema, location="query")
@bp.response(200, ConsistencySchema)
@bp.alt_response(401, response=ERROR[401])
@bp.alt_response(404, response=ERROR[404])
@bp.alt_response(422, response=ERROR[422])
@bp.doc(security=OPTIONAL_TOKEN)
def consistency(args):
    """The consistency proof between two published tree heads

    `first` must not exceed `second`; both must be sizes of published heads.
    """
    first, second = args["first"], args["second"]
    if first > second:
        abort(422, message=MESSAGES[422],
              errors={"query": {"first": [str(_l("Не больше, чем second."))]}})
    heads = ops.head_by_size(first), ops.head_by_size(second)
    for size, head in zip((first, second), heads, strict=True):
        if head is None:
            abort(404, message=NO_HEAD_OF_SIZE % {"size": size})
    return ops.consistency_json(*heads)
