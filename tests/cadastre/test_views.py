"""Cadastre pages: forms, assays, the map and its GeoJSON, permissions, languages."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from market.cadastre import operations as ops
from market.cadastre.models import Assay, Formation
from market.core.models import AuditEvent
from market.extensions import db
from market.registry import operations as registry_ops
from tests.cadastre.conftest import KARAGANDA, OUTLINE, PAVLODAR


def _form(**overrides) -> dict:
    data = {"name": "Хвостохранилище БМЗ", "kind": "tailings", "status": "active",
            "region_kato": KARAGANDA, "address": "г. Балхаш, промзона", "lat": "46.8500",
            "lon": "74.9800", "outline": "", "area_ha": "", "volume_m3": "", "tonnage": "",
            "year_formed": "", "hazard_class": "", "waste_code": "", "description": ""}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def outsider(create_user, create_org):
    user = create_user()
    create_org(owner=user)
    return user


# entering a formation ---------------------------------------------------------------------

def test_create_via_form(client, auth, holder, holder_owner):
    auth.login(holder_owner.email)
    r = client.get(f"/cadastre/orgs/{holder.id}/new")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'data-map="picker"' in html and "leaflet.markercluster.js" in html
    assert 'name="outline"' in html and "GeoJSON" in html

    r = client.post(f"/cadastre/orgs/{holder.id}/new", data=_form(
        outline=json.dumps({"type": "Feature", "geometry": OUTLINE}), tonnage="21 000 000",
        volume_m3="12500000,5", year_formed="1952", hazard_class="4", waste_code="01 03 06",
        description="Хвосты обогащения"))
    assert r.status_code == 302
    f = db.session.scalars(select(Formation)).one()
    assert r.headers["Location"].endswith(f"/cadastre/{f.id}")
    assert f.outline == OUTLINE and f.area_ha > 600 and f.tonnage == Decimal("21000000")
    assert (f.hazard_class, f.year_formed, f.waste_code, f.state_owned) == (4, 1952, "010306", False)

    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Хвостохранилище БМЗ" in page and "01 03 06" in page
    assert "21\u00a0000\u00a0000" in page  # tonnes in the Russian format
    assert "data-geojson" in page and "по контуру" not in page  # the area came from the outline
    ops.update_formation(f, actor=holder_owner, area_ha=100)
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "по контуру ≈" in page


def test_every_wrong_field_is_shown_at_once(client, auth, holder, holder_owner):
    auth.login(holder_owner.email)
    r = client.post(f"/cadastre/orgs/{holder.id}/new", data=_form(
        lat="", lon="", outline="[1, 2", tonnage="много", waste_code="00 00 00"))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    for message in ("Укажите точку", "JSON", "Введите число", "не найден"):
        assert message in html
    assert html.count('class="invalid-feedback"') == 4


def test_point_is_taken_from_the_outline_when_missing(client, auth, holder, holder_owner):
    auth.login(holder_owner.email)
    r = client.post(f"/cadastre/orgs/{holder.id}/new",
                    data=_form(lat="", lon="", outline=json.dumps(OUTLINE)))
    assert r.status_code == 302
    f = db.session.scalars(select(Formation)).one()
    assert f.lat == pytest.approx(46.85) and f.lon == pytest.approx(74.97)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"outline": '{"type": "Polygon", "coordinates": [[[74.95, 46.86], [74.99, 46.86], '
                 '[74.99, 46.84], [74.95, 46.84]]]}'}, "не замкнут"),
    ({"outline": "вот контур"}, "JSON"),
    ({"lat": "", "lon": ""}, "Укажите точку"),
    ({"lat": "46.85", "lon": ""}, "обе координаты"),
    ({"lat": "55.75", "lon": "37.62"}, "вне территории Казахстана"),
    ({"lat": "сорок"}, None),
    ({"tonnage": "много"}, "Введите число"),
    ({"area_ha": "-5"}, "отрицательным"),
    ({"year_formed": "1700"}, "Год образования"),
    ({"year_formed": "давно"}, None),
    ({"hazard_class": "7"}, None),
    ({"kind": "volcano"}, None),
    ({"region_kato": "123"}, None),
    ({"waste_code": "99 99 99"}, "не найден"),
    ({"state_owned": "y"}, "Государственный орган"),
    ({"name": ""}, None),
])
def test_bad_input_is_shown_next_to_the_field(client, auth, holder, holder_owner, overrides, message):
    auth.login(holder_owner.email)
    r = client.post(f"/cadastre/orgs/{holder.id}/new", data=_form(**overrides))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "is-invalid" in html and "invalid-feedback" in html
    if message:
        assert message in html
    assert _count(Formation) == 0


def test_state_body_creates_state_owned_formation(client, auth, state_body):
    auth.login(state_body.owners[0].user.email)
    page = client.get(f"/cadastre/orgs/{state_body.id}/new").get_data(as_text=True)
    assert re.search(r'name="state_owned"[^>]*checked|checked[^>]*name="state_owned"', page)
    r = client.post(f"/cadastre/orgs/{state_body.id}/new",
                    data=_form(state_owned="y", status="abandoned"))
    assert r.status_code == 302
    assert db.session.scalars(select(Formation)).one().state_owned is True


def test_edit(client, auth, make_formation, holder_owner, holder):
    f = make_formation(outline=OUTLINE, tonnage="1500000", waste_code="100601", hazard_class=4)
    auth.login(holder_owner.email)
    r = client.get(f"/cadastre/{f.id}/edit")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert 'value="1500000"' in html and 'value="10 06 01"' in html
    assert "74.95" in html and '<option selected value="4">' in html
    data = _form(name="Шлакоотвал № 1", kind="slag_heap", status="processing",
                 outline=json.dumps(OUTLINE), area_ha=str(f.area_ha), tonnage="1 400 000",
                 waste_code="10 06 01", hazard_class="4")
    r = client.post(f"/cadastre/{f.id}/edit", data=data)
    assert r.status_code == 302
    assert (f.name, f.status, f.tonnage) == ("Шлакоотвал № 1", "processing", Decimal("1400000"))
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "formation.updated")).one()
    assert sorted(event.data["fields"]) == ["address", "name", "status", "tonnage"]
    assert event.organization_id == holder.id

    r = client.post(f"/cadastre/{f.id}/edit", data={**data, "outline": "[1, 2"})
    assert r.status_code == 422 and "JSON" in r.get_data(as_text=True)
    assert f.outline == OUTLINE


# assays -------------------------------------------------------------------------------------

def test_add_and_delete_assay(client, auth, make_formation, holder_owner):
    f = make_formation()
    auth.login(holder_owner.email)
    page = client.get(f"/cadastre/{f.id}").get_data(as_text=True)
    assert 'data-testid="assay-form"' in page
    r = client.post(f"/cadastre/{f.id}/assays", data={
        "component": "Cu", "grade": "0,62", "unit": "pct", "laboratory": "ИЦ «Казмеханобр»",
        "sampled_on": "2024-05-14"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/cadastre/{f.id}#assays")
    a = db.session.scalars(select(Assay)).one()
    assert (a.component, a.grade, a.unit) == ("Cu", Decimal("0.6200"), "pct")
    page = client.get(f"/cadastre/{f.id}").get_data(as_text=True)
    assert "0,62 %" in page and "Казмеханобр" in page and "confirm(" in page

    r = client.post(f"/cadastre/{f.id}/assays/{a.id}/delete")
    assert r.status_code == 302
    assert _count(Assay) == 0
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "assay.deleted")) == 1


@pytest.mark.parametrize(("data", "message"), [
    ({"component": "Cu", "grade": "-1", "unit": "pct"}, "отрицательным"),
    ({"component": "Cu", "grade": "150", "unit": "pct"}, "больше 100 %"),
    ({"component": "Cu", "grade": "1e30", "unit": "g_t"}, "Слишком большое"),
    ({"component": "Cu", "grade": "abc", "unit": "pct"}, "Введите число"),
    ({"component": "Cu", "grade": "1", "unit": "pct", "sampled_on": "2999-01-01"}, "в будущем"),
    ({"component": "Cu", "grade": "1", "unit": "pct", "sampled_on": "вчера"}, None),
    ({"component": "", "grade": "1", "unit": "pct"}, None),
    ({"component": "Cu", "grade": "1", "unit": "oz"}, None),
])
def test_bad_assay_is_shown_on_the_page(client, auth, make_formation, holder_owner, data, message):
    f = make_formation()
    auth.login(holder_owner.email)
    r = client.post(f"/cadastre/{f.id}/assays", data=data)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "is-invalid" in html and f.name in html
    if message:
        assert message in html
    assert _count(Assay) == 0


def test_assay_of_another_formation_is_404(client, auth, make_formation, holder_owner):
    f, g = make_formation(), make_formation(name="Другое")
    a = ops.add_assay(g, actor=holder_owner, component="Zn", grade="1", unit="pct")
    auth.login(holder_owner.email)
    assert client.post(f"/cadastre/{f.id}/assays/{a.id}/delete").status_code == 404
    assert client.post(f"/cadastre/{f.id}/assays/999999/delete").status_code == 404
    assert _count(Assay) == 1


# who may do what ------------------------------------------------------------------------------

def test_outsiders_see_but_cannot_edit(client, auth, make_formation, holder, holder_owner, outsider):
    f = make_formation()
    a = ops.add_assay(f, actor=holder_owner, component="Zn", grade="1", unit="pct")
    auth.login(outsider.email)
    for url in ("/cadastre/", f"/cadastre/{f.id}", f"/cadastre/orgs/{holder.id}", "/cadastre/map.json"):
        assert client.get(url).status_code == 200, url
    page = client.get(f"/cadastre/{f.id}").get_data(as_text=True)
    assert "assay-form" not in page and "/edit" not in page and "/delete" not in page
    assert "/new" not in client.get(f"/cadastre/orgs/{holder.id}").get_data(as_text=True)
    assert client.get(f"/cadastre/orgs/{holder.id}/new").status_code == 403
    assert client.post(f"/cadastre/orgs/{holder.id}/new", data=_form()).status_code == 403
    assert client.get(f"/cadastre/{f.id}/edit").status_code == 403
    assert client.post(f"/cadastre/{f.id}/edit", data=_form(name="Чужое")).status_code == 403
    assert client.post(f"/cadastre/{f.id}/assays",
                       data={"component": "Au", "grade": "1", "unit": "g_t"}).status_code == 403
    assert client.post(f"/cadastre/{f.id}/assays/{a.id}/delete").status_code == 403
    assert _count(Formation) == 1 and _count(Assay) == 1 and f.name != "Чужое"


def test_viewer_of_the_organisation_cannot_edit(client, auth, make_formation, holder, create_user,
                                                add_member):
    f = make_formation()
    viewer = create_user()
    add_member(holder, viewer, "viewer")
    auth.login(viewer.email)
    assert client.get(f"/cadastre/{f.id}").status_code == 200
    assert client.get(f"/cadastre/{f.id}/edit").status_code == 403
    assert client.get(f"/cadastre/orgs/{holder.id}/new").status_code == 403


def test_anonymous_is_sent_to_login(client, make_formation):
    f = make_formation()
    for url in ("/cadastre/", "/cadastre/map.json", f"/cadastre/{f.id}"):
        r = client.get(url)
        assert r.status_code == 302 and "/login" in r.headers["Location"], url


def test_missing_objects_are_404(client, auth, holder_owner, make_formation):
    f = make_formation()
    auth.login(holder_owner.email)
    big = "9" * 25  # beyond INTEGER: PostgreSQL would refuse the query
    for n in ("999999", big):
        assert client.get(f"/cadastre/{n}").status_code == 404
        assert client.get(f"/cadastre/{n}/edit").status_code == 404
        assert client.get(f"/cadastre/orgs/{n}").status_code == 404
        assert client.get(f"/cadastre/orgs/{n}/new").status_code == 404
        assert client.post(f"/cadastre/{n}/assays", data={"component": "Cu"}).status_code == 404
        assert client.post(f"/cadastre/{f.id}/assays/{n}/delete").status_code == 404
    assert client.get(f"/cadastre/map.json?org={big}").status_code == 200
    assert client.get(f"/cadastre/?org={big}").status_code == 200


# the map ----------------------------------------------------------------------------------------

@pytest.fixture
def world(make_formation, holder, holder_owner, state_body, create_user, create_org):
    slag = make_formation(name="Шлакоотвал", kind="slag_heap", outline=OUTLINE, tonnage="5000000")
    tailings = make_formation(name="Хвостохранилище", kind="tailings", status="conserved",
                              lat=46.87, lon=74.93)
    state = make_formation(org=state_body, actor=state_body.owners[0].user, name="Бесхозное",
                           kind="tailings", status="abandoned", state_owned=True,
                           region_kato=PAVLODAR, lat=52.3, lon=76.95)
    site = registry_ops.create_site(holder, actor=holder_owner, name="Площадка шлака", kind="storage",
                                    region_kato=KARAGANDA, address="Балхаш", lat=46.84, lon=74.97)
    other = create_user()
    other_org = create_org(owner=other, region=PAVLODAR)
    far = registry_ops.create_site(other_org, actor=other, name="Павлодарская площадка",
                                   kind="production", region_kato=PAVLODAR, address="Павлодар",
                                   lat=52.28, lon=76.97)
    registry_ops.create_site(other_org, actor=other, name="Без координат", kind="production",
                             region_kato=PAVLODAR, address="Павлодар")
    return {"slag": slag, "tailings": tailings, "state": state, "site": site, "far": far}


def _features(client, query=""):
    r = client.get("/cadastre/map.json" + query)
    assert r.status_code == 200 and r.is_json
    data = r.get_json()
    assert data["type"] == "FeatureCollection"
    return {f["id"]: f for f in data["features"]}


def test_map_json(client, auth, world, holder_owner):
    auth.login(holder_owner.email)
    feats = _features(client)
    slag, tailings, state = world["slag"], world["tailings"], world["state"]
    assert set(feats) == {f"formation-{slag.id}", f"formation-{tailings.id}", f"formation-{state.id}",
                          f"site-{world['site'].id}", f"site-{world['far'].id}"}
    s = feats[f"formation-{slag.id}"]
    assert s["geometry"]["type"] == "GeometryCollection"
    point, polygon = s["geometry"]["geometries"]
    assert point == {"type": "Point", "coordinates": [74.98, 46.85]} and polygon == OUTLINE
    p = s["properties"]
    assert p["type"] == "formation" and p["kind"] == "slag_heap" and p["kind_label"] == "Шлакоотвал"
    assert p["tonnage"] == 5000000 and p["url"] == f"/cadastre/{slag.id}"
    assert feats[f"formation-{tailings.id}"]["geometry"] == {"type": "Point", "coordinates": [74.93, 46.87]}
    assert feats[f"formation-{state.id}"]["properties"]["state_owned"] is True
    site = feats[f"site-{world['site'].id}"]
    assert site["geometry"]["coordinates"] == [74.97, 46.84]
    assert site["properties"]["type"] == "site"
    # the holder sees its own registry, not the other organisation's
    assert site["properties"]["url"] == f"/registry/sites/{world['site'].id}"
    assert feats[f"site-{world['far'].id}"]["properties"]["url"] is None


def test_map_json_filters(client, auth, world, outsider):
    auth.login(outsider.email)
    slag, tailings, state = (f"formation-{world[k].id}" for k in ("slag", "tailings", "state"))
    site, far = f"site-{world['site'].id}", f"site-{world['far'].id}"
    assert set(_features(client, f"?region={KARAGANDA}")) == {slag, tailings, site}
    assert set(_features(client, f"?region={PAVLODAR}")) == {state, far}
    # kind and status describe formations; sites are filtered by region only
    assert set(_features(client, "?kind=tailings")) == {tailings, state, site, far}
    assert set(_features(client, f"?kind=tailings&status=conserved&region={KARAGANDA}")) == {tailings, site}
    assert set(_features(client, f"?org={world['slag'].organization_id}")) == {slag, tailings, site}
    # unknown values are ignored rather than failing
    assert len(_features(client, "?region=xyz&kind=volcano&status=1&org=abc")) == 5
    assert all(f["properties"]["url"] is None for k, f in _features(client).items() if k.startswith("site"))


def test_map_page(client, auth, world, outsider):
    auth.login(outsider.email)
    r = client.get("/cadastre/")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert 'data-source="/cadastre/map.json"' in html and "MarkerCluster.css" in html
    assert "cadastre-map.js" in html and 'data-testid="total">3<' in html
    assert "Шлакоотвал" in html and "5\u00a0000\u00a0000" in html
    html = client.get(f"/cadastre/?kind=tailings&region={KARAGANDA}").get_data(as_text=True)
    assert f'data-source="/cadastre/map.json?region={KARAGANDA}&amp;kind=tailings"' in html
    assert 'data-testid="total">1<' in html and "Хвостохранилище" in html
    for query in ("?page=99", "?page=abc", "?page=-1", "?region=%00&kind=%27"):
        assert client.get("/cadastre/" + query).status_code == 200, query


def test_map_table_is_paginated(client, auth, app, make_formation, holder_owner, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    for n in range(5):
        make_formation(name=f"Отвал {n}")
    auth.login(holder_owner.email)
    html = client.get("/cadastre/").get_data(as_text=True)
    assert "Отвал 0" in html and "Отвал 2" not in html and "1 / 3" in html
    html = client.get("/cadastre/?page=3").get_data(as_text=True)
    assert "Отвал 4" in html and "Отвал 0" not in html


def test_org_page(client, auth, world, holder, holder_owner):
    auth.login(holder_owner.email)
    html = client.get(f"/cadastre/orgs/{holder.id}").get_data(as_text=True)
    assert "Шлакоотвал" in html and "Бесхозное" not in html
    assert f"/cadastre/orgs/{holder.id}/new" in html
    assert f'data-source="/cadastre/map.json?org={holder.id}"' in html


def test_nav_link(client, auth, holder_owner):
    auth.login(holder_owner.email)
    assert 'href="/cadastre/"' in client.get("/orgs").get_data(as_text=True)


@pytest.mark.parametrize(("lang", "html_lang"), [("kk", 'lang="kk"'), ("en", 'lang="en"')])
def test_pages_in_other_languages(client, auth, world, holder, holder_owner, lang, html_lang):
    auth.login(holder_owner.email)
    f = world["slag"]
    ops.add_assay(f, actor=holder_owner, component="Cu", grade="0.5", unit="g_t")
    for url in ("/cadastre/", f"/cadastre/{f.id}", f"/cadastre/{f.id}/edit", f"/cadastre/orgs/{holder.id}",
                f"/cadastre/orgs/{holder.id}/new"):
        r = client.get(f"{url}?lang={lang}")
        assert r.status_code == 200, url
        assert html_lang in r.get_data(as_text=True), url
    r = client.get(f"/cadastre/map.json?lang={lang}")
    assert r.status_code == 200 and len(r.get_json()["features"]) == 5
