"""Uploaded documents, checked by content and served safely; shared by lot files and complaint
documents. The type of a file is decided by its content, never by its name or the browser's
claim; a file is served with its stored type, never sniffed, never rendered as a web page."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import datetime
from typing import BinaryIO
from urllib.parse import quote

from flask import request
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from market.core.errors import DomainError
from market.core.storage import CHUNK

PDF = ("application/pdf", "pdf", ("pdf",))
SPOOL_BYTES = 1024 * 1024  # bigger uploads are buffered on disk while they are checked
NAME_MAX = 200  # the length of a stored display name


def megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):g}".replace(".", ",")


def copy_limited(stream: BinaryIO, out: BinaryIO, limit: int, what) -> tuple[int, str]:
    """Copy at most `limit` bytes, hashing them; refuse empty and oversized files. `what` names
    the file in the message ("Документ", "Фотография")."""
    digest, size = hashlib.sha256(), 0
    while chunk := stream.read(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise DomainError(_l("%(what)s больше %(mb)s МБ: уменьшите файл или разделите его."),
                              what=what, mb=megabytes(limit))
        digest.update(chunk)
        out.write(chunk)
    if size == 0:
        raise DomainError(_l("Файл пустой."))
    return size, digest.hexdigest()


def looks_like_markup(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf\xfe\xff\x00 \t\r\n").lower()
    return text.startswith(b"<") or b"<html" in text or b"<svg" in text or b"<script" in text


def check_pdf(spool: BinaryIO) -> tuple[str, str, tuple]:
    """(content type, extension, accepted extensions) of a PDF; DomainError for anything else."""
    head = spool.read(1024)
    if head.startswith(b"%PDF-"):
        return PDF
    if looks_like_markup(head):
        raise DomainError(_l("Это не PDF, а HTML, SVG или XML (как бы ни назывался файл). "
                             "Документы принимаются только в формате PDF."))
    raise DomainError(_l("Файл не является PDF (проверяется содержимое, а не имя). "
                         "Документы принимаются только в формате PDF."))


_UNSAFE = re.compile(r'[<>:"/\\|?*]')


def clean_filename(name: str, ext: str, accepted: tuple, default: str) -> str:
    """A display name: the last path part, no control or bidi characters, an extension that
    matches the content (Cyrillic and other letters are kept)."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in name)
    name = re.sub(r" +", " ", _UNSAFE.sub("_", name)).strip(" .")
    stem, dot, suffix = name.rpartition(".")
    if not dot or suffix.lower() not in accepted:
        stem, suffix = name, ext
    stem = stem.strip(" .") or default
    return f"{stem[:NAME_MAX - len(suffix) - 1].rstrip(' .') or default}.{suffix}"


def content_disposition(name: str, fallback: str) -> str:
    """inline (PDFs and photos open in the browser) with the name in RFC 6266/5987 form: an
    ASCII fallback in filename= (`fallback` when the name is not ASCII, e.g. Cyrillic) and the
    exact UTF-8 name in filename*=."""
    ascii_name = re.sub(r"[^A-Za-z0-9._() -]", "_", name)
    if not name.isascii():
        ascii_name = fallback
    return (f"inline; filename=\"{ascii_name}\"; "
            f"filename*=UTF-8''{quote(name, safe='!#$&+-.^_`|~')}")


def stored_response(storage, *, key: str, content_type: str, size: int, sha256: str,
                    created_at: datetime, disposition: str, public_max_age: int | None = None
                    ) -> Response:
    """The bytes under `key` with their stored type, ETag and Last-Modified, ranges and
    conditional requests, nosniff and a sandboxing CSP; publicly cached for `public_max_age`
    seconds, else private and revalidated every time."""
    response = Response(_chunks(storage, key), mimetype=content_type, direct_passthrough=True)
    response.content_length = size
    response.set_etag(sha256)
    response.last_modified = created_at
    if public_max_age is not None:
        response.cache_control.public = True
        response.cache_control.max_age = public_max_age
    else:
        response.cache_control.private = True
        response.cache_control.no_cache = True
    headers = response.headers
    headers["Content-Disposition"] = disposition
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    headers["Referrer-Policy"] = "no-referrer"
    return response.make_conditional(request, accept_ranges=True, complete_length=size)


def _chunks(storage, key: str):
    """The bytes, opened only once the server sends them (nothing is opened for a 304 or a
    HEAD request) and closed when it is done or stops."""
    with storage.open(key) as stream:
        while chunk := stream.read(CHUNK):
            yield chunk
