"""Permission-matrix rows for organisations' processing licences.

Merged into tests/test_permissions.py's MATRIX; see there for the roles and the world.
Licences are seen by whoever sees the organisation (members, officials of its region,
admins) and managed by its owners and managers only.
"""

from datetime import date

LOGIN = "login"
ROLES = ("anonymous", "outsider", "member", "owner", "official", "admin")


def row(anonymous, outsider, member, owner, official, admin) -> dict:
    return dict(zip(ROLES, (anonymous, outsider, member, owner, official, admin), strict=True))


MANAGE = row(LOGIN, 403, 403, 200, 403, 403)

MATRIX = {
    "licences.list_licences":  ("GET",  row(LOGIN, 403, 200, 200, 200, 200)),
    "licences.new_licence":    ("GET",  MANAGE),
    "licences.edit_licence":   ("GET",  MANAGE),
    "licences.revoke_licence": ("POST", row(LOGIN, 403, 403, 302, 403, 403)),
}

FORMS = {"licences.revoke_licence": {"reason": "Лицензия отозвана выдавшим органом"}}

URL_ARGUMENTS = {"licence_id"}


def _revoked(w, user) -> bool:
    from market.accounts.models import Licence
    from market.extensions import db

    return db.session.get(Licence, w.extra_values["licence_id"]).revoked_at is not None


EFFECTS = {"licences.revoke_licence": (_revoked, {"owner"})}


def build(world) -> dict:
    """A licence of the world's organisation for its hazardous dust (10 02 07*)."""
    from market.accounts.licences import add_licence

    licence = add_licence(world.org, actor=world.owner, number="KZ01VEG00000001",
                          issued_by="Комитет экологического регулирования и контроля",
                          valid_from=date(2025, 1, 1), scopes="10 02", operations=["R4"])
    return {"licence_id": licence.id}
