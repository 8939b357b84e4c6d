"""Reads: sites, streams, balances, the journal by keyset pages; other organisations → 404."""

from datetime import date
from decimal import Decimal

from market.extensions import db
from market.registry import operations as ops
from market.registry.journal import record


def test_sites_of_the_token_organisation_only(api, token, site, other_org):
    r = api.get("/api/v1/sites", token)
    assert r.status_code == 200
    assert [s["id"] for s in r.get_json()] == [site.id]
    s = r.get_json()[0]
    assert s["name"] == "Шлакоотвал №1" and s["kind"] == "storage"
    assert s["region_kato"] == "350000000" and s["lat"] == 46.85
    assert api.get(f"/api/v1/sites/{site.id}", token).get_json()["id"] == site.id


def test_other_organisation_objects_are_404(api, token, other_org):
    _org, their_site, their_stream = other_org
    for url in (f"/api/v1/sites/{their_site.id}", f"/api/v1/streams/{their_stream.id}",
                f"/api/v1/streams/{their_stream.id}/records", "/api/v1/sites/999999",
                "/api/v1/streams/999999"):
        r = api.get(url, token)
        assert r.status_code == 404, url
        assert r.is_json and r.get_json()["code"] == 404
    # the same answer as for an object that does not exist: nothing is leaked
    a = api.get(f"/api/v1/streams/{their_stream.id}", token).get_json()
    b = api.get("/api/v1/streams/999999", token).get_json()
    assert a == b
    # and other organisations' streams are not listed
    assert api.get("/api/v1/streams", token).get_json() == []


def test_stream_fields(api, token, stream, owner):
    stream.reserved = Decimal("2.5")
    db.session.flush()
    r = api.get(f"/api/v1/streams/{stream.id}", token)
    assert r.status_code == 200
    s = r.get_json()
    assert s["balance"] == "10.000" and s["reserved"] == "2.500" and s["available"] == "7.500"
    assert s["waste_code"] == "100201" and s["waste_code_display"] == "10 02 01"
    assert s["hazardous"] is False and s["hazard_properties"] == []
    assert s["oldest_stock_date"] == "2026-01-05" and s["must_offer_since"] is None
    assert s["site_id"] == stream.site_id and s["storage_purpose"] == "recovery"


def test_hazardous_flag(api, token, make_stream):
    s = make_stream(code="100207", hps=["HP14"], name="Пыль")
    body = api.get(f"/api/v1/streams/{s.id}", token).get_json()
    assert body["hazardous"] is True and body["hazard_properties"] == ["HP14"]
    assert body["waste_code_display"] == "10 02 07*"


def test_must_offer_since(api, token, stream):
    stream.must_offer_since = date(2026, 3, 1)
    db.session.flush()
    assert api.get(f"/api/v1/streams/{stream.id}", token).get_json()["must_offer_since"] == "2026-03-01"


def test_stream_filters(api, token, holder, owner, site, make_stream):
    other_site = ops.create_site(holder, actor=owner, name="Цех", kind="production",
                                 region_kato="350000000", address="г. Балхаш")
    a = make_stream(code="100201")
    b = make_stream(code="100202", name="Шлак необработанный")
    c = make_stream(code="100201", on_site=other_site, name="Шлак цеха")
    ids = lambda r: [s["id"] for s in r.get_json()]  # noqa: E731
    assert ids(api.get("/api/v1/streams", token)) == [a.id, b.id, c.id]
    assert ids(api.get(f"/api/v1/streams?site_id={site.id}", token)) == [a.id, b.id]
    assert ids(api.get("/api/v1/streams?waste_code=100201", token)) == [a.id, c.id]
    assert ids(api.get("/api/v1/streams?waste_code=10%2002%2001", token)) == [a.id, c.id]
    assert ids(api.get(f"/api/v1/streams?waste_code=100201&site_id={other_site.id}", token)) == [c.id]
    r = api.get("/api/v1/streams?site_id=abc", token)
    assert r.status_code == 422
    assert r.get_json()["errors"]["query"]["site_id"] == ["Нужно целое число."]


