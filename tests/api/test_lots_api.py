"""GET /api/v1/lots and /lots/<id>: public search and reading, filters, pages, visibility."""

from datetime import date, timedelta

import pytest

from market.core.timeutil import utcnow
from market.extensions import db
from market.lots.operations import create_lot, publish_lot
from market.registry import operations as reg
from market.registry.journal import record

OTHER_REGION = "190000000"


@pytest.fixture
def offer(holder, owner, make_stream):
    """A lot of the holder from a new stream holding 100 t (published unless publish=False)."""
    def make(code="100201", title="Шлак", *, publish=True, quantity="10", on_site=None, hps=None, **kw):
        stream = make_stream(code=code, name=title, on_site=on_site, hps=hps)
        if hps:  # hazardous: the journal and publication need its passport
            reg.save_passport(stream, actor=owner, composition="Pb", handling="h", transport="t",
                              emergency="e", compiled_by="Эколог", compiled_on=date(2026, 1, 1),
                              hazard_properties=hps)
        record(stream, actor=owner, kind="generated", quantity="100", event_date=date(2026, 1, 1))
        kw.setdefault("pricing_mode", "fixed")
        if kw["pricing_mode"] != "free":
            kw.setdefault("price", 500_000)
        lot = create_lot(holder, actor=owner, stream=stream, title=title, quantity=quantity, **kw)
        if publish:
            publish_lot(lot, actor=owner)
        db.session.flush()
        return lot
    return make


@pytest.fixture
def market(offer, holder, owner):
    other_site = reg.create_site(holder, actor=owner, name="Отвал №2", kind="storage",
                                 region_kato=OTHER_REGION, address="г. Конаев")
    return {
        "slag": offer("100601", "Шлак медеплавильный", description="Гранулированный", price=300_000),
        "ash": offer("100102", "Зола-унос ТЭЦ", pricing_mode="free", quantity="50"),
        "paper": offer("150101", "Картонная упаковка", price=200_000),
        "scrap": offer("170405", "Металлолом чёрный", price=900_000, quantity="20"),
        "auction": offer("100601", "Шлак отвальный", on_site=other_site, pricing_mode="english",
                         price=50_000, increment=10_000, ends_at=utcnow() + timedelta(days=3)),
        "draft": offer("100601", "Шлак (черновик)", publish=False),
    }


def _ids(r) -> list[int]:
    assert r.status_code == 200, r.get_json()
    return [item["id"] for item in r.get_json()["items"]]


def test_anonymous_search_shows_published_lots_without_holder(api, market):
    r = api.get("/api/v1/lots")
    ids = _ids(r)
    published = [lot for name, lot in market.items() if name != "draft"]
    assert ids == sorted((lot.id for lot in published), reverse=True)  # newest first
    body = r.get_json()
    assert body["sort"] == "newest" and body["next"] is None and "Link" not in r.headers
    slag = next(i for i in body["items"] if i["id"] == market["slag"].id)
    assert slag["holder"] is None
    assert slag["price"] == 300_000 and slag["price_display"] == "3\u00a0000\u00a0₸"
    assert slag["quantity"] == "10.000" and slag["unit"] == "t"
    assert slag["waste_code"] == "100601" and slag["waste_code_display"] == "10 06 01"
    assert slag["state"] == "published" and slag["source"] == "stream"
    assert slag["published_at"].endswith("+00:00")
    assert slag["url"].endswith(f"/lots/{market['slag'].id}")
    for owner_only in ("stream_id", "reserve_price", "state_reason"):
        assert owner_only not in slag


def test_search_with_a_token_names_the_holder(api, market, make_token, create_org, holder):
    other = create_org()
    secret = make_token(other, actor=other.owners[0].user, scopes=["registry:read"])
    holder.contact_phone = "+7 701 000 00 00"
    db.session.flush()
    (item,) = [i for i in api.get("/api/v1/lots", secret).get_json()["items"]
               if i["id"] == market["slag"].id]
    assert item["holder"]["name"] == holder.name
    assert item["holder"]["contact_phone"] == "+7 701 000 00 00"
    assert "stream_id" not in item  # not the holder's own token


