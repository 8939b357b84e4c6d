"""Documents and photos of lots: content checks, limits, storage, serving headers, history."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from datetime import date
from urllib.parse import quote

import pytest
from PIL import Image
from sqlalchemy import select

from market.core.errors import DomainError, PermissionDenied
from market.core.models import AuditEvent
from market.core.storage import LocalStorage, check_key, get_storage, new_key
from market.core.txn import commit, rollback
from market.extensions import db
from market.lots.files import add_file, clean_filename, remove_file
from market.lots.models import LotEvent, LotFile
from market.lots.operations import create_lot, publish_lot
from market.registry.journal import record

PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
       b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg">'
       b"<script>alert(1)</script></svg>")


def image_bytes(fmt: str = "PNG", size=(48, 32)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (31, 95, 74)).save(out, fmt)
    return out.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG that only claims its size (the decompression-bomb shape)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


@pytest.fixture
def uploads(app, tmp_path, monkeypatch):
    """Files of this test go to a folder of its own."""
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))
    return tmp_path / "uploads"


@pytest.fixture
def lot(holder, owner, make_stream, uploads):
    stream = make_stream()
    record(stream, actor=owner, kind="generated", quantity="100", event_date=date(2026, 1, 1))
    return create_lot(holder, actor=owner, stream=stream, title="Шлак медный", quantity="60",
                      pricing_mode="fixed", price=500_000)


def add(lot, actor, data: bytes, name: str, kind: str = "document") -> LotFile:
    return add_file(lot, actor=actor, kind=kind, filename=name, stream=io.BytesIO(data))


def stored(row: LotFile) -> bool:
    return get_storage().exists(row.storage_key)


def fetch(client, url: str, **kwargs):
    """GET a file; buffered, so that the stored file is closed as a WSGI server would."""
    return client.get(url, buffered=True, **kwargs)


# storage ------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["../etc/passwd", "lots/../../x", "/abs/path", "lots//x", "Lots/x",
                                 "lots/x.pdf", "", "lots/x/", "lots\\x", "lots/%2e%2e"])
def test_storage_refuses_keys_it_did_not_make(key, tmp_path):
    with pytest.raises(ValueError):
        check_key(key)
    with pytest.raises(ValueError):
        LocalStorage(tmp_path).save(key, io.BytesIO(b"x"))
    assert not any(tmp_path.iterdir())


def test_local_storage_round_trip(tmp_path):
    storage = LocalStorage(tmp_path)
    key = new_key("lots/1/photo")
    assert key.startswith("lots/1/photo/") and len(key.rsplit("/", 1)[1]) == 32
    assert not storage.exists(key)
    storage.save(key, io.BytesIO(b"bytes"))
    assert storage.exists(key) and (tmp_path / key).read_bytes() == b"bytes"
    with storage.open(key) as f:
        assert f.read() == b"bytes"
    with pytest.raises(FileExistsError):  # a key is written once
        storage.save(key, io.BytesIO(b"other"))
    assert (tmp_path / key).read_bytes() == b"bytes"
    storage.delete(key)
    storage.delete(key)  # already gone: no error
    assert not storage.exists(key)
    with pytest.raises(FileNotFoundError):
        storage.open(key)


class MemoryStorage:
    def __init__(self, app):
        self.files = {}

    def save(self, key, fileobj):
        self.files[key] = fileobj.read()

    def open(self, key):
        return io.BytesIO(self.files[key])

    def delete(self, key):
        self.files.pop(key, None)

    def exists(self, key):
        return key in self.files


def test_storage_backend_plugs_in_by_setting(app, monkeypatch):
    monkeypatch.setitem(app.config, "STORAGE_BACKEND", "tests.lots.test_files:MemoryStorage")
    monkeypatch.setitem(app.extensions, "qaldyq_storage", {})
    storage = get_storage()
    assert isinstance(storage, MemoryStorage) and get_storage() is storage
    monkeypatch.setitem(app.config, "STORAGE_BACKEND", "local")
    assert isinstance(get_storage(), LocalStorage)


# accepted and refused -----------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "data", "name", "content_type", "shown"), [
    ("document", PDF, "Анализ шлака №1.pdf", "application/pdf", "Анализ шлака №1.pdf"),
    ("document", PDF, "passport", "application/pdf", "passport.pdf"),
    ("photo", image_bytes("JPEG"), "IMG_0042.JPG", "image/jpeg", "IMG_0042.JPG"),
    ("photo", image_bytes("PNG"), "отвал.png", "image/png", "отвал.png"),
    ("photo", image_bytes("WEBP"), "shlak.webp", "image/webp", "shlak.webp"),
    ("photo", image_bytes("PNG"), "снимок.jpg", "image/png", "снимок.jpg.png"),  # the content decides
])
def test_accepted_files(lot, owner, kind, data, name, content_type, shown):
    row = add(lot, owner, data, name, kind)
    assert (row.kind, row.content_type, row.filename, row.size) == (kind, content_type, shown, len(data))
    assert row.sha256 == hashlib.sha256(data).hexdigest()
    assert row.storage_key.startswith(f"lots/{lot.id}/{kind}/") and name not in row.storage_key
    with get_storage().open(row.storage_key) as f:
        assert f.read() == data


@pytest.mark.parametrize(("kind", "data", "name", "message"), [
    ("document", HTML, "analysis.pdf", "не PDF, а HTML"),
    ("document", b"MZ\x90\x00\x03" + b"\0" * 100, "report.pdf", "Файл не является PDF"),
    ("document", image_bytes("PNG"), "scan.pdf", "Файл не является PDF"),
    ("photo", SVG, "photo.svg", "SVG, HTML"),
    ("photo", HTML, "photo.jpg", "SVG, HTML"),
    ("photo", PDF, "photo.png", "загрузите его как документ"),
    ("photo", b"GIF89a" + b"\0" * 40, "anim.gif", "только в форматах JPEG, PNG или WebP"),
    ("photo", image_bytes("PNG", (400, 300))[:200], "cut.png", "повреждено или обрезано"),
    ("photo", image_bytes("JPEG", (400, 300))[:300], "cut.jpg", "повреждено или обрезано"),
    ("photo", png_header(30000, 30000), "bomb.png", "не более 40 мегапикселей"),
    ("photo", png_header(8000, 6000), "huge.png", "не более 40 мегапикселей"),
    ("document", b"", "empty.pdf", "Файл пустой"),
])
def test_refused_files(lot, owner, uploads, kind, data, name, message):
    with pytest.raises(DomainError) as exc:
        add(lot, owner, data, name, kind)
    assert message in str(exc.value)
    assert db.session.scalar(select(LotFile.id).where(LotFile.lot_id == lot.id)) is None
    assert not uploads.exists() or not any(p.is_file() for p in uploads.rglob("*"))


def test_size_limits_per_kind(app, lot, owner, monkeypatch):
    monkeypatch.setitem(app.config, "LOT_DOCUMENT_MAX_BYTES", len(PDF) - 1)
    with pytest.raises(DomainError, match="Документ больше"):
        add(lot, owner, PDF, "a.pdf")
    photo = image_bytes("PNG")
    monkeypatch.setitem(app.config, "LOT_PHOTO_MAX_BYTES", len(photo) - 1)
    with pytest.raises(DomainError, match="Фотография больше"):
        add(lot, owner, photo, "a.png", "photo")
    monkeypatch.setitem(app.config, "LOT_PHOTO_MAX_BYTES", len(photo))
    assert add(lot, owner, photo, "a.png", "photo").size == len(photo)


def test_the_same_file_twice(lot, owner):
    add(lot, owner, PDF, "a.pdf")
    with pytest.raises(DomainError, match="уже есть у лота"):
        add(lot, owner, PDF, "копия.pdf")


def test_too_many_files(app, lot, owner, monkeypatch):
    monkeypatch.setitem(app.config, "LOT_MAX_FILES", 2)
    add(lot, owner, PDF, "1.pdf")
    add(lot, owner, image_bytes(), "2.png", "photo")
    with pytest.raises(DomainError, match="уже 2 файлов"):
        add(lot, owner, PDF, "3.pdf")


def test_only_managers_of_open_lots(lot, owner, holder, add_member, create_user):
    member = create_user()
    add_member(holder, member, "member")
    with pytest.raises(PermissionDenied):
        add(lot, member, PDF, "a.pdf")
    with pytest.raises(PermissionDenied):
        add(lot, create_user(), PDF, "a.pdf")
    manager = create_user()
    add_member(holder, manager, "manager")
    row = add(lot, manager, PDF, "a.pdf")
    with pytest.raises(PermissionDenied):
        remove_file(row, actor=member)
    lot.state = "withdrawn"
    with pytest.raises(DomainError, match="только у черновика или опубликованного"):
        add(lot, owner, PDF, "b.pdf")
    with pytest.raises(DomainError, match="только у черновика или опубликованного"):
        remove_file(row, actor=owner)


@pytest.mark.parametrize(("given", "ext", "accepted", "expected"), [
    ("C:\\fakepath\\Анализ.pdf", "pdf", ("pdf",), "Анализ.pdf"),
    ("../../etc/passwd", "pdf", ("pdf",), "passwd.pdf"),
    ("отчёт\u202efdp.exe", "pdf", ("pdf",), "отчёт fdp.exe.pdf"),  # bidi override removed
    ('a<b>:"c"|?*.png', "png", ("png",), "a_b___c____.png"),
    ("page.html", "pdf", ("pdf",), "page.html.pdf"),
    ("  ...  ", "jpg", ("jpg", "jpeg"), "фото.jpg"),
    ("", "pdf", ("pdf",), "фото.pdf"),
    ("Й" * 300 + ".pdf", "pdf", ("pdf",), "Й" * 196 + ".pdf"),
])
def test_clean_filename(app, given, ext, accepted, expected):
    with app.test_request_context():
        assert clean_filename(given, ext, accepted, "фото") == expected


# storage and the transaction ----------------------------------------------------------------

def test_upload_rolled_back_leaves_no_bytes(lot, owner, uploads):
    commit()  # keep the fixtures; what follows is its own transaction
    row = add(lot, owner, PDF, "a.pdf")
    assert stored(row)
    key = row.storage_key
    rollback()
    assert not get_storage().exists(key)
    row = add(lot, owner, PDF, "b.pdf")
    commit()
    rollback()  # an empty later transaction does not touch committed files
    assert stored(row)


def test_removal_deletes_bytes_after_commit_only(lot, owner):
    row = add(lot, owner, image_bytes(), "a.png", "photo")
    commit()
    remove_file(row, actor=owner)
    assert stored(row)  # not before the commit
    rollback()
    row = db.session.get(LotFile, row.id)
    assert row is not None and stored(row)
    remove_file(row, actor=owner)
    commit()
    assert not stored(row)
    assert db.session.get(LotFile, row.id) is None


def test_history_and_audit(client, auth, lot, owner):
    row = add(lot, owner, PDF, "Протокол испытаний.pdf")
    remove_file(row, actor=owner)
    events = db.session.scalars(select(LotEvent).where(LotEvent.lot_id == lot.id)
                                .order_by(LotEvent.id)).all()
    assert [(e.kind, e.changes.get("file")) for e in events[-2:]] == [
        ("file_added", "Протокол испытаний.pdf"), ("file_removed", "Протокол испытаний.pdf")]
    actions = db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == "Lot", AuditEvent.object_id == str(lot.id))).all()
    assert {"lot.file_added", "lot.file_removed"} <= set(actions)
    auth.login(owner.email)
    page = client.get(f"/lots/{lot.id}").text
    assert "Добавлен файл" in page and "Удалён файл" in page and "Протокол испытаний.pdf" in page


# pages --------------------------------------------------------------------------------------

def test_upload_through_the_page(client, auth, lot, owner):
    auth.login(owner.email)
    page = client.get(f"/lots/{lot.id}")
    assert 'enctype="multipart/form-data"' in page.text and "Документов нет" in page.text
    r = client.post(f"/lots/{lot.id}/files", data={
        "kind": "photo", "file": (io.BytesIO(image_bytes("JPEG")), "Фото отвала.jpg")},
        content_type="multipart/form-data")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/lots/{lot.id}#files")
    row = db.session.scalars(select(LotFile).where(LotFile.lot_id == lot.id)).one()
    assert row.content_type == "image/jpeg" and row.filename == "Фото отвала.jpg"
    page = client.get(f"/lots/{lot.id}").text
    assert "Файл «Фото отвала.jpg» добавлен." in page
    assert f'<img src="/lots/{lot.id}/files/{row.id}"' in page
    r = client.post(f"/lots/{lot.id}/files", data={
        "kind": "document", "file": (io.BytesIO(HTML), "analysis.pdf")},
        content_type="multipart/form-data", follow_redirects=True)
    assert "не PDF, а HTML" in r.text
    r = client.post(f"/lots/{lot.id}/files", data={"kind": "document"},
                    content_type="multipart/form-data", follow_redirects=True)
    assert "Выберите файл." in r.text
    row_id, key = row.id, row.storage_key
    r = client.post(f"/lots/{lot.id}/files/{row_id}/remove", follow_redirects=True)
    assert "Файл «Фото отвала.jpg» удалён." in r.text and not get_storage().exists(key)
    assert db.session.get(LotFile, row_id) is None


def test_upload_over_the_request_limit(app, client, auth, lot, owner, monkeypatch):
    # (a body under 500 KB: the test client spools bigger ones to a file it never closes)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 256 * 1024)
    auth.login(owner.email)
    r = client.post(f"/lots/{lot.id}/files", data={
        "kind": "document", "file": (io.BytesIO(PDF + b"0" * 300 * 1024), "big.pdf")},
        content_type="multipart/form-data")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/lots/{lot.id}")
    assert "Файл больше 0,25 МБ" in client.get(f"/lots/{lot.id}").text
    assert db.session.scalar(select(LotFile.id).where(LotFile.lot_id == lot.id)) is None


def test_managers_see_the_form_others_do_not(client, auth, lot, owner, holder, add_member,
                                             create_user):
    add(lot, owner, PDF, "a.pdf")
    member = create_user()
    add_member(holder, member, "member")
    auth.login(member.email)
    page = client.get(f"/lots/{lot.id}").text
    assert "a.pdf" in page and "multipart/form-data" not in page and "/remove" not in page
    auth.logout()
    auth.login(owner.email)
    page = client.get(f"/lots/{lot.id}").text
    assert "multipart/form-data" in page and "/remove" in page and "сейчас 1" in page


def test_draft_files_are_hidden_from_outsiders(client, auth, lot, owner, holder, add_member,
                                               create_user, create_official):
    row = add(lot, owner, PDF, "a.pdf")
    url = f"/lots/{lot.id}/files/{row.id}"
    assert fetch(client, url).status_code == 404
    for user in (create_user(), create_official(), create_user(is_admin=True)):
        auth.login(user.email)
        assert fetch(client, url).status_code == 404
        auth.logout()
    member = create_user()
    add_member(holder, member, "viewer")
    auth.login(member.email)
    r = fetch(client, url)
    assert r.status_code == 200 and r.data == PDF
    assert set(r.headers["Cache-Control"].split(", ")) == {"private", "no-cache"}
    other = create_lot(holder, actor=owner, stream=lot.stream, title="Другой", quantity="1",
                       pricing_mode="fixed", price=1)
    assert fetch(client, f"/lots/{other.id}/files/{row.id}").status_code == 404  # not its lot


def test_serving_headers(client, lot, owner):
    name = "Анализ шлака №1.pdf"
    doc = add(lot, owner, PDF, name)
    photo = add(lot, owner, image_bytes("PNG"), "отвал.png", "photo")
    publish_lot(lot, actor=owner)
    db.session.flush()
    r = fetch(client, f"/lots/{lot.id}/files/{doc.id}")
    assert r.status_code == 200 and r.data == PDF
    h = r.headers
    assert h["Content-Type"] == "application/pdf"
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert h["Content-Disposition"] == (
        f"inline; filename=\"lot-{lot.id}-document-{doc.id}.pdf\"; filename*=UTF-8''{quote(name)}")
    assert "UTF-8''%D0%90%D0%BD%D0%B0%D0%BB%D0%B8%D0%B7%20" in h["Content-Disposition"]
    assert h["ETag"] == f'"{doc.sha256}"' and h["Content-Length"] == str(len(PDF))
    assert h["Cache-Control"] == "public, max-age=3600" and "Last-Modified" in h
    r = fetch(client, f"/lots/{lot.id}/files/{doc.id}", headers={"If-None-Match": f'"{doc.sha256}"'})
    assert r.status_code == 304 and r.data == b""
    r = fetch(client, f"/lots/{lot.id}/files/{doc.id}", headers={"Range": "bytes=0-4"})
    assert r.status_code == 206 and r.data == b"%PDF-"
    r = fetch(client, f"/lots/{lot.id}/files/{photo.id}")
    assert r.headers["Content-Type"] == "image/png" and "text/html" not in r.headers["Content-Type"]
    assert r.headers["Content-Disposition"] == (
        f"inline; filename=\"lot-{lot.id}-photo-{photo.id}.png\"; filename*=UTF-8''{quote('отвал.png')}")
    ascii_row = add(lot, owner, PDF + b"%2\n", "Lab report (2026).pdf")
    r = fetch(client, f"/lots/{lot.id}/files/{ascii_row.id}")
    assert r.headers["Content-Disposition"].startswith('inline; filename="Lab report (2026).pdf"; ')
    assert r.data == PDF + b"%2\n"


def test_missing_bytes_are_a_404(client, lot, owner):
    row = add(lot, owner, PDF, "a.pdf")
    publish_lot(lot, actor=owner)
    db.session.flush()
    get_storage().delete(row.storage_key)
    assert fetch(client, f"/lots/{lot.id}/files/{row.id}").status_code == 404