def test_balances_are_exact_decimal_strings(api, token, holder, owner, site, make_stream):
    other_site = ops.create_site(holder, actor=owner, name="Цех", kind="production",
                                 region_kato="350000000", address="г. Балхаш")
    a = make_stream(code="100201")
    b = make_stream(code="100201", on_site=other_site, name="Шлак цеха")
    c = make_stream(code="100202", name="Другой шлак")
    for s, qty in ((a, "0.1"), (a, "0.2"), (b, "1000000.005"), (c, "3")):
        record(s, actor=owner, kind="generated", quantity=qty, event_date=date(2026, 1, 5))
    c.reserved = Decimal("1")
    db.session.flush()
    r = api.get("/api/v1/balances", token)
    assert r.status_code == 200
    body = r.get_json()
    assert body["organization_id"] == holder.id
    streams = {s["stream_id"]: s for s in body["streams"]}
    assert streams[a.id]["balance"] == "0.300"
    assert streams[c.id]["available"] == "2.000" and streams[c.id]["reserved"] == "1.000"
    sites = {s["site_id"]: s for s in body["sites"]}
    assert [(g["waste_code"], g["balance"], g["streams"]) for g in sites[site.id]["by_waste_code"]] == [
        ("100201", "0.300", 1), ("100202", "3.000", 1)]
    assert [(g["waste_code"], g["balance"]) for g in sites[other_site.id]["by_waste_code"]] == [
        ("100201", "1000000.005")]
    assert [(g["waste_code"], g["balance"], g["available"], g["streams"])
            for g in body["organization"]] == [
        ("100201", "1000000.305", "1000000.305", 2), ("100202", "3.000", "2.000", 1)]


def test_balances_of_an_empty_organisation(api, token):
    body = api.get("/api/v1/balances", token).get_json()
    assert body["streams"] == [] and body["sites"] == [] and body["organization"] == []


def _fill(stream, owner, n):
    return [record(stream, actor=owner, kind="generated", quantity=str(i + 1),
                   event_date=date(2026, 1, 6)).id for i in range(n)]


def test_records_keyset_pagination(api, token, stream, owner):
    ids = [r.id for r in stream_records(stream)] + _fill(stream, owner, 6)  # 7 records in all
    url = f"/api/v1/streams/{stream.id}/records?limit=3"
    seen, pages = [], 0
    while url:
        r = api.get(url, token)
        assert r.status_code == 200
        body = r.get_json()
        assert body["limit"] == 3
        seen += [item["id"] for item in body["items"]]
        pages += 1
        if body["next"]:
            assert r.headers["Link"] == f'<{body["next"]}>; rel="next"'
            assert f"after_id={body['items'][-1]['id']}" in body["next"]
        else:
            assert "Link" not in r.headers
        url = body["next"]
    assert seen == ids and pages == 3


def test_record_fields(api, token, stream):
    body = api.get(f"/api/v1/streams/{stream.id}/records", token).get_json()
    assert body["next"] is None and body["limit"] == 100
    (item,) = body["items"]
    assert item["kind"] == "generated" and item["quantity"] == "10.000"
    assert item["delta"] == "10.000" and item["balance_after"] == "10.000"
    assert item["event_date"] == "2026-01-05" and item["source"] == "form"


def test_records_after_id(api, token, stream, owner):
    ids = [r.id for r in stream_records(stream)] + _fill(stream, owner, 3)
    body = api.get(f"/api/v1/streams/{stream.id}/records?after_id={ids[1]}", token).get_json()
    assert [i["id"] for i in body["items"]] == ids[2:]
    body = api.get(f"/api/v1/streams/{stream.id}/records?after_id={ids[-1]}", token).get_json()
    assert body["items"] == [] and body["next"] is None


def test_records_exact_page_has_no_next(api, token, stream, owner):
    _fill(stream, owner, 1)  # 2 records
    body = api.get(f"/api/v1/streams/{stream.id}/records?limit=2", token).get_json()
    assert len(body["items"]) == 2 and body["next"] is None


def test_records_limit_bounds(api, token, stream):
    for bad in ("0", "501", "-1", "ten"):
        r = api.get(f"/api/v1/streams/{stream.id}/records?limit={bad}", token)
        assert r.status_code == 422, bad
        body = r.get_json()
        assert body["message"] == "Проверьте поля запроса."
        assert "limit" in body["errors"]["query"]
    assert api.get(f"/api/v1/streams/{stream.id}/records?limit=500", token).status_code == 200
    r = api.get(f"/api/v1/streams/{stream.id}/records?after_id=-5", token)
    assert r.status_code == 422


def stream_records(stream):
    from sqlalchemy import select

    from market.registry.models import WasteRecord

    return db.session.scalars(select(WasteRecord).where(WasteRecord.stream_id == stream.id)
                              .order_by(WasteRecord.id)).all()