@pytest.mark.parametrize(("params", "expected"), [
    ("code=10 06", {"slag", "auction"}),
    ("code=100601&region=190000000", {"auction"}),
    ("chapter=15", {"paper"}),
    ("mode=free", {"ash"}),
    ("mode=english&ending=1", {"auction"}),
    ("qty_min=15", {"ash", "scrap"}),
    ("qty_min=15&qty_max=25,5", {"scrap"}),
    ("price_min=250000&price_max=500000", {"slag"}),  # tiyn per tonne
    ("q=шлака", {"slag", "auction"}),
    ("q=10 06", {"slag", "auction"}),
    ("hazardous=no&mode=fixed", {"slag", "paper", "scrap"}),
    ("mandatory=1", set()),
])
def test_filters(api, market, params, expected):
    ids = set(_ids(api.get(f"/api/v1/lots?{params}")))
    assert ids == {market[name].id for name in expected}


def test_sort_by_price(api, market):
    ids = _ids(api.get("/api/v1/lots?sort=price&mode=fixed"))
    assert ids == [market[n].id for n in ("paper", "slag", "scrap")]


def test_newest_pages_by_before(api, market):
    seen, url, pages = [], "/api/v1/lots?limit=2&mode=fixed", 0
    while url:
        r = api.get(url)
        seen += _ids(r)
        url = r.get_json()["next"]
        if url:
            assert "before=" in url and "mode=fixed" in url and "limit=2" in url
            assert r.headers["Link"] == f'<{url}>; rel="next"'
        pages += 1
    assert pages == 2
    assert seen == sorted((market[n].id for n in ("slag", "paper", "scrap")), reverse=True)


def test_other_orders_page_by_number(api, market):
    seen, url, pages = [], "/api/v1/lots?sort=price&limit=2", 0
    while url:
        r = api.get(url)
        seen += _ids(r)
        body = r.get_json()
        assert body["sort"] == "price"
        url = body["next"]
        pages += 1
        if url:
            assert f"page={pages + 1}" in url and "before" not in url
    everything = _ids(api.get("/api/v1/lots?sort=price&limit=100"))
    assert pages == 3 and seen == everything and len(everything) == 5


@pytest.mark.parametrize(("params", "field", "text"), [
    ("code=12345", "code", "Код отхода: 2, 4 или 6 цифр"),
    ("qty_min=много", "qty_min", "Количество от: число тонн"),
    ("qty_max=-1", "qty_max", "Количество до: число тонн"),
    ("mode=barter", "mode", "Допустимые значения"),
    ("sort=cheapest", "sort", "Допустимые значения"),
    ("hazardous=maybe", "hazardous", "Допустимые значения"),
    ("chapter=1", "chapter", "две цифры"),
    ("region=Караганда", "region", "КАТО"),
    ("price_min=-5", "price_min", "тиынов"),
    ("price_max=12,5", "price_max", "тиынов"),
    ("mandatory=да", "mandatory", "1 или 0"),
    ("limit=500", "limit", "От 1 до 100"),
    ("page=2", "page", "before"),
    ("sort=price&before=10", "before", "page"),
    ("allowed=1", "allowed", "API-токеном"),
    ("near=1", "near", "площадки"),
])
def test_invalid_parameters_are_422_with_messages(api, market, params, field, text):
    r = api.get(f"/api/v1/lots?{params}")
    assert r.status_code == 422, r.get_json()
    errors = r.get_json()["errors"]["query"]
    assert list(errors) == [field]
    assert any(text in message for message in errors[field]), errors


def test_allowed_uses_the_token_organisations_licences(api, market, offer, make_token, create_org):
    hazardous = offer("100207", "Пыль свинцовая", hps=["HP14"])
    buyer = create_org(kinds=("processor",))
    secret = make_token(buyer, actor=buyer.owners[0].user, scopes=["registry:read"])
    everything = set(_ids(api.get("/api/v1/lots")))
    allowed = set(_ids(api.get("/api/v1/lots?allowed=1", secret)))
    assert hazardous.id in everything and hazardous.id not in allowed  # no licence for it
    assert allowed == everything - {hazardous.id}


