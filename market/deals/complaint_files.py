"""PDF documents attached to a complaint on filing: checked by content (market.core.documents,
the same checks as lot documents), at most MAX_FILES, each within LOT_DOCUMENT_MAX_BYTES; the
bytes go to the file storage and are deleted again if the filing rolls back.

Operations flush, never commit."""

from __future__ import annotations

import tempfile
from typing import BinaryIO

from flask import current_app
from flask_babel import lazy_gettext as _l

from market.core import audit
from market.core.documents import SPOOL_BYTES, check_pdf, clean_filename, copy_limited, megabytes
from market.core.errors import DomainError
from market.core.storage import delete_on_rollback, get_storage, new_key
from market.deals.models_complaint import Complaint, ComplaintFile
from market.extensions import db

MAX_FILES = 5


def limit_bytes() -> int:
    return current_app.config["LOT_DOCUMENT_MAX_BYTES"]


def limits() -> dict:
    """What the form shows: the number of files and the size of each (MB)."""
    return {"files": MAX_FILES, "mb": megabytes(limit_bytes())}


def check_count(n: int) -> None:
    if n > MAX_FILES:
        raise DomainError(_l("К жалобе можно приложить не более %(n)s документов."), n=MAX_FILES)


def attach(complaint: Complaint, uploads: list[tuple[str, BinaryIO]], *, actor) -> list[ComplaintFile]:
    """Check each (file name, stream) as a PDF and attach it; DomainError names the refused file.
    The stored bytes are removed if the transaction rolls back."""
    check_count(len(uploads))
    storage, rows, seen = get_storage(), [], set()
    for filename, stream in uploads:
        try:
            with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
                size, digest = copy_limited(stream, spool, limit_bytes(), _l("Документ"))
                spool.seek(0)
                content_type, ext, accepted = check_pdf(spool)
                if digest in seen:
                    raise DomainError(_l("Этот документ приложен дважды."))
                spool.seek(0)
                key = new_key(f"complaints/{complaint.id}")
                storage.save(key, spool)
                delete_on_rollback(storage, key)
        except DomainError as exc:
            raise DomainError(_l("Файл «%(name)s»: %(error)s"), name=(filename or "")[:100],
                              error=str(exc)) from None
        seen.add(digest)
        name = clean_filename(filename, ext, accepted, str(_l("документ")))
        row = ComplaintFile(complaint_id=complaint.id, storage_key=key, filename=name,
                            content_type=content_type, size=size, sha256=digest,
                            uploaded_by_id=actor.id)
        db.session.add(row)
        rows.append(row)
    if rows:
        db.session.flush()
        audit.record("complaint.documents", complaint.deal, actor=actor,
                     organization=complaint.organization, complaint_id=complaint.id,
                     files=[{"id": r.id, "filename": r.filename, "size": r.size, "sha256": r.sha256}
                            for r in rows])
    return rows
