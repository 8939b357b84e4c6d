"""API v1 bids: reading a lot's bids as its page shows them, placing, buying, withdrawing, my bids."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from market.api import tokens
from market.auctions.models import Bid, BidEvent
from market.core.models import AuditEvent
from market.core.timeutil import utcnow
from market.extensions import db
from market.lots.operations import create_lot, publish_lot
from market.registry.journal import record
from tests.auctions.helpers import plain
from tests.conftest import is_postgres

MLN = 100_000_000  # 1 000 000 ₸
STEP = 25_000_000
TERMS = {
    "fixed": {"price": 500_000},
    "english": {"price": MLN, "increment": STEP},
    "reverse": {"price": 800_000, "increment": 50_000},
    "sealed": {"price": 300_000},
}


@pytest.fixture
def make_lot(holder, owner, make_stream):
    stream = make_stream()
    record(stream, actor=owner, kind="generated", quantity="1000", event_date=date(2026, 1, 1))

    def make(mode="english", *, publish=True, qty="10", **kw):
        terms = {**TERMS[mode], **kw}
        if mode != "fixed":
            terms.setdefault("ends_at", utcnow() + timedelta(days=2))
        lot = create_lot(holder, actor=owner, stream=stream, title=f"Лот ({mode})", quantity=qty,
                         pricing_mode=mode, **terms)
        if publish:
            publish_lot(lot, actor=owner)
        return lot

    return make


@pytest.fixture
def bidder(create_org):
    """A verified processor with a bids:write token: (organisation, owner, secret)."""
    def make(state="verified", scopes=("bids:write",)):
        org = create_org(kinds=("processor",), state=state)
        user = org.owners[0].user
        _token, secret = tokens.create_token(org, actor=user, name="Биржа", scopes=list(scopes))
        db.session.flush()
        return org, user, secret
    return make


def url(lot) -> str:
    return f"/api/v1/lots/{lot.id}/bids"


def bid(api, lot, who, headers=None, **body):
    return api.post(url(lot), who[2], json=body, headers=headers)


def message(r) -> str:
    return plain(r.get_json()["message"])


# Reading ------------------------------------------------------------------------------------


def test_lot_bids_with_labels_and_own_limits(api, make_lot, bidder):
    lot = make_lot("english")
    a, b = bidder(), bidder()
    assert bid(api, lot, a, amount=MLN, max_amount=MLN + 4 * STEP).status_code == 201
    assert bid(api, lot, b, amount=MLN + STEP).status_code == 201
    anonymous = api.get(url(lot)).get_json()
    assert [(i["label"], i["own"], i["max_amount"], i["leading"]) for i in anonymous["items"]] == [
        ("Участник 1", False, None, True), ("Участник 2", False, None, False)]
    assert anonymous["auction"]["price"] == MLN + 2 * STEP  # the proxy answered b
    assert anonymous["auction"]["minimum"] == MLN + 3 * STEP
    assert anonymous["auction"]["bid_count"] == 2
    mine = api.get(url(lot), a[2]).get_json()["items"]
    own = [i for i in mine if i["own"]]
    assert len(own) == 1 and own[0]["max_amount"] == MLN + 4 * STEP and own[0]["leading"]


def test_sealed_bids_hidden_until_the_close(api, make_lot, bidder, holder, owner):
    lot = make_lot("sealed")
    a = bidder()
    assert bid(api, lot, a, amount=400_000).status_code == 201
    _t, holder_secret = tokens.create_token(holder, actor=owner, name="H", scopes=["lots:write"])
    for token in (None, holder_secret, bidder()[2]):
        body = api.get(url(lot), token).get_json()
        assert body["items"] == [] and body["auction"]["bid_count"] is None
    (own,) = api.get(url(lot), a[2]).get_json()["items"]
    assert own["own"] and own["amount"] == 400_000


def test_draft_lot_and_unknown_lot_are_404(api, make_lot, bidder):
    draft = make_lot("english", publish=False)
    assert api.get(url(draft)).status_code == 404
    assert bid(api, draft, bidder(), amount=MLN).status_code == 404
    assert api.get("/api/v1/lots/999999/bids").status_code == 404


# Placing ------------------------------------------------------------------------------------


def test_place_english_bids_and_a_late_one_is_409_with_the_state(api, make_lot, bidder):
    lot = make_lot("english")
    a, b = bidder(), bidder()
    r = bid(api, lot, a, amount=MLN)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["bid"]["state"] == "active" and body["bid"]["leading"] is True
    assert body["auction"]["price"] == MLN and body["auction"]["minimum"] == MLN + STEP
    r = bid(api, lot, b, amount=MLN)  # the price moved on meanwhile
    assert r.status_code == 409
    assert "не меньше 1 250 000 ₸ (текущая цена + шаг)" in message(r)
    assert r.get_json()["auction"]["minimum"] == MLN + STEP
    assert bid(api, lot, b, amount=MLN + STEP).status_code == 201
    assert db.session.scalar(select(func.count(Bid.id)).where(Bid.lot_id == lot.id)) == 2


@pytest.mark.parametrize(("mode", "body", "field", "text"), [
    ("english", {}, "amount", "Укажите сумму ставки."),
    ("english", {"amount": MLN, "quantity": "1"}, "quantity", "Торги идут за весь лот"),
    ("english", {"amount": MLN, "max_amount": MLN - 1}, "max_amount", "Максимальная ставка не может"),
    ("reverse", {"amount": 800_000, "max_amount": 900_000}, "max_amount", "Предел снижения"),
    ("sealed", {"amount": 300_000, "max_amount": 400_000}, "max_amount", "автоставки нет"),
    ("sealed", {"amount": 299_999}, "amount", "не меньше 3 000 ₸ (начальная цена)"),
    ("fixed", {"max_amount": 1}, "max_amount", "автоставки нет"),
    ("english", {"amount": "100"}, "amount", "целое число тиынов"),
    ("english", {"amount": -1}, "amount", "целое число тиынов"),
    ("fixed", {"quantity": "0"}, "quantity", "больше нуля"),
])
def test_bodies_that_do_not_fit_the_mode_are_422(api, make_lot, bidder, mode, body, field, text):
    lot = make_lot(mode)
    r = bid(api, lot, bidder(), **body)
    assert r.status_code == 422, r.get_json()
    assert text in plain(r.get_json()["errors"]["json"][field][0])
    assert db.session.scalar(select(func.count(Bid.id)).where(Bid.lot_id == lot.id)) == 0


@pytest.mark.parametrize("body", [
    {"amount": 10**20}, {"amount": True}, {"amount": 1.5}, {"amount": None, "max_amount": "x"},
    {"amount": MLN, "quantity": "abc"}, {"amount": MLN, "extra": 1}, [MLN], "amount",
    {"amount": {"$gt": 0}},
])
def test_hostile_bodies_are_422(api, make_lot, bidder, body):
    lot = make_lot("english")
    r = api.post(url(lot), bidder()[2], json=body)
    assert r.status_code == 422 and r.is_json, (body, r.status_code)


def test_a_typo_amount_is_422(api, make_lot, bidder):
    lot = make_lot("english")
    r = bid(api, lot, bidder(), amount=1000 * MLN)
    assert r.status_code == 422 and "похоже на опечатку" in message(r)


def test_eligibility_is_403(api, make_lot, bidder, holder, owner):
    lot = make_lot("english")
    r = bid(api, lot, bidder(state="pending"), amount=MLN)
    assert r.status_code == 403 and "только подтверждённые организации" in message(r)
    _t, own = tokens.create_token(holder, actor=owner, name="H", scopes=["bids:write"])
    r = api.post(url(lot), own, json={"amount": MLN})
    assert r.status_code == 403 and "своей организации" in message(r)


def test_tokens_and_scopes(api, make_lot, bidder):
    lot = make_lot("english")
    assert api.post(url(lot), json={"amount": MLN}).status_code == 401
    r = bid(api, lot, bidder(scopes=("lots:write",)), amount=MLN)
    assert r.status_code == 403 and "bids:write" in message(r)
    assert api.get("/api/v1/bids").status_code == 401


def test_closed_lot_is_409(api, make_lot, bidder):
    lot = make_lot("english")
    lot.ends_at = utcnow() - timedelta(minutes=1)
    r = bid(api, lot, bidder(), amount=MLN)
    assert r.status_code == 409 and "завершились" in message(r)
    assert r.get_json()["auction"]["open"] is False


def test_fixed_price_purchase_makes_a_deal_and_sells_out(api, make_lot, bidder):
    lot = make_lot("fixed", qty="3")
    r = bid(api, lot, bidder(), quantity="2")
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["bid"]["quantity"] == "2.000" and body["bid"]["deal_id"] is not None
    assert body["auction"]["remaining"] == "1.000"
    assert bid(api, lot, bidder(), quantity="2").status_code == 409
    assert bid(api, lot, bidder()).status_code == 201  # the rest
    r = bid(api, lot, bidder())
    assert r.status_code == 409 and "Лот" in message(r)


def test_idempotent_retry_returns_the_first_answer(api, make_lot, bidder):
    lot = make_lot("english")
    a = bidder()
    key = {"Idempotency-Key": "bid-0001"}
    first = bid(api, lot, a, headers=key, amount=MLN)
    second = bid(api, lot, a, headers=key, amount=MLN)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.headers["Idempotent-Replayed"] == "true" and second.get_data() == first.get_data()
    assert db.session.scalar(select(func.count(Bid.id)).where(Bid.lot_id == lot.id)) == 1
    other = bid(api, lot, a, headers=key, amount=MLN + STEP)
    assert other.status_code == 422 and "bid-0001" in message(other)
    long_key = bid(api, lot, a, headers={"Idempotency-Key": "k" * 65}, amount=MLN + STEP)
    assert long_key.status_code == 422


def test_api_bids_are_audited_as_api(api, make_lot, bidder):
    lot = make_lot("english")
    a = bidder()
    bid_id = bid(api, lot, a, amount=MLN).get_json()["bid"]["id"]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "bid.placed",
                                                       AuditEvent.object_id == str(bid_id)))
    assert event is not None and event.data["source"] == "api"


# Withdrawing and my bids --------------------------------------------------------------------


def test_withdraw(api, make_lot, bidder):
    lot = make_lot("english")
    a, b = bidder(), bidder()
    first = bid(api, lot, a, amount=MLN).get_json()["bid"]["id"]
    second = bid(api, lot, b, amount=MLN + STEP).get_json()["bid"]["id"]
    r = api.post(f"/api/v1/bids/{second}/withdraw", b[2], json={"reason": "Передумали"})
    assert r.status_code == 409 and "Лидирующую ставку" in message(r)
    assert api.post(f"/api/v1/bids/{first}/withdraw", b[2], json={"reason": "x"}).status_code == 404
    blank = api.post(f"/api/v1/bids/{first}/withdraw", a[2], json={"reason": " "})
    assert blank.status_code == 422
    assert blank.get_json()["errors"]["json"]["reason"] == ["Обязательное поле."]
    r = api.post(f"/api/v1/bids/{first}/withdraw", a[2], json={"reason": "Передумали"})
    assert r.status_code == 200 and r.get_json()["bid"]["state"] == "withdrawn"
    assert r.get_json()["bid"]["withdraw_reason"] == "Передумали"
    again = api.post(f"/api/v1/bids/{first}/withdraw", a[2], json={"reason": "Передумали"})
    assert again.status_code == 409
    assert db.session.scalar(select(func.count(BidEvent.id)).where(
        BidEvent.bid_id == first, BidEvent.kind == "withdrawn")) == 1


def test_my_bids_paginated(api, make_lot, bidder):
    a, b = bidder(), bidder()
    lots = [make_lot("sealed") for _ in range(3)]
    for lot in lots:
        assert bid(api, lot, a, amount=300_000).status_code == 201
    assert bid(api, lots[0], b, amount=350_000).status_code == 201
    r = api.get("/api/v1/bids?limit=2", a[2])
    page = r.get_json()
    assert r.status_code == 200 and len(page["items"]) == 2 and page["next"]
    assert r.headers["Link"].endswith('rel="next"')
    rest = api.get(page["next"], a[2]).get_json()
    ids = [i["id"] for i in page["items"] + rest["items"]]
    assert len(ids) == 3 and ids == sorted(ids, reverse=True) and rest["next"] is None
    only = api.get(f"/api/v1/bids?lot_id={lots[0].id}", b[2]).get_json()["items"]
    assert [i["amount"] for i in only] == [350_000]
    assert api.get("/api/v1/bids?state=nonsense", a[2]).status_code == 422


def test_openapi_documents_the_bids(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert {"get", "post"} <= set(doc["paths"]["/api/v1/lots/{lot_id}/bids"])
    assert "post" in doc["paths"]["/api/v1/bids/{bid_id}/withdraw"]
    assert "get" in doc["paths"]["/api/v1/bids"]
    assert "Bids" in {t["name"] for t in doc["tags"]}
    post = doc["paths"]["/api/v1/lots/{lot_id}/bids"]["post"]
    assert {"201", "403", "404", "409", "422"} <= set(post["responses"])


def test_the_token_form_offers_the_scope(auth, client, holder, owner):
    auth.login(owner.email)
    page = client.get(f"/orgs/{holder.id}/api-tokens").get_data(as_text=True)
    assert 'value="bids:write"' in page and "Ставки и покупки на бирже" in page


# Two retries at the same moment (PostgreSQL) ------------------------------------------------


@pytest.mark.skipif(not is_postgres(), reason="parallel writers need PostgreSQL")
@pytest.mark.parametrize("key", ["same-bid", None])
def test_parallel_retries_with_one_key_make_one_bid(committed_app, monkeypatch, key):
    from market.accounts.models import Membership, Organization, OrgRole, User
    from market.auctions import bidding
    from market.core.txn import commit
    from market.registry.models import WasteStream
    from tests.factories import seed_holder, valid_bin

    app = committed_app
    uid, org_id, sid = seed_holder(app, 881)
    with app.app_context():
        user, org = db.session.get(User, uid), db.session.get(Organization, org_id)
        stream = db.session.get(WasteStream, sid)
        record(stream, actor=user, kind="generated", quantity="10", event_date=date(2026, 1, 1))
        lot = create_lot(org, actor=user, stream=stream, title="Шлак", quantity="4", pricing_mode="english",
                         price=MLN, increment=STEP, ends_at=utcnow() + timedelta(days=1))
        publish_lot(lot, actor=user)
        person = User(email="racer@example.kz", full_name="Racer", password_hash="x")
        firm = Organization(bin=valid_bin(8810), name="ТОО Гонщик", region_kato="350000000",
                            address="x", state="verified")
        firm.kinds = ["processor"]
        db.session.add_all([person, firm])
        db.session.flush()
        db.session.add(Membership(user=person, organization=firm, role=OrgRole.owner.value))
        db.session.flush()
        _t, secret = tokens.create_token(firm, actor=person, name="T", scopes=["bids:write"])
        lot_id = lot.id
        commit()

    barrier = threading.Barrier(2)
    real = bidding.lock_auction

    def racing_lock(lot, **kw):
        barrier.wait(30)  # both passed every lookup before either takes the lock
        return real(lot, **kw)

    monkeypatch.setattr(bidding, "lock_auction", racing_lock)
    results = []

    def post():
        headers = {"Authorization": f"Bearer {secret}"}
        if key:
            headers["Idempotency-Key"] = key
        r = app.test_client().post(f"/api/v1/lots/{lot_id}/bids", json={"amount": MLN}, headers=headers)
        results.append((r.status_code, r.get_json()))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 2
    with app.app_context():
        assert db.session.scalar(select(func.count(Bid.id)).where(Bid.lot_id == lot_id)) == 1
    statuses = sorted(status for status, _ in results)
    if key:
        assert statuses == [201, 201], results
        assert results[0][1] == results[1][1]
    else:  # without a key the second is a new bid: under the step now (the leader's own limit)
        assert statuses == [201, 409], results