def test_distance_from_a_site_of_the_token_organisation(api, market, make_token, site, other_org):
    secret = make_token(scopes=["registry:read"])
    r = api.get(f"/api/v1/lots?sort=distance&near={site.id}", secret)
    assert r.status_code == 200 and r.get_json()["sort"] == "distance"
    assert _ids(r)[-1] == market["auction"].id  # the other region is the farthest
    _org, their_site, _stream = other_org
    r = api.get(f"/api/v1/lots?sort=distance&near={their_site.id}", secret)
    assert r.status_code == 422 and list(r.get_json()["errors"]["query"]) == ["near"]


# One lot ------------------------------------------------------------------------------------


def test_published_lot_is_public(api, market):
    lot = market["auction"]
    r = api.get(f"/api/v1/lots/{lot.id}")
    assert r.status_code == 200
    body = r.get_json()
    assert body["pricing_mode"] == "english" and body["increment"] == 10_000
    assert body["increment_display"] == "100\u00a0₸"
    assert body["ends_at"].endswith("+00:00") and body["region_kato"] == OTHER_REGION
    assert body["holder"] is None and "reserve_price" not in body


@pytest.mark.parametrize("who", ["anonymous", "registry_token", "outsider_lots_token"])
def test_draft_is_404_except_to_the_holders_lots_token(api, market, make_token, create_org, who):
    secret = None
    if who == "registry_token":
        secret = make_token(scopes=["registry:read", "registry:write"])
    elif who == "outsider_lots_token":
        other = create_org()
        secret = make_token(other, actor=other.owners[0].user, scopes=["lots:write"])
    r = api.get(f"/api/v1/lots/{market['draft'].id}", secret)
    assert r.status_code == 404 and r.get_json()["message"] == "Лот не найден."


def test_holder_reads_its_draft_with_lots_write(api, market, make_token, holder):
    secret = make_token(scopes=["lots:write"])
    r = api.get(f"/api/v1/lots/{market['draft'].id}", secret)
    assert r.status_code == 200
    body = r.get_json()
    assert body["state"] == "draft" and body["published_at"] is None
    assert body["stream_id"] == market["draft"].stream_id and body["formation_id"] is None
    assert body["holder"]["id"] == holder.id


def test_unknown_lot_and_bad_token(api, market):
    r = api.get("/api/v1/lots/999999")
    assert r.status_code == 404 and r.is_json
    r = api.get(f"/api/v1/lots/{market['slag'].id}", "qdq_not-a-real-token-at-all-000000000")
    assert r.status_code == 401 and "Bearer" in r.headers["WWW-Authenticate"]
    r = api.get("/api/v1/lots", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert r.status_code == 401


def test_a_login_session_is_not_a_credential(api, auth, market, owner):
    auth.login(owner.email)
    assert api.get(f"/api/v1/lots/{market['draft'].id}").status_code == 404
    assert api.post("/api/v1/lots", json={}).status_code == 401


def test_openapi_documents_the_lot_paths(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    paths = doc["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/lots"])
    assert "get" in paths["/api/v1/lots/{lot_id}"]
    assert "post" in paths["/api/v1/lots/{lot_id}/publish"]
    assert "post" in paths["/api/v1/lots/{lot_id}/withdraw"]
    search = paths["/api/v1/lots"]["get"]
    assert search["security"] == [{}, {"bearerAuth": []}]  # the token is optional
    names = {p["name"] for p in search["parameters"]}
    assert {"q", "code", "region", "mode", "price_min", "sort", "before", "page", "limit"} <= names
    assert "security" not in paths["/api/v1/lots"]["post"]  # the document's default: a token
    assert {"409", "422", "404"} <= set(paths["/api/v1/lots/{lot_id}/publish"]["post"]["responses"])
    create = doc["components"]["schemas"]["LotCreate"]
    assert set(create["required"]) == {"title", "pricing_mode"}  # or monthly_quantity for quantity
    lot = doc["components"]["schemas"]["Lot"]["properties"]
    assert lot["quantity"]["type"] == "string" and lot["price"]["type"] == "integer"
    assert "Lots" in {t["name"] for t in doc["tags"]}
