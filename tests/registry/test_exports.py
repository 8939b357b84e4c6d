"""Exports of the registry (CSV for Excel, XLSX) and of the officials' lists, with permissions."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import openpyxl
import pytest

from market.cadastre.operations import create_formation
from market.extensions import db
from market.registry.journal import record

D = Decimal


def parse_csv(response) -> list[dict]:
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeff")  # Excel opens Cyrillic UTF-8 correctly only with a BOM
    return list(csv.DictReader(io.StringIO(text[1:]), delimiter=";"))


def read_xlsx(response) -> list[dict]:
    assert response.status_code == 200, response.status_code
    assert response.mimetype.endswith("spreadsheetml.sheet")
    ws = openpyxl.load_workbook(io.BytesIO(response.data)).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


@pytest.fixture
def journal(stream, owner, make_stream):
    other = make_stream(code="100202", name="Окалина")
    record(stream, actor=owner, kind="generated", quantity="100", event_date=date(2026, 1, 10),
           document="Акт №1")
    record(stream, actor=owner, kind="transferred_out", quantity="30,5", event_date=date(2026, 2, 10),
           counterparty="ТОО «Вторчермет»")
    record(other, actor=owner, kind="generated", quantity="7", event_date=date(2026, 2, 15),
           note="=HYPERLINK(\"http://evil\")")
    record(stream, actor=owner, kind="processed", quantity="1,25", event_date=date(2026, 3, 10),
           operation_code="R4")
    return stream, other


def url(org, what, fmt="csv", **query):
    q = "&".join(f"{k}={v}" for k, v in query.items())
    return f"/registry/orgs/{org.id}/export/{what}.{fmt}" + (f"?{q}" if q else "")


def test_streams_export(client, auth, holder, owner, journal):
    stream, other = journal
    auth.login(owner.email)
    rows = parse_csv(client.get(url(holder, "streams")))
    by_id = {int(r["id"]): r for r in rows}
    assert by_id[stream.id]["balance_t"] == "68,250" and by_id[stream.id]["name"] == "Шлак"
    assert by_id[other.id]["waste_code"] == "10 02 02" and by_id[other.id]["balance_t"] == "7,000"
    assert by_id[stream.id]["storage_purpose"] == "recovery"
    assert by_id[stream.id]["oldest_stock_date"] == "2026-01-10" and by_id[stream.id]["passport"] == "0"
    xrows = read_xlsx(client.get(url(holder, "streams", "xlsx")))
    assert {r["id"]: r["balance_t"] for r in xrows} == {stream.id: 68.25, other.id: 7}


def test_sites_export(client, auth, holder, owner, site, journal):
    auth.login(owner.email)
    (row,) = parse_csv(client.get(url(holder, "sites")))
    assert row["name"] == site.name and row["region_kato"] == "350000000" and row["streams"] == "2"
    assert row["balance_t"] == "75,250" and row["lat"] == "46,85" and row["kind"] == "storage"
    (xrow,) = read_xlsx(client.get(url(holder, "sites", "xlsx")))
    assert xrow["lat"] == 46.85 and xrow["name"] == site.name


def test_journal_export_and_its_filters(client, auth, holder, owner, journal):
    stream, other = journal
    auth.login(owner.email)
    rows = parse_csv(client.get(url(holder, "journal")))
    assert [r["kind"] for r in rows] == ["generated", "transferred_out", "generated", "processed"]
    assert rows[0]["kind_label"] == "Образование" and rows[0]["document"] == "Акт №1"
    assert rows[1]["quantity"] == "30,500" and rows[1]["delta"] == "-30,500"
    assert rows[1]["balance_after"] == "69,500" and rows[1]["counterparty"] == "ТОО «Вторчермет»"
    assert rows[3]["operation_code"] == "R4" and rows[0]["source"] == "form"
    assert rows[0]["entered_by"] == owner.full_name and rows[0]["site"] == "Шлакоотвал №1"

    period = parse_csv(client.get(url(holder, "journal", **{"from": "2026-02-01", "to": "28.02.2026"})))
    assert [r["event_date"] for r in period] == ["2026-02-10", "2026-02-15"]
    one = parse_csv(client.get(url(holder, "journal", stream=stream.id, **{"from": "2026-02-01"})))
    assert [r["event_date"] for r in one] == ["2026-02-10", "2026-03-10"]

    xrows = read_xlsx(client.get(url(holder, "journal", "xlsx", stream=other.id)))
    assert len(xrows) == 1 and xrows[0]["quantity"] == 7
    assert xrows[0]["event_date"].date() == date(2026, 2, 15)

    assert client.get(url(holder, "journal", **{"from": "вчера"})).status_code == 400
    assert client.get(url(holder, "journal", stream=999999)).status_code == 404
    assert client.get(url(holder, "ledger")).status_code == 404
    assert client.get(url(holder, "journal", "pdf")).status_code == 404


def test_text_that_excel_would_run_is_neutralised(client, auth, holder, owner, journal):
    auth.login(owner.email)
    rows = parse_csv(client.get(url(holder, "journal")))
    assert rows[2]["note"] == "'=HYPERLINK(\"http://evil\")"
    r = client.get(url(holder, "journal", "xlsx"))
    ws = openpyxl.load_workbook(io.BytesIO(r.data)).worksheets[0]
    header = [c.value for c in ws[1]]
    cell = ws.cell(row=4, column=header.index("note") + 1)
    assert cell.value == "=HYPERLINK(\"http://evil\")" and cell.data_type == "s"


def test_formations_export(client, auth, holder, owner):
    create_formation(holder, actor=owner, name="Хвостохранилище №3", kind="tailings",
                     region_kato="350000000", lat=46.85, lon=74.98, area_ha="12,5", tonnage="1000",
                     year_formed=1990, hazard_class=3, waste_code="100201")
    auth.login(owner.email)
    (row,) = parse_csv(client.get(url(holder, "formations")))
    assert row["name"] == "Хвостохранилище №3" and row["kind_label"] == "Хвостохранилище"
    assert row["area_ha"] == "12,50" and row["waste_code"] == "10 02 01" and row["state_owned"] == "0"
    (xrow,) = read_xlsx(client.get(url(holder, "formations", "xlsx")))
    assert xrow["year_formed"] == 1990 and xrow["hazard_class"] == 3 and xrow["status"] == "active"


def test_exports_follow_the_language(client, auth, holder, owner, journal):
    owner.locale = "en"
    db.session.flush()
    auth.login(owner.email)
    rows = parse_csv(client.get(url(holder, "sites")))
    assert rows[0]["region"] == "Karaganda Region"


@pytest.mark.parametrize("what", ["streams", "sites", "journal", "formations"])
def test_who_may_export(client, auth, holder, journal, create_user, add_member, create_org,
                        create_official, what):
    viewer, outsider = create_user(), create_user()
    add_member(holder, viewer, "viewer")
    create_org(owner=outsider)
    local, remote = create_official(regions=("350000000",)), create_official(regions=("750000000",))
    admin = create_user(is_admin=True)
    r = client.get(url(holder, what))
    assert r.status_code == 302 and "/login" in r.location
    for user, status in ((viewer, 200), (outsider, 403), (local, 200), (remote, 403), (admin, 200)):
        auth.login(user.email)
        for fmt in ("csv", "xlsx"):
            assert client.get(url(holder, what, fmt)).status_code == status, (user, fmt)
        auth.logout()


@pytest.fixture
def flagged(journal, holder, create_org, make_stream):
    stream, _other = journal
    stream.must_offer_since = date(2026, 6, 1)
    db.session.flush()
    return stream


def official_url(what, fmt="csv", **query):
    q = "&".join(f"{k}={v}" for k, v in query.items())
    return f"/official/registry/export/{what}.{fmt}" + (f"?{q}" if q else "")


def test_official_exports(client, auth, holder, flagged, create_org, create_official):
    elsewhere = create_org(region="750000000", name="ТОО Алматинское")
    official = create_official(regions=("350000000",))
    auth.login(official.email)

    rows = parse_csv(client.get(official_url("organizations")))
    by_id = {int(r["id"]): r for r in rows}
    assert holder.id in by_id and elsewhere.id not in by_id  # the official's region only
    assert by_id[holder.id]["balance_t"] == "75,250" and by_id[holder.id]["flagged_streams"] == "1"
    assert by_id[holder.id]["streams"] == "2" and by_id[holder.id]["bin"] == holder.bin
    found = parse_csv(client.get(official_url("organizations", q=holder.bin)))
    assert [int(r["id"]) for r in found] == [holder.id]

    stocks = parse_csv(client.get(official_url("stocks")))
    assert [(r["key"], r["balance_t"]) for r in stocks] == [("350000000", "75,250")]
    chapters = read_xlsx(client.get(official_url("stocks", "xlsx", group="chapter")))
    assert [(r["key"], r["balance_t"]) for r in chapters] == [("10", 75.25)]
    hazard = parse_csv(client.get(official_url("stocks", group="hazard")))
    assert [r["name"] for r in hazard] == ["неопасные"]

    (row,) = parse_csv(client.get(official_url("compliance")))
    assert int(row["stream_id"]) == flagged.id and row["must_offer_since"] == "2026-06-01"
    assert row["deadline"] == "2029-01-10" and row["organization"] == holder.name
    assert len(read_xlsx(client.get(official_url("compliance", "xlsx")))) == 1


def test_who_may_export_the_officials_lists(client, auth, holder, owner, flagged, create_official,
                                            create_user):
    remote = create_official(regions=("750000000",))
    admin = create_user(is_admin=True)
    r = client.get(official_url("organizations"))
    assert r.status_code == 302 and "/login" in r.location
    auth.login(owner.email)
    for what in ("organizations", "stocks", "compliance"):
        assert client.get(official_url(what)).status_code == 403
    auth.logout()
    auth.login(remote.email)
    assert parse_csv(client.get(official_url("compliance"))) == []
    auth.logout()
    auth.login(admin.email)
    assert len(parse_csv(client.get(official_url("compliance")))) == 1
    assert client.get(official_url("lots")).status_code == 404
