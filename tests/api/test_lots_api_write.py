"""POST /api/v1/lots, /publish, /withdraw: the exchange's rules, scopes, idempotency, audit."""

from datetime import timedelta
from decimal import Decimal

import pytest
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from market.api.models import SCOPES
from market.cadastre.operations import create_formation
from market.core.models import AuditEvent
from market.core.timeutil import utcnow
from market.extensions import db
from market.lots.models import Lot, LotEvent
from market.registry.models import WasteStream

BODY = {"title": "Шлак гранулированный", "quantity": "4.5", "pricing_mode": "fixed", "price": 1_250_000,
        "description": "Фракция 0–5 мм", "delivery": "pickup"}


@pytest.fixture
def lots_token(make_token):
    return make_token(scopes=["lots:write"])


def _create(api, token, stream, **changes):
    return api.post("/api/v1/lots", token, json={**BODY, "stream_id": stream.id, **changes})


def _lot_count(org) -> int:
    return db.session.scalar(select(func.count(Lot.id)).where(Lot.organization_id == org.id))


def _reserved(stream) -> Decimal:
    return db.session.scalar(select(WasteStream.reserved).where(WasteStream.id == stream.id))


def test_create_draft_from_stream(api, lots_token, stream, owner, holder):
    r = _create(api, lots_token, stream, min_take="1,5")
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["state"] == "draft" and body["source"] == "stream" and body["stream_id"] == stream.id
    assert body["quantity"] == "4.500" and body["min_take"] == "1.500"
    assert body["price"] == 1_250_000 and body["price_display"] == "12\u00a0500\u00a0₸"
    assert body["holder"]["id"] == holder.id and body["published_at"] is None
    lot = db.session.get(Lot, body["id"])
    assert lot.created_by_id == owner.id and lot.waste_code == stream.waste_code
    assert _reserved(stream) == 0  # reserved on publication only
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "lot.created",
                                                       AuditEvent.object_id == str(lot.id)))
    assert event.actor_id == owner.id
    assert event.data["source"] == "api" and event.data["token"] == lots_token[:12]


def test_create_from_formation(api, lots_token, holder, owner):
    formation = create_formation(holder, actor=owner, name="Шлакоотвал", kind="slag_heap",
                                 region_kato="350000000", lat=49.8, lon=73.1, tonnage="1000")
    r = api.post("/api/v1/lots", lots_token, json={
        "formation_id": formation.id, "title": "Отвальный шлак", "quantity": 300,
        "pricing_mode": "english", "price": 50_000, "increment": 5_000, "reserve_price": 60_000,
        "ends_at": (utcnow() + timedelta(days=5)).isoformat(), "anti_snipe_minutes": 10})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["source"] == "formation" and body["formation_id"] == formation.id
    assert body["pricing_mode"] == "english" and body["reserve_price"] == 60_000
    assert body["ends_at"].endswith("+00:00") and body["anti_snipe_minutes"] == 10


def test_create_a_recurring_supply(api, lots_token, stream):
    r = api.post("/api/v1/lots", lots_token, json={
        "stream_id": stream.id, "title": "Зола ежемесячно", "pricing_mode": "free",
        "monthly_quantity": "2", "supply_from": "2026-03-01", "supply_to": "2026-05-31"})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["monthly_quantity"] == "2.000" and body["quantity"] == "6.000"  # three months
    assert body["supply_from"] == "2026-03-01" and body["supply_to"] == "2026-05-31"
    assert api.post(f"/api/v1/lots/{body['id']}/publish", lots_token).status_code == 200
    assert _reserved(stream) == Decimal("2.000")  # the first month only


@pytest.mark.parametrize(("changes", "fields"), [
    ({"title": None, "quantity": None}, {"title", "quantity"}),
    ({"title": None, "stream_id": "abc", "pricing_mode": "barter", "increment": 5},
     {"title", "stream_id", "pricing_mode"}),
    ({"title": "   "}, {"title"}),
    ({"quantity": "0"}, {"quantity"}),
    ({"quantity": "1.2345"}, {"quantity"}),
    ({"pricing_mode": "barter"}, {"pricing_mode"}),
    ({"price": "12500"}, {"price"}),
    ({"price": 12.5}, {"price"}),
    ({"price": -1}, {"price"}),
    ({"price": True}, {"price"}),
    ({"increment": 100}, {"increment"}),
    ({"pricing_mode": "free"}, {"price"}),
    ({"pricing_mode": "english", "ends_at": "2030-01-01T12:00:00", "increment": 1}, {"ends_at"}),
    ({"formation_id": 1}, {"stream_id"}),
    ({"stream_id": 999999}, {"stream_id"}),
    ({"colour": "red"}, {"colour"}),
])
def test_invalid_fields_are_422_per_field(api, lots_token, stream, holder, changes, fields):
    body = {**BODY, "stream_id": stream.id, **changes}
    body = {k: v for k, v in body.items() if v is not None}
    r = api.post("/api/v1/lots", lots_token, json=body)
    assert r.status_code == 422, r.get_json()
    assert set(r.get_json()["errors"]["json"]) == fields
    assert _lot_count(holder) == 0


