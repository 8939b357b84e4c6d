"""Public ledger pages and JSON endpoints (no login): anyone can check the record.

HTML: /ledger/, /ledger/entries/<seq>, /ledger/key.
JSON (/ledger/api/): tree-head.json (latest), tree-heads/<size>.json,
entries/<seq>.json[?tree_size=N] (entry + inclusion proof), consistency.json?first=A&second=B,
public-key.json.
"""

from __future__ import annotations

import json

from flask import Blueprint, abort, current_app, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from market.core.web import db_int
from market.extensions import db
from market.ledger import operations as ops
from market.ledger import signing
from market.ledger.models import LedgerEntry
from market.ledger.store import entry_count
from market.refdata.views import ListPage

bp = Blueprint("ledger", __name__, url_prefix="/ledger")

KIND_LABELS = {
    "org.verified": _l("Организация подтверждена"),
    "org.suspended": _l("Организация приостановлена"),
    "org.reinstated": _l("Организация восстановлена"),
    "lot.awarded": _l("Лот присуждён покупателю"),
    "agreement.approved": _l("Договор одобрен"),
    "rights.registered": _l("Переход прав зарегистрирован"),
    "transfer.cancelled": _l("Регистрация перехода отменена"),
    "complaint.decided": _l("Решение по жалобе"),
}


def _json(data: dict, status: int = 200):
    response = jsonify(data)
    response.status_code = status
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "no-cache"
    return response


def _json_error(status: int, message: str):
    return _json({"error": message}, status)


def _entry(sequence: int) -> LedgerEntry:
    entry = db.session.get(LedgerEntry, sequence)
    if entry is None:
        abort(404)
    return entry


@bp.get("/")
def index():
    """The latest signed tree head, the entries newest first, how to verify."""
    # Sequences are gapless: page n is a range of sequences (no COUNT, no OFFSET).
    per_page = current_app.config["PAGE_SIZE"]
    total = entry_count()
    pages = max(1, -(-total // per_page))
    number = min(max(request.args.get("page", 1, type=db_int), 1), pages)
    top = total - (number - 1) * per_page
    items = db.session.scalars(select(LedgerEntry).where(
        LedgerEntry.sequence < top, LedgerEntry.sequence >= top - per_page)
        .order_by(LedgerEntry.sequence.desc())).all()
    page = ListPage(items, number, per_page, total)
    return render_template("ledger/index.html", head=ops.latest_head(), page=page,
                           kinds=KIND_LABELS)


@bp.get("/entries/<int:sequence>")
def show_entry(sequence: int):
    """One entry: payload, leaf, leaf hash and its inclusion proof in the latest tree head."""
    entry = _entry(sequence)
    head = ops.latest_head()
    proof = ops.inclusion_json(entry, head) if head is not None else None
    return render_template("ledger/entry.html", entry=entry, head=head, proof=proof,
                           data=ops.entry_json(entry), kinds=KIND_LABELS,
                           pretty=json.dumps(json.loads(entry.payload), ensure_ascii=False,
                                             indent=2, sort_keys=True))


@bp.get("/key")
def public_key():
    """The public key that signs tree heads, and what exactly it signs."""
    return render_template("ledger/key.html", key=signing.public_key_info(),
                           log_id=signing.LOG_ID)


# JSON -----------------------------------------------------------------------------------------
@bp.get("/api/tree-head.json")
def api_latest_head():
    head = ops.latest_head()
    if head is None:
        return _json_error(404, "no tree head has been published yet")
    return _json(ops.head_json(head))


@bp.get("/api/tree-heads/<int:size>.json")
def api_head(size: int):
    head = ops.head_by_size(size)
    if head is None:
        return _json_error(404, f"no tree head of size {size}")
    return _json(ops.head_json(head))


@bp.get("/api/entries/<int:sequence>.json")
def api_entry(sequence: int):
    """The entry, and its inclusion proof in the tree head of ?tree_size= (default: latest)."""
    entry = db.session.get(LedgerEntry, sequence)
    if entry is None:
        return _json_error(404, f"no entry {sequence}")
    size = request.args.get("tree_size", type=db_int)
    if "tree_size" in request.args and size is None:
        return _json_error(400, "tree_size must be an integer")
    head = ops.latest_head() if size is None else ops.head_by_size(size)
    if size is not None and head is None:
        return _json_error(404, f"no tree head of size {size}")
    data = ops.entry_json(entry)
    data["tree_head"] = ops.head_json(head) if head is not None else None
    data["inclusion"] = ops.inclusion_json(entry, head) if head is not None else None
    return _json(data)


@bp.get("/api/consistency.json")
def api_consistency():
    """The consistency proof between the published tree heads ?first=A and ?second=B."""
    first = request.args.get("first", type=db_int)
    second = request.args.get("second", type=db_int)
    if first is None or second is None:
        return _json_error(400, "first and second must be integers (tree head sizes)")
    if first > second:
        return _json_error(400, "first must not exceed second")
    heads = ops.head_by_size(first), ops.head_by_size(second)
    if None in heads:
        return _json_error(404, "both sizes must be published tree heads")
    return _json(ops.consistency_json(*heads))


@bp.get("/api/public-key.json")
def api_public_key():
    info = signing.public_key_info()
    if info is None:
        return _json_error(503, "the ledger's signing key is not configured")
    return _json(info)
