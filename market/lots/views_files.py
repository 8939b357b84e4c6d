"""Documents and photos of lots: upload, list, serve, remove."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import SelectField

from market.core import documents
from market.core.errors import DomainError
from market.core.forms import flash_form_errors, options
from market.core.storage import get_storage
from market.core.txn import commit, rollback
from market.extensions import db
from market.lots import files
from market.lots.forms import ActionForm
from market.lots.models import FILE_KINDS, Lot, LotFile
from market.lots.views import PUBLIC_STATES, _lot

log = logging.getLogger(__name__)

bp = Blueprint("lot_files", __name__)

ACCEPT = {"document": ".pdf,application/pdf",
          "photo": ".jpg,.jpeg,.png,.webp,image/jpeg,image/png,image/webp"}
PUBLIC_MAX_AGE = 3600  # a file's bytes never change under its URL; removal takes up to an hour


class FileForm(FlaskForm):
    kind = SelectField(_l("Что загружаете"), choices=options(FILE_KINDS.items()))
    file = FileField(_l("Файл"), validators=[FileRequired(_l("Выберите файл."))],
                     render_kw={"accept": f"{ACCEPT['document']},{ACCEPT['photo']}"})


def _lot_url(lot_id: int, *, ok: bool = True) -> str:
    """The lot's page: at its files after a success, at the top (where the message is) otherwise."""
    return url_for("lots.show_lot", lot_id=lot_id, _anchor="files" if ok else None)


def _file_of(lot: Lot, file_id: int) -> LotFile:
    row = db.session.get(LotFile, file_id)
    if row is None or row.lot_id != lot.id:
        abort(404)
    return row


@bp.post("/lots/<int:lot_id>/files")
@login_required
def upload_file(lot_id: int):
    """Add a document (PDF) or a photo (JPEG, PNG, WebP) to a lot; managers only."""
    lot = _lot(lot_id, manage=True)
    form = FileForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(_lot_url(lot.id, ok=False))
    upload = form.file.data
    try:
        row = files.add_file(lot, actor=current_user, kind=form.kind.data,
                             filename=upload.filename or "", stream=upload.stream)
    except DomainError as exc:
        rollback()
        flash(str(exc), "danger")
        return redirect(_lot_url(lot_id, ok=False))
    commit()
    flash(_("Файл «%(name)s» добавлен.", name=row.filename), "success")
    return redirect(_lot_url(lot_id))


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_exc):
    """A body over MAX_CONTENT_LENGTH: back to the lot with a message, not a bare error page."""
    lot_id = (request.view_args or {}).get("lot_id")
    limit = files.megabytes(current_app.config.get("MAX_CONTENT_LENGTH") or 0)
    if request.endpoint != "lot_files.upload_file" or lot_id is None:
        return _("Файл слишком большой."), 413
    flash(_("Файл больше %(mb)s МБ: сервер его не принимает. Уменьшите файл и загрузите снова.",
            mb=limit), "danger")
    return redirect(_lot_url(lot_id, ok=False))


@bp.post("/lots/<int:lot_id>/files/<int:file_id>/remove")
@login_required
def remove_file(lot_id: int, file_id: int):
    """Remove a document or photo from a lot; its bytes are deleted after the commit."""
    lot = _lot(lot_id, manage=True)
    row = _file_of(lot, file_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    name = row.filename
    try:
        files.remove_file(row, actor=current_user)
    except DomainError as exc:
        rollback()
        flash(str(exc), "danger")
        return redirect(_lot_url(lot_id, ok=False))
    commit()
    flash(_("Файл «%(name)s» удалён.", name=name), "success")
    return redirect(_lot_url(lot_id))


@bp.get("/lots/<int:lot_id>/files/<int:file_id>")
def serve_file(lot_id: int, file_id: int):
    """The bytes of a file, visible exactly when its lot is; never rendered as a web page."""
    lot = _lot(lot_id)
    row = _file_of(lot, file_id)
    storage = get_storage()
    if not storage.exists(row.storage_key):
        log.error("lot file %s: no bytes under %s", row.id, row.storage_key)
        abort(404)
    # a draft or withdrawn lot: only its organisation, and revalidated every time
    return documents.stored_response(
        storage, key=row.storage_key, content_type=row.content_type, size=row.size,
        sha256=row.sha256, created_at=row.created_at, disposition=content_disposition(row),
        public_max_age=PUBLIC_MAX_AGE if lot.state in PUBLIC_STATES else None)


def content_disposition(row: LotFile) -> str:
    """The Content-Disposition of a lot file; non-ASCII names fall back to lot-<id>-<kind>-<n>."""
    return documents.content_disposition(
        row.filename, f"lot-{row.lot_id}-{row.kind}-{row.id}.{row.filename.rpartition('.')[2]}")


# Template helpers ---------------------------------------------------------------------------

@bp.app_template_filter("filesize")
def filesize_filter(size: int | None) -> str:
    if size is None:
        return "—"
    if size < 1024:
        return _("%(n)s байт", n=size)
    if size < 1024 * 1024:
        return _("%(n)s КБ", n=format_decimal(round(size / 1024)))
    return _("%(n)s МБ", n=format_decimal(round(size / (1024 * 1024), 1), format="#,##0.#"))


@bp.app_template_global()
def lot_files_panel(lot: Lot) -> dict:
    """What templates/lots/_files.html shows: the lot's documents and photos and, for its
    managers, the upload form with the limits."""
    rows = files.files_of(lot)
    manage = files.can_manage_files(lot, current_user)
    return {
        "documents": [f for f in rows if f.kind == "document"],
        "photos": [f for f in rows if f.kind == "photo"],
        "count": len(rows),
        "can_manage": manage,
        "form": FileForm(formdata=None) if manage else None,
        "remove_form": ActionForm(formdata=None) if manage else None,
        "limits": {k: (files.megabytes(v) if k != "files" else v) for k, v in files.limits().items()},
        "accept": ACCEPT,
    }
