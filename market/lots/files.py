"""Documents (PDF: lab analyses, passports) and photos (JPEG, PNG, WebP) of lots.

The type of a file is decided by its content, never by its name or the browser's claim. The
bytes go to the file storage (market.core.storage) under a random key; the row keeps the
cleaned display name, the type, the size and the SHA-256.
"""

from __future__ import annotations

import tempfile
from typing import BinaryIO

from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image
from sqlalchemy import func, select

from market.core import audit
from market.core.documents import NAME_MAX, SPOOL_BYTES, check_pdf, clean_filename, copy_limited, megabytes
from market.core.documents import looks_like_markup as _looks_like_markup
from market.core.errors import DomainError, PermissionDenied
from market.core.locking import lock_for_update
from market.core.storage import delete_after_commit, delete_on_rollback, get_storage, new_key
from market.extensions import db
from market.lots.models import FILE_KINDS, Lot, LotEvent, LotFile

EDITABLE_STATES = ("draft", "published")
# Pillow format -> (content type, extension, accepted extensions of the original name)
PHOTO_FORMATS = {
    "JPEG": ("image/jpeg", "jpg", ("jpg", "jpeg", "jfif")),
    "PNG": ("image/png", "png", ("png",)),
    "WEBP": ("image/webp", "webp", ("webp",)),
}
MAX_PIXELS = 40_000_000  # 40 megapixels: a large camera photo; more is a decompression bomb
DEFAULT_NAMES = {"document": _l("документ"), "photo": _l("фото")}


def limits() -> dict:
    """Byte limits per kind and the number of files per lot, from the configuration."""
    cfg = current_app.config
    return {"document": cfg["LOT_DOCUMENT_MAX_BYTES"], "photo": cfg["LOT_PHOTO_MAX_BYTES"],
            "files": cfg["LOT_MAX_FILES"]}


def can_manage_files(lot: Lot, user) -> bool:
    """Owners and managers of the lot's organisation, while the lot is a draft or published."""
    return lot.state in EDITABLE_STATES and lot.can_edit(user)


def files_of(lot: Lot) -> list[LotFile]:
    return list(db.session.scalars(select(LotFile).where(LotFile.lot_id == lot.id)
                                   .order_by(LotFile.id)))


def _guard(lot: Lot, actor) -> None:
    if not lot.can_edit(actor):
        raise PermissionDenied(_l("Файлы лота добавляют и удаляют владелец и менеджеры организации."))
    if lot.state not in EDITABLE_STATES:
        raise DomainError(_l("Файлы можно менять только у черновика или опубликованного лота."))


def _event(lot: Lot, event: str, actor, *, name: str, kind: str) -> None:
    db.session.add(LotEvent(lot_id=lot.id, kind=event, actor_id=getattr(actor, "id", None),
                            changes={"file": name, "kind": kind}))


def add_file(lot: Lot, *, actor, kind: str, filename: str, stream: BinaryIO) -> LotFile:
    """Check an uploaded document or photo by its content, store it and list it on the lot."""
    _guard(lot, actor)
    if kind not in FILE_KINDS:
        raise DomainError(_l("Выберите, что загружаете: документ или фотографию."))
    lock_for_update(lot)  # concurrent uploads to one lot queue here, so the count holds
    limit = limits()
    count = db.session.scalar(select(func.count(LotFile.id)).where(LotFile.lot_id == lot.id))
    if count >= limit["files"]:
        raise DomainError(_l("У лота уже %(n)s файлов — это максимум. Удалите ненужные, "
                             "чтобы добавить новые."), n=limit["files"])
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        size, digest = _copy_limited(stream, spool, limit[kind], kind)
        spool.seek(0)
        if kind == "document":
            content_type, ext, accepted = _check_pdf(spool)
        else:
            content_type, ext, accepted = _check_photo(spool)
        if db.session.scalar(select(LotFile.filename).where(LotFile.lot_id == lot.id,
                                                            LotFile.sha256 == digest).limit(1)):
            raise DomainError(_l("Этот файл уже есть у лота."))
        spool.seek(0)
        storage = get_storage()
        key = new_key(f"lots/{lot.id}/{kind}")
        storage.save(key, spool)
    delete_on_rollback(storage, key)
    try:
        name = clean_filename(filename, ext, accepted, str(DEFAULT_NAMES[kind]))
        row = LotFile(lot_id=lot.id, kind=kind, filename=name, content_type=content_type,
                      size=size, sha256=digest, storage_key=key, uploaded_by_id=actor.id)
        db.session.add(row)
        db.session.flush()
        _event(lot, "file_added", actor, name=name, kind=kind)
        audit.record("lot.file_added", lot, actor=actor, organization=lot.organization,
                     file_id=row.id, filename=name, kind=kind, content_type=content_type,
                     size=size, sha256=digest)
        db.session.flush()
    except BaseException:
        storage.delete(key)
        raise
    return row


def remove_file(lot_file: LotFile, *, actor) -> None:
    """Take a file off the lot; its bytes are deleted once the removal has committed."""
    lot = lot_file.lot
    _guard(lot, actor)
    _event(lot, "file_removed", actor, name=lot_file.filename, kind=lot_file.kind)
    audit.record("lot.file_removed", lot, actor=actor, organization=lot.organization,
                 file_id=lot_file.id, filename=lot_file.filename, kind=lot_file.kind,
                 sha256=lot_file.sha256)
    delete_after_commit(get_storage(), lot_file.storage_key)
    db.session.delete(lot_file)
    db.session.flush()


# Content checks -----------------------------------------------------------------------------

def _copy_limited(stream: BinaryIO, out: BinaryIO, limit: int, kind: str) -> tuple[int, str]:
    return copy_limited(stream, out, limit, _l("Документ") if kind == "document" else _l("Фотография"))


_check_pdf = check_pdf


def _photo_format(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def _check_photo(spool: BinaryIO) -> tuple[str, str, tuple]:
    head = spool.read(64)
    fmt = _photo_format(head)
    if fmt is None:
        if _looks_like_markup(head):
            raise DomainError(_l("SVG, HTML и другие файлы с разметкой не принимаются. "
                                 "Фотографии — только JPEG, PNG или WebP."))
        if head.startswith(b"%PDF-"):
            raise DomainError(_l("Это PDF: загрузите его как документ, а не как фотографию."))
        raise DomainError(_l("Фотографии принимаются только в форматах JPEG, PNG или WebP "
                             "(проверяется содержимое файла, а не его имя)."))
    try:
        spool.seek(0)
        with Image.open(spool, formats=[fmt]) as img:
            width, height = img.size
            if width * height > MAX_PIXELS:
                raise Image.DecompressionBombError("too many pixels")
            img.verify()
        spool.seek(0)
        with Image.open(spool, formats=[fmt]) as img:  # verify() leaves the image unusable
            if fmt == "JPEG":
                img.draft("RGB", (max(width // 8, 1), max(height // 8, 1)))  # decode small
            img.load()  # a truncated or corrupt image fails here
    except Image.DecompressionBombError:
        raise DomainError(_l("Изображение слишком большое: не более %(mp)s мегапикселей."),
                          mp=MAX_PIXELS // 1_000_000) from None
    except Exception:  # Pillow raises many kinds of errors for broken files
        raise DomainError(_l("Изображение повреждено или обрезано: откройте его на компьютере, "
                             "сохраните заново и загрузите ещё раз.")) from None
    return PHOTO_FORMATS[fmt]


# Re-exported: the lot-file callers and tests import them from here.
__all__ = ["NAME_MAX", "clean_filename", "megabytes"]