def test_foreign_stream_is_refused_like_a_missing_one(api, lots_token, other_org, holder):
    _org, _site, theirs = other_org
    r = api.post("/api/v1/lots", lots_token, json={**BODY, "stream_id": theirs.id})
    assert r.status_code == 422
    assert r.get_json()["errors"]["json"]["stream_id"] == [
        "В организации токена нет потока отходов с таким id."]


@pytest.mark.parametrize(("changes", "message"), [
    ({"price": None}, "Укажите цену (для аукциона — начальную)."),
    ({"pricing_mode": "english", "increment": 100, "ends_at": "2020-01-01T00:00:00Z"},
     "Укажите время окончания торгов в будущем."),
    ({"available_from": "2026-05-01", "available_to": "2026-04-01"},
     "Дата начала доступности позже даты окончания."),
    ({"min_take": "9"}, "Минимальная партия должна быть больше нуля и не больше лота."),
])
def test_rules_of_the_operation_are_422_with_its_message(api, lots_token, stream, changes, message):
    body = {k: v for k, v in {**BODY, "stream_id": stream.id, **changes}.items() if v is not None}
    r = api.post("/api/v1/lots", lots_token, json=body)
    assert r.status_code == 422
    assert r.get_json()["message"] == message and "errors" not in r.get_json()


def test_messages_follow_accept_language(api, lots_token, stream):
    r = api.post("/api/v1/lots", lots_token, lang="en",
                 json={k: v for k, v in {**BODY, "stream_id": stream.id}.items() if k != "price"})
    with force_locale("en"):
        expected = str(_l("Укажите цену (для аукциона — начальную)."))
    assert expected.startswith("Give the price")
    assert r.status_code == 422 and r.get_json()["message"] == expected


# Scopes -------------------------------------------------------------------------------------


def test_writes_need_lots_write(api, make_token, stream):
    registry = make_token(scopes=["registry:read", "registry:write"])
    for url in ("/api/v1/lots", "/api/v1/lots/1/publish", "/api/v1/lots/1/withdraw"):
        r = api.post(url, registry, json={"not": "even valid"})
        assert r.status_code == 403, url  # before the body is read
        assert 'scope="lots:write"' in r.headers["WWW-Authenticate"]
        assert "lots:write" in r.get_json()["message"]
        r = api.post(url, json=BODY)
        assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")


def test_lots_scope_does_not_open_the_registry(api, lots_token, stream):
    assert api.get("/api/v1/balances", lots_token).status_code == 403
    assert "lots:write" in SCOPES


def test_creator_no_longer_manager_is_refused(api, lots_token, stream, holder, owner, create_user,
                                              add_member):
    successor = create_user()
    add_member(holder, successor, "owner")
    next(m for m in holder.memberships if m.user_id == owner.id).role = "member"
    db.session.flush()
    r = _create(api, lots_token, stream)
    assert r.status_code == 403
    assert r.get_json()["message"] == "Лотами организации управляют владелец и менеджеры."
    assert _lot_count(holder) == 0


# Publish and withdraw -----------------------------------------------------------------------


def test_publish_reserves_and_is_not_repeated(api, lots_token, stream, holder):
    lot_id = _create(api, lots_token, stream).get_json()["id"]
    r = api.post(f"/api/v1/lots/{lot_id}/publish", lots_token)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["state"] == "published" and r.get_json()["published_at"]
    assert _reserved(stream) == Decimal("4.500")
    again = api.post(f"/api/v1/lots/{lot_id}/publish", lots_token)
    assert again.status_code == 409
    assert again.get_json()["message"].startswith(f"Лот №{lot_id} уже опубликован.")
    assert _reserved(stream) == Decimal("4.500")
    assert api.get(f"/api/v1/lots/{lot_id}").status_code == 200  # now public
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "lot.published",
                                                       AuditEvent.object_id == str(lot_id)))
    assert event.data["source"] == "api"


def test_publish_more_than_the_registry_holds_is_409(api, lots_token, stream):
    first = _create(api, lots_token, stream, quantity="8").get_json()["id"]
    assert api.post(f"/api/v1/lots/{first}/publish", lots_token).status_code == 200
    second = _create(api, lots_token, stream, quantity="3").get_json()["id"]
    r = api.post(f"/api/v1/lots/{second}/publish", lots_token)
    assert r.status_code == 409
    assert r.get_json()["message"] == ("Можно предложить не больше 2,000 т: в реестре 10,000 т, "
                                       "из них 8,000 т уже в открытых лотах.")
    assert api.get(f"/api/v1/lots/{second}", lots_token).get_json()["state"] == "draft"
    assert _reserved(stream) == Decimal("8.000")


