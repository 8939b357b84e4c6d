"""Platform roles on the user: official (optionally per region) and admin."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from market.accounts.models import User
from market.core import audit
from market.core.errors import DomainError, PermissionDenied
from market.core.notify import notify
from market.extensions import db
from market.refdata.models import Region


def set_platform_roles(user: User, *, actor: User | None, is_official: bool, is_admin: bool,
                       region_katos: list[str] | None = None) -> None:
    """Admins grant and revoke platform roles; the last admin cannot be demoted."""
    if actor is not None and not actor.is_admin:
        raise PermissionDenied(_l("Роли назначает администратор."))
    if user.is_admin and not is_admin:
        admins = db.session.scalar(select(func.count(User.id)).where(User.is_admin.is_(True)))
        if admins <= 1:
            raise DomainError(_l("Нельзя снять роль с последнего администратора."))
    regions = []
    if is_official and region_katos:
        regions = db.session.scalars(select(Region).where(Region.kato.in_(region_katos))).all()
    old = {"official": user.is_official, "admin": user.is_admin,
           "regions": sorted(r.kato for r in user.official_regions)}
    user.is_official = is_official
    user.is_admin = is_admin
    user.official_regions = list(regions)
    new = {"official": is_official, "admin": is_admin, "regions": sorted(r.kato for r in regions)}
    if old != new:
        audit.record("user.roles_changed", user, actor=actor, old=str(old), new=str(new))
        notify(user, "user.roles", str(_l("Ваши роли на платформе изменены.")))


def set_user_active(user: User, *, actor: User, active: bool) -> None:
    if user.id == actor.id:
        raise DomainError(_l("Нельзя отключить собственную учётную запись."))
    if user.active != active:
        user.active = active
        audit.record("user.enabled" if active else "user.disabled", user, actor=actor)
