"""Idempotency-Key: a retry returns the first answer; another body with the same key → 422."""

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from market.api import idempotency
from market.api.models import IdempotencyRecord
from market.extensions import db
from market.registry.models import WasteRecord, WasteStream

BODY = {"kind": "generated", "quantity": "2.5", "event_date": "2026-01-10"}


def _url(stream) -> str:
    return f"/api/v1/streams/{stream.id}/records"


def _records(**where) -> list[WasteRecord]:
    q = select(WasteRecord)
    for k, v in where.items():
        q = q.where(getattr(WasteRecord, k) == v)
    return db.session.scalars(q).all()


def _balance(stream) -> Decimal:
    return db.session.scalar(select(WasteStream.balance).where(WasteStream.id == stream.id))


def test_retry_returns_the_same_record(api, token, stream, holder):
    key = {"Idempotency-Key": "order-2026-0001"}
    first = api.post(_url(stream), token, json=BODY, headers=key)
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    second = api.post(_url(stream), token, json=BODY, headers=key)
    assert second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.get_json() == first.get_json()
    assert second.get_data() == first.get_data()
    (rec,) = _records(idempotency_key="order-2026-0001")
    assert rec.id == first.get_json()["id"] and rec.organization_id == holder.id
    assert _balance(stream) == Decimal("12.500")  # moved once
    saved = db.session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.key == "order-2026-0001"))
    assert saved.status_code == 201 and saved.organization_id == holder.id
    assert len(saved.request_hash) == 64


def test_key_order_in_the_body_does_not_matter(api, token, stream):
    key = {"Idempotency-Key": "k-1"}
    first = api.post(_url(stream), token, json=BODY, headers=key)
    reordered = dict(reversed(list(BODY.items())))
    second = api.post(_url(stream), token, json=reordered, headers=key)
    assert second.status_code == 201 and second.get_json()["id"] == first.get_json()["id"]
    assert len(_records(idempotency_key="k-1")) == 1


def test_same_key_different_body_is_422(api, token, stream):
    key = {"Idempotency-Key": "k-2"}
    assert api.post(_url(stream), token, json=BODY, headers=key).status_code == 201
    r = api.post(_url(stream), token, json={**BODY, "quantity": "3"}, headers=key)
    assert r.status_code == 422
    assert "k-2" in r.get_json()["message"] and "другим телом" in r.get_json()["message"]
    assert len(_records(idempotency_key="k-2")) == 1
    assert _balance(stream) == Decimal("12.500")


def test_same_key_on_another_stream_is_422(api, token, stream, make_stream):
    other = make_stream(code="100202", name="Другой")
    key = {"Idempotency-Key": "k-3"}
    assert api.post(_url(stream), token, json=BODY, headers=key).status_code == 201
    r = api.post(_url(other), token, json=BODY, headers=key)
    assert r.status_code == 422
    assert _records(stream_id=other.id) == []


def test_keys_are_per_organisation(api, token, stream, other_org, make_token):
    org, _site, theirs = other_org
    their_token = make_token(org, actor=org.owners[0].user)
    key = {"Idempotency-Key": "shared-key"}
    a = api.post(_url(stream), token, json=BODY, headers=key)
    b = api.post(_url(theirs), their_token, json=BODY, headers=key)
    assert a.status_code == b.status_code == 201
    assert a.get_json()["id"] != b.get_json()["id"]


def test_refused_requests_are_not_remembered(api, token, stream):
    key = {"Idempotency-Key": "k-4"}
    take = {**BODY, "kind": "transferred_out", "quantity": "12"}
    assert api.post(_url(stream), token, json=take, headers=key).status_code == 422
    assert db.session.scalar(select(func.count(IdempotencyRecord.id))) == 0
    assert api.post(_url(stream), token, json=BODY).status_code == 201  # now 12.5 t in stock
    r = api.post(_url(stream), token, json=take, headers=key)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["balance_after"] == "0.500"


def test_a_key_used_by_a_record_without_a_stored_answer_is_refused(api, token, stream):
    key = {"Idempotency-Key": "k-5"}
    assert api.post(_url(stream), token, json=BODY, headers=key).status_code == 201
    db.session.execute(IdempotencyRecord.__table__.delete())  # e.g. answers purged after a while
    db.session.flush()
    r = api.post(_url(stream), token, json=BODY, headers=key)
    assert r.status_code == 422 and "уже использован" in r.get_json()["message"]
    assert len(_records(idempotency_key="k-5")) == 1


@pytest.mark.parametrize("value", ["x" * 101, "ключ", "has space"])
def test_bad_key_is_a_header_error(api, token, stream, value):
    r = api.post(_url(stream), token, json=BODY, headers={"Idempotency-Key": value})
    assert r.status_code == 422
    assert "Idempotency-Key" in r.get_json()["errors"]["headers"]
    assert len(_records(stream_id=stream.id)) == 1


def test_longest_key(api, token, stream):
    key = "k" * 100
    assert api.post(_url(stream), token, json=BODY, headers={"Idempotency-Key": key}).status_code == 201
    assert _records(idempotency_key=key)


def test_simultaneous_retry_answers_like_the_first(api, token, stream, monkeypatch):
    """The retry misses the lookup (the first had not committed yet) and loses on the unique key."""
    key = {"Idempotency-Key": "k-race"}
    first = api.post(_url(stream), token, json=BODY, headers=key)
    real = idempotency.replay
    calls = []

    def late_lookup(*args):
        calls.append(args)
        return None if len(calls) == 1 else real(*args)

    monkeypatch.setattr(idempotency, "replay", late_lookup)
    second = api.post(_url(stream), token, json=BODY, headers=key)
    assert len(calls) == 2  # missed, wrote, hit the unique constraint, looked again
    assert second.status_code == 201 and second.get_json()["id"] == first.get_json()["id"]
    assert len(_records(idempotency_key="k-race")) == 1
    assert _balance(stream) == Decimal("12.500")


def test_simultaneous_retry_with_another_body_is_422(api, token, stream, monkeypatch):
    key = {"Idempotency-Key": "k-race-2"}
    api.post(_url(stream), token, json=BODY, headers=key)
    real = idempotency.replay
    calls = []

    def late_lookup(*args):
        calls.append(args)
        return None if len(calls) == 1 else real(*args)

    monkeypatch.setattr(idempotency, "replay", late_lookup)
    r = api.post(_url(stream), token, json={**BODY, "quantity": "1"}, headers=key)
    assert r.status_code == 422
    assert len(_records(idempotency_key="k-race-2")) == 1