def test_pending_organisation_may_not_publish(api, lots_token, stream, holder):
    lot_id = _create(api, lots_token, stream).get_json()["id"]  # drafts are allowed
    holder.state = "pending"
    db.session.flush()
    r = api.post(f"/api/v1/lots/{lot_id}/publish", lots_token)
    assert r.status_code == 422
    assert r.get_json()["message"] == "Публиковать лоты могут только подтверждённые организации."
    assert _reserved(stream) == 0


def test_foreign_or_missing_lot_is_404(api, lots_token, other_org, make_token):
    org, _site, theirs = other_org
    their_token = make_token(org, actor=org.owners[0].user, scopes=["lots:write"])
    theirs_id = api.post("/api/v1/lots", their_token, json={**BODY, "stream_id": theirs.id}).get_json()["id"]
    for url in (f"/api/v1/lots/{theirs_id}/publish", "/api/v1/lots/999999/publish"):
        assert api.post(url, lots_token).status_code == 404
    assert api.post(f"/api/v1/lots/{theirs_id}/withdraw", lots_token, json={"reason": "x"}).status_code == 404


def test_withdraw_releases_the_reserve(api, lots_token, stream):
    lot_id = _create(api, lots_token, stream).get_json()["id"]
    api.post(f"/api/v1/lots/{lot_id}/publish", lots_token)
    url = f"/api/v1/lots/{lot_id}/withdraw"
    r = api.post(url, lots_token, json={"reason": "  "})
    assert r.status_code == 422 and "reason" in r.get_json()["errors"]["json"]
    r = api.post(url, lots_token, json={"reason": "Продано напрямую"})
    assert r.status_code == 200
    assert r.get_json()["state"] == "withdrawn" and r.get_json()["state_reason"] == "Продано напрямую"
    assert _reserved(stream) == 0
    assert api.get(f"/api/v1/lots/{lot_id}").status_code == 404  # no longer public
    again = api.post(url, lots_token, json={"reason": "Ещё раз"})
    assert again.status_code == 409 and "«Снят»" in again.get_json()["message"]
    publish = api.post(f"/api/v1/lots/{lot_id}/publish", lots_token)
    assert publish.status_code == 409 and "только черновик" in publish.get_json()["message"]
    kinds = db.session.scalars(select(LotEvent.kind).where(LotEvent.lot_id == lot_id)
                               .order_by(LotEvent.id)).all()
    assert kinds == ["created", "published", "withdrawn"]


# Idempotency --------------------------------------------------------------------------------


def test_same_key_twice_creates_one_lot(api, lots_token, stream, holder):
    key = {"Idempotency-Key": "erp-lot-0001"}
    first = api.post("/api/v1/lots", lots_token, json={**BODY, "stream_id": stream.id}, headers=key)
    second = api.post("/api/v1/lots", lots_token, json={**BODY, "stream_id": stream.id}, headers=key)
    assert first.status_code == second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.get_data() == first.get_data()
    assert _lot_count(holder) == 1
    other = api.post("/api/v1/lots", lots_token, json={**BODY, "stream_id": stream.id, "quantity": "1"},
                     headers=key)
    assert other.status_code == 422 and "erp-lot-0001" in other.get_json()["message"]
    assert _lot_count(holder) == 1


def test_publish_retried_with_its_key_returns_the_first_answer(api, lots_token, stream):
    lot_id = _create(api, lots_token, stream).get_json()["id"]
    key = {"Idempotency-Key": f"publish-{lot_id}"}
    url = f"/api/v1/lots/{lot_id}/publish"
    first = api.post(url, lots_token, headers=key)
    second = api.post(url, lots_token, headers=key)
    assert first.status_code == second.status_code == 200
    assert second.headers["Idempotent-Replayed"] == "true" and second.get_data() == first.get_data()
    assert _reserved(stream) == Decimal("4.500")  # reserved once
    published = db.session.scalar(select(func.count(LotEvent.id)).where(
        LotEvent.lot_id == lot_id, LotEvent.kind == "published"))
    assert published == 1
    assert api.post(url, lots_token, headers={"Idempotency-Key": "another"}).status_code == 409


def test_token_page_issues_a_lots_token(auth, client, holder, owner):
    auth.login(owner.email)
    page = client.get(f"/orgs/{holder.id}/api-tokens")
    assert 'value="lots:write"' in page.get_data(as_text=True)
    r = client.post(f"/orgs/{holder.id}/api-tokens", data={"name": "ERP", "scopes": ["lots:write"]})
    assert r.status_code == 200
    from market.api.models import ApiToken

    token = db.session.scalar(select(ApiToken).where(ApiToken.organization_id == holder.id))
    assert token.scopes == ["lots:write"]
