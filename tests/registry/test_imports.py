"""Imports of the journal and the cadastre from CSV / XLSX: all rows or none, clear reports."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from market.cadastre.models import Formation
from market.core.errors import DomainError
from market.core.models import AuditEvent
from market.extensions import db
from market.registry import imports
from market.registry.imports import runner as import_job
from market.registry.journal import check_balances, record
from market.registry.models import ImportJob, WasteRecord, WasteStream

D = Decimal
JOURNAL_HEADER = ["stream_id", "kind", "quantity", "event_date", "operation_code", "counterparty",
                  "document", "note"]


def csv_file(rows, header=JOURNAL_HEADER, *, delimiter=",", bom=False) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    return (("\ufeff" if bom else "") + buf.getvalue()).encode("utf-8")


def xlsx_file(rows, header=JOURNAL_HEADER) -> bytes:
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(header)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture(autouse=True)
def upload_dir(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))
    return tmp_path / "uploads"


def upload(client, org, data: bytes, name: str, kind: str = "journal", **query):
    url = f"/registry/orgs/{org.id}/import"
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return client.post(url, data={"kind": kind, "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def last_job(org) -> ImportJob:
    return db.session.scalars(select(ImportJob).where(ImportJob.organization_id == org.id)
                              .order_by(ImportJob.id.desc())).first()


def records(stream) -> list[WasteRecord]:
    return db.session.scalars(select(WasteRecord).where(WasteRecord.stream_id == stream.id)
                              .order_by(WasteRecord.id)).all()


def test_good_csv_import(client, auth, holder, owner, stream):
    auth.login(owner.email)
    data = csv_file([
        [stream.id, "generated", "100", "2026-03-01", "", "", "Акт №1", ""],
        [stream.id, "Передача другой организации", "30,5", "02.03.2026", "", "ТОО Переработчик", "", ""],
        [stream.id, "processed", "10.25", "2026-03-03", "r5", "", "", "своими силами"],
        ["", "", "", "", "", "", "", ""],  # blank lines are skipped
    ], delimiter=";", bom=True)
    r = upload(client, holder, data, "журнал.csv")
    job = last_job(holder)
    assert r.status_code == 302 and r.location.endswith(f"/registry/imports/{job.id}")
    assert job.status == "done", job.errors
    assert (job.total_rows, job.processed_rows, job.imported_rows) == (3, 3, 3)
    assert job.filename == "журнал.csv" and job.locale == "ru" and job.finished_at
    recs = records(stream)
    assert [(r.kind, r.quantity, r.event_date) for r in recs] == [
        ("generated", D("100"), date(2026, 3, 1)), ("transferred_out", D("30.5"), date(2026, 3, 2)),
        ("processed", D("10.25"), date(2026, 3, 3))]
    assert all(r.source == "import" and r.import_id == job.id and r.entered_by_id == owner.id
               for r in recs)
    assert recs[1].counterparty == "ТОО Переработчик" and recs[2].operation_code == "R5"
    db.session.refresh(stream)
    assert stream.balance == D("59.250") and check_balances() == []
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "import.finished")).one()
    assert event.organization_id == holder.id and event.data["rows"] == 3
    page = client.get(r.location).get_data(as_text=True)
    assert "Импортировано записей: 3" in page and f"/registry/orgs/{holder.id}" in page
    assert 'hx-trigger' not in page


def test_good_xlsx_import_with_real_dates_and_site_and_code(client, auth, holder, owner, site, stream,
                                                             make_stream):
    other = make_stream(code="100202", name="Окалина")
    auth.login(owner.email)
    header = ["stream_id", "site", "waste_code", "kind", "quantity", "event_date", "operation_code"]
    data = xlsx_file([
        [stream.id, None, None, "generated", 12.5, datetime(2026, 2, 1), None],
        [None, site.name.upper(), "10 02 02", "Образование", 7, date(2026, 2, 2), None],
        [None, site.name, "100202", "disposed", "2,5", "03.02.2026", "D1"],
        [stream.id, None, None, "received", 0.125, "2026-02-04", None],
    ], header)
    upload(client, holder, data, "journal.XLSX")
    job = last_job(holder)
    assert job.status == "done", job.errors
    db.session.refresh(stream)
    db.session.refresh(other)
    assert stream.balance == D("12.625") and other.balance == D("4.5")
    assert [r.event_date for r in records(other)] == [date(2026, 2, 2), date(2026, 2, 3)]


def test_one_bad_row_rejects_the_whole_file(client, auth, holder, owner, stream):
    record(stream, actor=owner, kind="generated", quantity="5", event_date=date(2026, 1, 1))
    auth.login(owner.email)
    data = csv_file([
        [stream.id, "generated", "100", "2026-03-01", "", "", "", ""],
        [stream.id, "generated", "50", "2026-03-02", "", "", "", ""],
        [stream.id, "generated", "много", "2026-03-03", "", "", "", ""],
        [stream.id, "generated", "1", "2026-03-04", "", "", "", ""],
    ])
    upload(client, holder, data, "j.csv")
    job = last_job(holder)
    assert job.status == "failed" and job.imported_rows == 0
    assert job.errors == [{"row": 4, "column": "quantity",
                           "message": "Количество должно быть числом в тоннах, например 12,5."}]
    assert len(records(stream)) == 1
    db.session.refresh(stream)
    assert stream.balance == D("5")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "import.failed")).one()
    assert event.organization_id == holder.id
    page = client.get(f"/registry/imports/{job.id}").get_data(as_text=True)
    assert "Файл не импортирован" in page and "много" not in page and "quantity" in page


def test_errors_are_in_the_language_of_the_uploader(client, auth, holder, owner, stream):
    owner.locale = "kk"
    db.session.flush()
    auth.login(owner.email)
    data = csv_file([
        [stream.id, "generated", "1", "2026-03-01", "", "", "", ""],
        [stream.id, "generated", "", "2026-03-02", "", "", "", ""],
    ])
    upload(client, holder, data, "j.csv")
    job = last_job(holder)
    assert job.locale == "kk" and job.status == "failed"
    assert job.errors == [{"row": 3, "column": "quantity", "message": "Міндетті өріс."}]
    assert records(stream) == []


def test_balance_rules_apply_in_row_order(client, auth, holder, owner, stream):
    auth.login(owner.email)
    data = csv_file([
        [stream.id, "generated", "10", "2026-03-01", "", "", "", ""],
        [stream.id, "transferred_out", "4", "2026-03-02", "", "", "", ""],
        [stream.id, "transferred_out", "7", "2026-03-03", "", "", "", ""],  # 6 t left
        [stream.id, "generated", "100", "2026-03-04", "", "", "", ""],
        [stream.id, "transferred_out", "7", "2026-03-05", "", "", "", ""],  # fine after row 5
    ])
    upload(client, holder, data, "j.csv")
    job = last_job(holder)
    assert job.status == "failed"
    assert [(e["row"], e["column"]) for e in job.errors] == [(4, "quantity")]
    assert "отрицательным" in job.errors[0]["message"] and "6,000" in job.errors[0]["message"]
    assert records(stream) == []


def test_the_reserve_of_open_lots_is_kept_with_the_journals_own_message(client, auth, holder, owner,
                                                                      stream):
    record(stream, actor=owner, kind="generated", quantity="10", event_date=date(2026, 1, 1))
    stream.reserved = D("6")  # as open lots hold it
    db.session.flush()
    auth.login(owner.email)
    upload(client, holder, csv_file([[stream.id, "transferred_out", "3", "2026-03-01"],
                                     [stream.id, "transferred_out", "2", "2026-03-02"]],
                                    JOURNAL_HEADER[:4]), "j.csv")
    job = last_job(holder)
    assert job.status == "failed" and [(e["row"], e["column"]) for e in job.errors] == [(3, "quantity")]
    assert "7,000" in job.errors[0]["message"] and "6,000" in job.errors[0]["message"]
    # word for word what the journal itself says in the same state
    record(stream, actor=owner, kind="transferred_out", quantity="3", event_date=date(2026, 3, 1))
    with pytest.raises(DomainError) as refused:
        record(stream, actor=owner, kind="transferred_out", quantity="2", event_date=date(2026, 3, 2))
    assert job.errors[0]["message"] == str(refused.value)


def test_every_bad_row_is_reported_with_its_column(client, auth, holder, owner, stream,
                                                   hazardous_stream, make_stream):
    no_passport = make_stream(code="100207", hps=["HP14"], name="Без паспорта")
    auth.login(owner.email)
    data = csv_file([
        ["abc", "generated", "1", "2026-03-01", "", "", "", ""],
        [999999, "generated", "1", "2026-03-01", "", "", "", ""],
        [stream.id, "сожжено", "1", "2026-03-01", "", "", "", ""],
        [stream.id, "correction", "1", "2026-03-01", "", "", "", ""],
        [stream.id, "generated", "1,0001", "2026-03-01", "", "", "", ""],
        [stream.id, "generated", "-3", "2026-03-01", "", "", "", ""],
        [stream.id, "generated", "1", "31.02.2026", "", "", "", ""],
        [stream.id, "generated", "1", "2999-01-01", "", "", "", ""],
        [stream.id, "generated", "1", "2026-03-01", "R5", "", "", ""],
        [stream.id, "generated", "5", "2026-03-01", "", "", "", ""],
        [stream.id, "processed", "1", "2026-03-01", "D1", "", "", ""],
        [stream.id, "disposed", "1", "2026-03-01", "", "", "", ""],
        [stream.id, "generated", "1", "2026-03-01", "", "x" * 301, "", ""],
        [no_passport.id, "generated", "1", "2026-03-01", "", "", "", ""],
        [hazardous_stream.id, "generated", "1", "2026-03-01", "", "", "", ""],
    ])
    upload(client, holder, data, "j.csv")
    job = last_job(holder)
    assert job.status == "failed"
    got = [(e["row"], e["column"]) for e in job.errors]
    assert got == [(2, "stream_id"), (3, "stream_id"), (4, "kind"), (5, "kind"), (6, "quantity"),
                   (7, "quantity"), (8, "event_date"), (9, "event_date"), (10, "operation_code"),
                   (12, "operation_code"), (13, "operation_code"), (14, "counterparty"),
                   (15, "stream_id")]
    messages = {e["row"]: e["message"] for e in job.errors}
    assert "999999" in messages[3] and "generated" in messages[4]
    assert "паспорт" in messages[15]
    assert db.session.scalar(select(func.count(WasteRecord.id))) == 0


def test_a_refusal_in_the_write_pass_rolls_everything_back(client, auth, holder, owner, stream,
                                                           monkeypatch):
    """The balance changes between the check and the write: the journal itself refuses."""
    record(stream, actor=owner, kind="generated", quantity="10", event_date=date(2026, 1, 1))
    original = imports.JournalImport.prepare_write

    def meanwhile(self, items):
        s = db.session.get(WasteStream, stream.id)
        record(s, actor=db.session.get(type(owner), owner.id), kind="transferred_out", quantity="8",
               event_date=date(2026, 1, 2))
        original(self, items)

    monkeypatch.setattr(imports.JournalImport, "prepare_write", meanwhile)
    monkeypatch.setattr(import_job, "CHUNK", 2)
    auth.login(owner.email)
    data = csv_file([
        [stream.id, "generated", "1", "2026-03-01", "", "", "", ""],
        [stream.id, "generated", "1", "2026-03-01", "", "", "", ""],
        [stream.id, "transferred_out", "5", "2026-03-02", "", "", "", ""],
        [stream.id, "transferred_out", "1", "2026-03-03", "", "", "", ""],
    ])
    upload(client, holder, data, "j.csv")
    job = last_job(holder)
    assert job.status == "failed"
    assert [(e["row"], e["column"]) for e in job.errors] == [(4, "quantity")]
    assert "4,000" in job.errors[0]["message"]
    assert len(records(stream)) == 1  # the concurrent record was rolled back with the import too
    db.session.refresh(stream)
    assert stream.balance == D("10") and check_balances() == []


@pytest.mark.parametrize(("name", "content", "message"), [
    ("notes.txt", b"stream_id,kind\n1,generated\n", "Загрузите файл CSV или XLSX"),
    ("old.xls", b"\xd0\xcf\x11\xe0 garbage", "XLS (Excel 97"),
    ("j.xlsx", b"this is not a workbook", "Это не файл XLSX"),
    ("j.csv", "stream_id,kind,quantity,event_date\n1,Образование,1,2026-01-01\n".encode("cp1251"),
     "UTF-8"),
    ("j.csv", b"PK\x03\x04 zipped", "Это файл Excel, а не CSV"),
    ("j.csv", b"", "Файл пуст"),
    ("j.csv", b"stream_id,kind,quantity,event_date\n", "только заголовок"),
    ("j.csv", b"stream,kind,quantity,event_date\n1,generated,1,2026-01-01\n", "Неизвестные столбцы: stream"),
    ("j.csv", b"stream_id,kind,event_date\n1,generated,2026-01-01\n", "Нет обязательных столбцов: quantity"),
    ("j.csv", b"\x00\x01\x02garbage\xff\xfe", "UTF-8"),
])
def test_unreadable_files_are_refused_and_nothing_is_saved(client, auth, holder, owner, upload_dir,
                                                           name, content, message):
    auth.login(owner.email)
    r = upload(client, holder, content, name)
    assert r.status_code == 422
    assert message in r.get_data(as_text=True)
    assert last_job(holder) is None
    assert not upload_dir.exists() or not any(p.is_file() for p in upload_dir.rglob("*"))


def test_a_broken_zip_named_xlsx_is_refused(client, auth, holder, owner):
    auth.login(owner.email)
    buf = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    r = upload(client, holder, buf.getvalue(), "j.xlsx")
    assert r.status_code == 422 and "XLSX не читается" in r.get_data(as_text=True)


def test_a_file_over_the_size_limit_is_refused_with_a_message(app, client, auth, holder, owner,
                                                              monkeypatch):
    # (kept under 500 KB: bigger bodies make the test client spool to a file it does not close)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 200 * 1024)
    auth.login(owner.email)
    r = upload(client, holder, b"x" * (300 * 1024), "big.csv")
    assert r.status_code == 413
    assert "Файл больше 0,2 МБ" in r.get_data(as_text=True)
    assert last_job(holder) is None


def test_too_many_rows(app, client, auth, holder, owner, stream, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 3)
    auth.login(owner.email)
    upload(client, holder, csv_file([[stream.id, "generated", "1", "2026-03-01"]] * 4,
                                    JOURNAL_HEADER[:4]), "j.csv")
    job = last_job(holder)
    assert job.status == "failed" and job.errors[0]["row"] is None
    assert "больше 3 строк" in job.errors[0]["message"]


def test_who_may_import(client, auth, holder, owner, stream, create_user, add_member, create_org):
    data = csv_file([[stream.id, "generated", "1", "2026-03-01"]], JOURNAL_HEADER[:4])
    viewer, member, outsider = create_user(), create_user(), create_user()
    add_member(holder, viewer, "viewer")
    add_member(holder, member, "member")
    create_org(owner=outsider)
    assert client.get(f"/registry/orgs/{holder.id}/import").status_code == 302  # login first
    for user, status in ((viewer, 403), (outsider, 403)):
        auth.login(user.email)
        assert client.get(f"/registry/orgs/{holder.id}/import").status_code == status
        assert upload(client, holder, data, "j.csv").status_code == status
        auth.logout()
    assert last_job(holder) is None
    holder.state = "pending"  # verification is not needed to keep the registry
    db.session.flush()
    auth.login(member.email)
    page = client.get(f"/registry/orgs/{holder.id}/import")
    assert page.status_code == 200 and f">{stream.id}<" in page.get_data(as_text=True)
    assert upload(client, holder, data, "j.csv").status_code == 302
    job = last_job(holder)
    assert job.status == "done" and job.created_by_id == member.id
    auth.logout()
    auth.login(outsider.email)
    assert client.get(f"/registry/imports/{job.id}").status_code == 403
    assert client.get(f"/registry/imports/{job.id}/progress").status_code == 403
    assert client.get("/registry/imports/999999").status_code == 404


def test_the_uploader_who_lost_the_right_gets_nothing_imported(client, auth, holder, owner, stream,
                                                               monkeypatch):
    from market.accounts.models import Membership

    auth.login(owner.email)
    real = import_job.process_import

    def demoted(job_id, **kw):
        m = db.session.scalars(select(Membership).where(Membership.user_id == owner.id)).one()
        m.role = "viewer"
        db.session.flush()
        return real(job_id, **kw)

    monkeypatch.setattr(import_job, "process_import", demoted)
    upload(client, holder, csv_file([[stream.id, "generated", "1", "2026-03-01"]], JOURNAL_HEADER[:4]),
           "j.csv")
    job = last_job(holder)
    assert job.status == "failed" and job.errors[0]["row"] is None
    assert "не наблюдатели" in job.errors[0]["message"] and records(stream) == []


def test_progress_block(client, auth, holder, owner, upload_dir):
    job = ImportJob(organization_id=holder.id, kind="journal", filename="j.csv",
                    stored_path="imports/x.csv", status="running", total_rows=1000,
                    processed_rows=500, created_by_id=owner.id)
    db.session.add(job)
    db.session.flush()
    auth.login(owner.email)
    url = f"/registry/imports/{job.id}/progress"
    html = client.get(url).get_data(as_text=True)
    assert f'hx-get="{url}"' in html and 'hx-trigger="every 1s"' in html
    assert 'aria-valuenow="50"' in html and "500 из 1000" in html
    page = client.get(f"/registry/imports/{job.id}").get_data(as_text=True)
    assert "htmx.min.js" in page and 'hx-trigger="every 1s"' in page

    job.processed_rows = 1000
    db.session.flush()
    html = client.get(url).get_data(as_text=True)
    assert "идёт запись" in html and "hx-trigger" in html
    job.imported_rows = 250
    db.session.flush()
    assert 'aria-valuenow="25"' in client.get(url).get_data(as_text=True)

    job.status, job.imported_rows = "done", 1000
    db.session.flush()
    html = client.get(url).get_data(as_text=True)
    assert "hx-trigger" not in html and "Импортировано записей: 1000" in html

    job.status, job.imported_rows = "failed", 0
    job.errors = [{"row": 7, "column": "event_date", "message": "Дата события не может быть в будущем."}]
    db.session.flush()
    html = client.get(url).get_data(as_text=True)
    assert "hx-trigger" not in html and "event_date" in html and "в будущем" in html

    job.status, job.total_rows, job.processed_rows = "queued", 0, 0
    db.session.flush()
    assert "в очереди" in client.get(url).get_data(as_text=True)


@pytest.mark.parametrize("kind", ["journal", "formations"])
def test_templates_download_and_import_as_they_are(client, auth, holder, owner, stream, kind):
    auth.login(owner.email)
    r = client.get(f"/registry/orgs/{holder.id}/import/template.csv?kind={kind}")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    text = r.data.decode("utf-8")
    assert text.startswith("\ufeff")
    header, example = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    assert header == (list(imports.FORMATION_COLUMNS) if kind == "formations" else JOURNAL_HEADER)
    assert len(example) == len(header)

    r = client.get(f"/registry/orgs/{holder.id}/import/template.xlsx?kind={kind}")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    book = openpyxl.load_workbook(io.BytesIO(r.data))
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert list(rows[0]) == header and len(rows) == 2
    help_rows = list(book.worksheets[1].iter_rows(values_only=True))
    assert {row[0] for row in help_rows[1:]} >= set(header)

    # the filled-in example imports as it is, from both formats
    upload(client, holder, text.encode("utf-8"), f"{kind}.csv", kind=kind)
    assert last_job(holder).status == "done", last_job(holder).errors
    upload(client, holder, r.data, f"{kind}.xlsx", kind=kind)
    assert last_job(holder).status == "done", last_job(holder).errors
    assert client.get(f"/registry/orgs/{holder.id}/import/template.csv?kind=x").status_code == 404


FORMATION_HEADER = ["name", "kind", "region_kato", "lat", "lon", "state_owned", "area_ha", "tonnage",
                    "year_formed", "status", "hazard_class", "waste_code"]


def test_formations_import(client, auth, holder, owner):
    auth.login(owner.email)
    data = csv_file([
        ["Хвостохранилище №2", "tailings", "350000000", "46,85", "74.98", "нет", "12,5", "250000",
         "1985", "", "4", "10 02 01"],
        ["Шлакоотвал", "Шлакоотвал", "350000000", "46.9", "75.0", "", "", "", "", "conserved", "", ""],
    ], FORMATION_HEADER, delimiter=";")
    upload(client, holder, data, "tmo.csv", kind="formations")
    job = last_job(holder)
    assert job.status == "done", job.errors
    got = db.session.scalars(select(Formation).where(Formation.organization_id == holder.id)
                             .order_by(Formation.id)).all()
    assert [(f.name, f.kind, f.status) for f in got] == [
        ("Хвостохранилище №2", "tailings", "active"), ("Шлакоотвал", "slag_heap", "conserved")]
    assert got[0].area_ha == D("12.50") and got[0].year_formed == 1985 and got[0].hazard_class == 4
    assert got[0].waste_code == "100201" and got[0].state_owned is False
    page = client.get(f"/registry/imports/{job.id}").get_data(as_text=True)
    assert "Импортировано объектов ТМО: 2" in page


def test_formations_import_rejected_whole_with_columns(client, auth, holder, owner):
    auth.login(owner.email)
    data = xlsx_file([
        ["Хорошая", "tailings", 350000000, 46.85, 74.98, None, None, None, None, None, None, None],
        ["За границей", "tailings", 350000000, 10.0, 10.0, None, None, None, None, None, None, None],
        ["Гос", "ash_dump", 350000000, 46.85, 74.98, "да", None, None, None, None, None, None],
        ["Класс", "ash_dump", 350000000, 46.85, 74.98, "может быть", None, None, None, None, 9, None],
        ["", "ash_dump", 350000000, 46.85, 74.98, None, None, None, 1850.0, None, None, "99 99 99"],
    ], FORMATION_HEADER)
    upload(client, holder, data, "tmo.xlsx", kind="formations")
    job = last_job(holder)
    assert job.status == "failed"
    got = [(e["row"], e["column"]) for e in job.errors]
    assert got == [(3, "lat"), (4, "state_owned"), (5, "state_owned"), (6, "name")], job.errors
    assert db.session.scalar(select(func.count(Formation.id))) == 0


def test_progress_is_committed_from_a_separate_connection(committed_app, monkeypatch, tmp_path):
    """Real commits: the bar moves while the import runs, on SQLite and PostgreSQL alike."""
    from sqlalchemy import text

    from market.accounts.models import Membership, Organization, User
    from market.core.txn import commit
    from market.registry import operations as ops
    from tests.conftest import is_postgres
    from tests.factories import valid_bin

    app = committed_app
    app.config["UPLOAD_DIR"] = str(tmp_path)
    monkeypatch.setattr(import_job, "PROGRESS_EVERY", 2)
    monkeypatch.setattr(import_job, "CHUNK", 2)
    seen = []
    real_write = imports.Progress.write

    def watched(self, **kw):
        real_write(self, **kw)
        with db.engine.connect() as conn:  # what another request would see now
            seen.append(tuple(conn.execute(text(
                "SELECT status, total_rows, processed_rows, imported_rows FROM import_job "
                "WHERE id = :id"), {"id": self.job_id}).one()))

    monkeypatch.setattr(imports.Progress, "write", watched)
    with app.app_context():
        user = User(email="imp@example.kz", full_name="I", password_hash="x")
        org = Organization(bin=valid_bin(4242), name="ТОО Импорт", region_kato="350000000",
                           address="x", state="verified")
        org.kinds = ["holder"]
        db.session.add_all([user, org])
        db.session.flush()
        db.session.add(Membership(user=user, organization=org, role="owner"))
        db.session.flush()
        db.session.refresh(user)
        site = ops.create_site(org, actor=user, name="S", kind="storage", region_kato="350000000",
                               address="x")
        stream = ops.create_stream(site, actor=user, waste_code="100201", name="Шлак",
                                   physical_state="solid", storage_purpose="recovery")
        path = Path(tmp_path, "imports", "j.csv")
        path.parent.mkdir(parents=True)
        path.write_bytes(csv_file([[stream.id, "generated", "1", "2026-03-01"]] * 5, JOURNAL_HEADER[:4]))
        job = ImportJob(organization_id=org.id, kind="journal", filename="j.csv",
                        stored_path="imports/j.csv", created_by_id=user.id)
        db.session.add(job)
        commit()
        job_id, stream_id = job.id, stream.id

    with app.app_context():
        assert imports.process_import(job_id, live_progress=True) == "done"
        commit()
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        assert (job.status, job.total_rows, job.processed_rows, job.imported_rows) == ("done", 5, 5, 5)
        assert db.session.get(WasteStream, stream_id).balance == D("5")
    assert seen[0] == ("running", 5, 0, 0)
    assert ("running", 5, 2, 0) in seen and ("running", 5, 4, 0) in seen
    assert ("running", 5, 5, 0) in seen  # all rows checked: the writing begins
    if is_postgres():  # the write pass reports its progress too
        assert ("running", 5, 5, 2) in seen and ("running", 5, 5, 4) in seen
