"""Permission-matrix rows for the cancellation of a registered transfer and the complaints
(blueprint complaints).

Merged into tests/test_permissions.py's MATRIX. The deal is the one tests/permission_rows_deals.py
builds (the world's organisation sells to the outsider's); SETUP brings it through the review
(tests/permission_rows_review.py) to a registered transfer. The cancellation pages are for
officials and admins (others 403); only an official not of a party cancels (an admin's post is
refused with a message). A complaint is filed by a party's owner or manager (the outsider owns the
buyer, the world's owner the seller; a plain member is refused); the list is the officials'; the
complaint page is for the parties, the complainant and the officials; only an official not
involved decides (an admin's post is refused with a message). A complaint's PDF document is
served to exactly those who see the complaint page.
"""

from __future__ import annotations

from tests.permission_rows_review import ROLES, _deal, _submitted

LOGIN = "login"


def row(anonymous, outsider, member, owner, official, admin) -> dict:
    return dict(zip(ROLES, (anonymous, outsider, member, owner, official, admin), strict=True))


MATRIX = {
    "complaints.cancel_form": ("GET",  row(LOGIN, 403, 403, 403, 200, 200)),
    "complaints.cancel":      ("POST", row(LOGIN, 403, 403, 403, 302, 302)),
    "complaints.complaint_form":   ("GET",  row(LOGIN, 200, 403, 200, 403, 403)),
    "complaints.file_complaint":   ("POST", row(LOGIN, 302, 403, 302, 403, 403)),
    "complaints.list_complaints":  ("GET",  row(LOGIN, 403, 403, 403, 200, 200)),
    "complaints.show_complaint":   ("GET",  row(LOGIN, 200, 200, 200, 200, 200)),
    "complaints.decide_complaint": ("POST", row(LOGIN, 403, 403, 403, 302, 302)),
    "complaints.serve_file":       ("GET",  row(LOGIN, 200, 200, 200, 200, 200)),
}
URL_ARGUMENTS = {"complaint_id", "file_id"}

FORMS = {
    "complaints.cancel": {"reason": "Решение суда о признании торгов недействительными"},
    "complaints.file_complaint": {"subject": "signature", "grounds": "Подпись поставлена без доверенности"},
    "complaints.decide_complaint": {"outcome": "dismissed", "reason": "Доверенность представлена"},
}


def _registered(world) -> None:
    from market.deals import review
    from market.extensions import db

    _submitted(world)
    review.decide(_deal(world), "approve", actor=world.official)
    db.session.flush()


def _filed(world) -> None:
    from market.deals import complaints
    from market.extensions import db

    complaint = complaints.file(_deal(world), actor=world.outsider, subject="signature",
                                grounds="Подпись поставлена без доверенности")
    db.session.flush()
    world.extra_values["complaint_id"] = complaint.id


def _filed_with_document(world) -> None:
    import io

    from market.deals import complaint_files
    from market.deals.models_complaint import Complaint
    from market.extensions import db

    _filed(world)
    complaint = db.session.get(Complaint, world.extra_values["complaint_id"])
    (row,) = complaint_files.attach(complaint, [("доверенность.pdf", io.BytesIO(b"%PDF-1.4\n%%EOF\n"))],
                                    actor=world.outsider)
    db.session.flush()
    world.extra_values["file_id"] = row.id


def _complaint_state(world):
    from market.deals.models_complaint import Complaint
    from market.extensions import db

    return db.session.get(Complaint, world.extra_values["complaint_id"], populate_existing=True).state


def _filed_by(world, user) -> bool:
    from sqlalchemy import select

    from market.deals.models_complaint import Complaint
    from market.extensions import db

    return user is not None and db.session.scalar(select(Complaint.id).where(
        Complaint.complainant_id == user.id)) is not None


SETUP = {
    "complaints.cancel_form": _registered,
    "complaints.cancel": _registered,
    "complaints.show_complaint": _filed,
    "complaints.decide_complaint": _filed,
    "complaints.serve_file": _filed_with_document,
}

EFFECTS = {
    "complaints.cancel": (lambda world, _u: _deal(world).state == "cancelled", {"official"}),
    "complaints.file_complaint": (_filed_by, {"outsider", "owner"}),
    "complaints.decide_complaint": (lambda world, _u: _complaint_state(world) == "dismissed",
                                    {"official"}),
}
