"""Registry pages: sites, streams, passports, records, PDF, official overview."""

import re
import zlib
from datetime import date

from market.extensions import db
from market.registry.journal import record
from market.registry.models import Site, WasteRecord, WasteStream


def pdf_font_names(data: bytes) -> set[str]:
    """Embedded font names, looking inside compressed object streams too."""
    chunks = [data]
    for raw in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            chunks.append(zlib.decompress(raw))
        except zlib.error:
            continue
    names = set()
    for chunk in chunks:
        names.update(m.decode() for m in re.findall(rb"/FontName\s*/([A-Za-z0-9+\-]+)", chunk))
    return names


def test_holder_builds_registry_through_forms(client, auth, holder, owner):
    auth.login(owner.email)
    r = client.post(f"/registry/orgs/{holder.id}/sites/new", data={
        "name": "Цех №2", "kind": "production", "region_kato": "350000000",
        "address": "Балхаш, промзона", "lat": "46.85", "lon": "74.98"})
    assert r.status_code == 302
    site = db.session.scalars(db.select(Site).where(Site.name == "Цех №2")).one()
    r = client.post(f"/registry/sites/{site.id}/streams/new", data={
        "waste_code": "10 06 01", "name": "Шлак медеплавильный", "physical_state": "solid",
        "storage_purpose": "recovery"})
    stream = db.session.scalars(db.select(WasteStream).where(WasteStream.site_id == site.id)).one()
    assert r.location.endswith(f"/registry/streams/{stream.id}")
    r = client.post(f"/registry/streams/{stream.id}/records", data={
        "kind": "generated", "quantity": "1 250,5", "event_date": "2026-03-01"})
    assert r.status_code == 302
    page = client.get(f"/registry/streams/{stream.id}").get_data(as_text=True)
    assert "1\u00a0250,500" in page or "1 250,500" in page or "1,250.500" in page
    r = client.post(f"/registry/streams/{stream.id}/records", data={
        "kind": "transferred_out", "quantity": "5000", "event_date": "2026-03-02"})
    assert r.status_code == 422 and "отрицательным" in r.get_data(as_text=True)
    assert client.get(f"/registry/orgs/{holder.id}").status_code == 200


def test_site_outside_kazakhstan_refused(client, auth, holder, owner):
    auth.login(owner.email)
    r = client.post(f"/registry/orgs/{holder.id}/sites/new", data={
        "name": "X", "kind": "production", "region_kato": "350000000", "address": "x",
        "lat": "10", "lon": "10"})
    assert r.status_code == 200 and "вне территории" in r.get_data(as_text=True)


def test_hazardous_stream_goes_to_passport_then_pdf(client, auth, site, owner):
    auth.login(owner.email)
    r = client.post(f"/registry/sites/{site.id}/streams/new", data={
        "waste_code": "10 02 07*", "name": "Пыль", "physical_state": "powder",
        "storage_purpose": "disposal", "hazard_properties": ["HP14", "HP6"]})
    stream = db.session.scalars(db.select(WasteStream).where(WasteStream.name == "Пыль")).one()
    assert r.location.endswith(f"/registry/streams/{stream.id}/passport")
    r = client.post(f"/registry/streams/{stream.id}/records", data={
        "kind": "generated", "quantity": "1", "event_date": "2026-03-01"})
    assert "паспорт" in r.get_data(as_text=True)
    r = client.post(f"/registry/streams/{stream.id}/passport", data={
        "composition": "Свинец 3 %, цинк 5 %; қорғасын", "hazard_properties": ["HP6", "HP14"],
        "handling": "Хранить в закрытых бункерах", "transport": "Герметичная тара",
        "emergency": "Изолировать, собрать сорбентом", "compiled_by": "Әлия Сәрсенова, эколог",
        "compiled_on": "2026-02-01"})
    assert r.status_code == 302
    assert client.get(f"/registry/streams/{stream.id}/passport/print").status_code == 200
    r = client.get(f"/registry/streams/{stream.id}/passport.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert r.data.startswith(b"%PDF")
    fonts = pdf_font_names(r.data)
    assert fonts and all("DejaVu-Sans" in f for f in fonts), fonts  # the packaged font, embedded
    assert "attachment" in r.headers["Content-Disposition"]


def test_correction_page(client, auth, stream, owner):
    r0 = record(stream, actor=owner, kind="generated", quantity="10", event_date=date(2026, 1, 1))
    auth.login(owner.email)
    r = client.post(f"/registry/records/{r0.id}/correct", data={
        "direction": "decrease", "quantity": "2", "event_date": "2026-01-01",
        "note": "Повторное взвешивание"})
    assert r.status_code == 302
    page = client.get(f"/registry/records/{r0.id}").get_data(as_text=True)
    assert "Повторное взвешивание" in page
    assert db.session.scalar(db.select(db.func.count(WasteRecord.id))) == 2


def test_official_overview_and_region_limit(client, auth, stream, owner, holder, create_official):
    record(stream, actor=owner, kind="generated", quantity="42", event_date=date(2026, 1, 1))
    official = create_official(regions=["350000000"])
    auth.login(official.email)
    assert holder.name in client.get("/official/registry/").get_data(as_text=True)
    for group in ("region", "chapter", "hazard"):
        assert client.get(f"/official/registry/stocks?group={group}").status_code == 200
    assert client.get(f"/registry/orgs/{holder.id}").status_code == 200
    auth.logout()
    other = create_official(regions=["550000000"])
    auth.login(other.email)
    assert client.get(f"/registry/orgs/{holder.id}").status_code == 403
    assert holder.name not in client.get("/official/registry/").get_data(as_text=True)


def test_outsider_cannot_see_registry(client, auth, holder, stream, create_user):
    auth.login(create_user().email)
    assert client.get(f"/registry/orgs/{holder.id}").status_code == 403
    assert client.get(f"/registry/streams/{stream.id}").status_code == 403
