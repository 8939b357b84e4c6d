"""Permission-matrix rows for the documents and photos of lots (blueprint lot_files).

Merged into tests/test_permissions.py's MATRIX; see there for the roles and the world. The
world's lot is a draft of its organisation: hidden (404) from everyone but the members, and
only its owner and managers (here: the owner) change its files.
"""

from __future__ import annotations

import io

from sqlalchemy import func, select

from market.extensions import db
from market.lots.models import LotFile

LOGIN = "login"
ROLES = ("anonymous", "outsider", "member", "owner", "official", "admin")


def row(anonymous, outsider, member, owner, official, admin) -> dict:
    return dict(zip(ROLES, (anonymous, outsider, member, owner, official, admin), strict=True))


PDF = b"%PDF-1.4\n%%EOF\n"
HIDDEN_LOT = row(404, 404, 200, 200, 404, 404)
MANAGE = row(LOGIN, 404, 403, 302, 404, 404)

MATRIX = {
    "lot_files.upload_file": ("POST", MANAGE),
    "lot_files.remove_file": ("POST", MANAGE),
    "lot_files.serve_file": ("GET", HIDDEN_LOT),
}

URL_ARGUMENTS = {"file_id"}

UPLOAD_FORM: dict = {"kind": "document"}
FORMS = {"lot_files.upload_file": UPLOAD_FORM}


def _fresh_upload(world) -> None:
    # The test client closes the uploaded stream after each request: give every case its own.
    UPLOAD_FORM["file"] = (io.BytesIO(PDF + b"%upload\n"), "Протокол испытаний.pdf")


SETUP = {"lot_files.upload_file": _fresh_upload}


def _files(world) -> int:
    return db.session.scalar(select(func.count(LotFile.id)).where(LotFile.lot_id == world.lot.id))


EFFECTS = {
    "lot_files.upload_file": (lambda w, user: _files(w) == 2, {"owner"}),
    "lot_files.remove_file": (lambda w, user: _files(w) == 0, {"owner"}),
}


def build(world) -> dict:
    """A document on the world's (draft) lot."""
    from market.lots.files import add_file

    lot_file = add_file(world.lot, actor=world.owner, kind="document", filename="Анализ.pdf",
                        stream=io.BytesIO(PDF))
    return {"file_id": lot_file.id}
