"""Idempotency-Key for API writes: a retry returns the first answer instead of writing twice.

The first successful answer (status and JSON body) is stored in IdempotencyRecord, in the
same transaction as the record it describes, with the SHA-256 of the request (method, path
and canonical JSON body). A retry with the same key and request gets the stored answer; the
same key with another request is refused (422). Refused requests (4xx) wrote nothing, so
they are not stored: retrying them simply runs them again.

Two retries at the same moment both miss the lookup and both try to write; the unique
constraints (organisation, key) on IdempotencyRecord and WasteRecord let only one commit.
The loser gets an IntegrityError (on PostgreSQL only after the winner committed, because
it waits for the winner's uncommitted index entry), rolls back and returns the stored answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from flask import Response, current_app, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from market.api.models import IdempotencyRecord
from market.core.errors import DomainError
from market.core.txn import commit, rollback
from market.extensions import db
from market.registry.models import WasteRecord

REPLAY_HEADER = "Idempotent-Replayed"


class IdempotencyMismatch(DomainError):
    """The key was already used for a different request."""


def request_fingerprint() -> str:
    """SHA-256 of the method, path and body (JSON canonicalised: key order does not matter)."""
    body = request.get_json(silent=True)
    if body is None:
        canonical = request.get_data(as_text=True)
    else:
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    raw = f"{request.method}\n{request.path}\n{canonical}"
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def stored(org_id: int, key: str) -> IdempotencyRecord | None:
    return db.session.scalar(select(IdempotencyRecord).where(
        IdempotencyRecord.organization_id == org_id, IdempotencyRecord.key == key))


def replay(org_id: int, key: str, fingerprint: str, journal: bool = True) -> Response | None:
    """The stored answer for this key, None if the key is new; refuses a reused key (also one
    that a journal record of the organisation carries, unless ``journal`` is False)."""
    saved = stored(org_id, key)
    if saved is None and not journal:
        return None
    if saved is None:
        used = db.session.scalar(select(WasteRecord.id).where(
            WasteRecord.organization_id == org_id, WasteRecord.idempotency_key == key))
        if used is not None:
            raise IdempotencyMismatch(_l("Ключ Idempotency-Key «%(key)s» уже использован другой "
                                         "записью; для новой записи нужен новый ключ."), key=key)
        return None
    if saved.request_hash != fingerprint:
        raise IdempotencyMismatch(_l("Ключ Idempotency-Key «%(key)s» уже использован с другим телом "
                                     "запроса; для новой записи нужен новый ключ."), key=key)
    response = Response(saved.response, status=saved.status_code, mimetype="application/json")
    response.headers[REPLAY_HEADER] = "true"
    return response


def json_response(payload, status: int) -> tuple[Response, str]:
    """The response and its exact body text (the text is what a replay returns)."""
    response = current_app.json.response(payload)
    response.status_code = status
    return response, response.get_data(as_text=True)


def remember(org_id: int, key: str, fingerprint: str, status: int, body: str) -> None:
    """Store the answer in the current transaction (flushed: a duplicate fails here)."""
    db.session.add(IdempotencyRecord(organization_id=org_id, key=key, request_hash=fingerprint,
                                     status_code=status, response=body))
    db.session.flush()


def idempotent_write(org_id: int, key: str | None, status: int, perform: Callable[[], object], *,
                     journal: bool = True) -> Response:
    """Run ``perform()`` (→ a JSON-able payload), answer ``status`` with it and commit.

    With an Idempotency-Key: a stored answer for the key is returned without running perform
    (a reused key with another request → IdempotencyMismatch, 422); a new answer is stored in
    the same transaction. A simultaneous retry with the same key that committed first makes
    this one's commit fail on the unique key: this one rolls back and answers as that one did.
    """
    fingerprint = request_fingerprint() if key else None
    if key:
        saved = replay(org_id, key, fingerprint, journal)
        if saved is not None:
            return saved
    try:
        response, body = json_response(perform(), status)
        if key:
            remember(org_id, key, fingerprint, status, body)
        commit()
    except IntegrityError:
        rollback()
        saved = replay(org_id, key, fingerprint, journal) if key else None
        if saved is None:
            raise
        return saved
    return response
