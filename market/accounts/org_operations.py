"""Organisations and their members: create, join, invite, roles, switching."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from market.accounts.bin import bin_error
from market.accounts.models import (
    Invitation,
    JoinRequest,
    Membership,
    Organization,
    OrgRole,
    User,
)
from market.accounts.operations import normalize_email
from market.accounts.tokens import make_token, read_token
from market.core import audit
from market.core.errors import DomainError, PermissionDenied
from market.core.locking import lock_for_update
from market.core.notify import notify, queue_email
from market.core.timeutil import utcnow
from market.extensions import db

INVITATION_DAYS = 14


class BinTaken(DomainError):
    """The BIN is already registered; the user may ask to join that organisation."""

    def __init__(self, org: Organization):
        super().__init__(_l("Организация с этим БИН уже зарегистрирована."))
        self.organization = org


def org_by_bin(bin_: str) -> Organization | None:
    return db.session.scalar(select(Organization).where(Organization.bin == bin_.strip()))


def create_organization(*, actor: User, bin: str, name: str, region_kato: str, address: str,
                        kinds: list[str], contact_email: str | None = None,
                        contact_phone: str | None = None) -> Organization:
    """Register an organisation (state pending); the creator becomes its owner."""
    error = bin_error(bin)
    if error:
        raise DomainError(error)
    existing = org_by_bin(bin)
    if existing:
        raise BinTaken(existing)
    if not kinds:
        raise DomainError(_l("Выберите хотя бы один вид деятельности."))
    org = Organization(bin=bin.strip(), name=name.strip(), region_kato=region_kato,
                       address=address.strip(), contact_email=contact_email,
                       contact_phone=contact_phone, created_by_id=actor.id, state="pending")
    org.kinds = kinds
    db.session.add(org)
    db.session.flush()
    db.session.add(Membership(user=actor, organization=org, role=OrgRole.owner.value))
    actor.current_org_id = org.id
    audit.record("org.created", org, actor=actor, bin=org.bin, kinds=kinds)
    _notify_officials(org)
    return org


def _notify_officials(org: Organization) -> None:
    officials = db.session.scalars(select(User).where(User.is_official.is_(True))).all()
    for official in officials:
        if org.can_review(official):
            notify(official, "org.pending",
                   str(_l("Новая организация на проверке: %(name)s", name=org.name)),
                   url=f"/orgs/{org.id}")


def update_organization(org: Organization, *, actor: User, **fields) -> None:
    if not org.can_edit(actor):
        raise PermissionDenied(_l("Изменять данные организации могут владелец и менеджеры."))
    changed = {}
    for key in ("name", "region_kato", "address", "contact_email", "contact_phone"):
        if key in fields and getattr(org, key) != fields[key]:
            changed[key] = fields[key]
            setattr(org, key, fields[key])
    if "kinds" in fields and sorted(fields["kinds"]) != sorted(org.kinds):
        if not fields["kinds"]:
            raise DomainError(_l("Выберите хотя бы один вид деятельности."))
        org.kinds = fields["kinds"]
        changed["kinds"] = fields["kinds"]
    if changed:
        audit.record("org.updated", org, actor=actor, fields=sorted(changed))


def request_to_join(org: Organization, *, actor: User, message: str | None = None) -> JoinRequest:
    if actor.membership_in(org):
        raise DomainError(_l("Вы уже состоите в этой организации."))
    pending = db.session.scalar(select(JoinRequest).where(
        JoinRequest.organization_id == org.id, JoinRequest.user_id == actor.id,
        JoinRequest.status == "pending"))
    if pending:
        raise DomainError(_l("Ваш запрос уже отправлен и ждёт решения владельца."))
    jr = JoinRequest(organization=org, user=actor, message=(message or "").strip() or None)
    db.session.add(jr)
    db.session.flush()
    audit.record("org.join_requested", org, actor=actor, request_id=jr.id)
    for m in org.owners:
        text = _l("%(user)s просит доступ к «%(org)s»", user=actor.full_name, org=org.name)
        notify(m.user, "org.join_request", str(text), url=f"/orgs/{org.id}/members")
        queue_email(m.user.email, text, "email/join_request.txt", org=org, requester=actor)
    return jr


def decide_join_request(jr: JoinRequest, *, actor: User, approve: bool,
                        role: str = OrgRole.member.value) -> None:
    org = jr.organization
    if not org.can_manage_members(actor):
        raise PermissionDenied(_l("Решение о доступе принимает владелец организации."))
    if jr.status != "pending":
        raise DomainError(_l("Этот запрос уже рассмотрен."))
    jr.status = "approved" if approve else "declined"
    jr.decided_by_id = actor.id
    jr.decided_at = utcnow()
    if approve and not jr.user.membership_in(org):
        db.session.add(Membership(user=jr.user, organization=org, role=OrgRole(role).value))
    audit.record(f"org.join_{jr.status}", org, actor=actor, user_id=jr.user_id, role=role)
    notify(jr.user, "org.join_decided",
           str(_l("Запрос на доступ к «%(org)s» одобрен.", org=org.name) if approve
               else _l("Запрос на доступ к «%(org)s» отклонён.", org=org.name)),
           url=f"/orgs/{org.id}" if approve else None)


def invite_member(org: Organization, *, actor: User, email: str, role: str) -> Invitation:
    """Invite someone by e-mail with a role; the signed link works for INVITATION_DAYS."""
    if not org.can_manage_members(actor):
        raise PermissionDenied(_l("Приглашать может только владелец организации."))
    email = normalize_email(email)
    if any(m.user.email == email for m in org.memberships):
        raise DomainError(_l("Этот пользователь уже состоит в организации."))
    inv = Invitation(organization=org, email=email, role=OrgRole(role).value,
                     invited_by_id=actor.id,
                     expires_at=utcnow() + timedelta(days=INVITATION_DAYS))
    db.session.add(inv)
    db.session.flush()
    token = make_token("invite", {"id": inv.id, "email": email})
    link = current_app.config["PUBLIC_URL"] + url_for("orgs.accept_invitation", token=token)
    queue_email(email, _l("Приглашение в «%(org)s» на Qaldyq", org=org.name),
                "email/invitation.txt", org=org, inviter=actor, link=link,
                role=OrgRole(role).label)
    audit.record("member.invited", org, actor=actor, email=email, role=role)
    return inv


def invitation_from_token(token: str) -> Invitation | None:
    payload = read_token("invite", token, max_age=INVITATION_DAYS * 24 * 3600)
    inv = db.session.get(Invitation, payload["id"]) if payload else None
    if inv is None or inv.email != payload.get("email"):
        return None
    return inv


def accept_invitation(inv: Invitation, *, actor: User) -> Membership:
    if inv.status != "pending" or inv.expires_at < utcnow():
        raise DomainError(_l("Приглашение уже использовано, отозвано или истекло."))
    if normalize_email(actor.email) != inv.email:
        raise PermissionDenied(
            _l("Приглашение отправлено на %(email)s: войдите с этим адресом.", email=inv.email))
    org = inv.organization
    membership = actor.membership_in(org)
    if membership is None:
        membership = Membership(user=actor, organization=org, role=inv.role)
        db.session.add(membership)
    inv.status = "accepted"
    inv.accepted_at = utcnow()
    inv.accepted_by_id = actor.id
    actor.current_org_id = org.id
    if actor.email_confirmed_at is None:  # the link proved the address
        actor.email_confirmed_at = utcnow()
    audit.record("member.joined", org, actor=actor, role=inv.role, invitation_id=inv.id)
    return membership


def revoke_invitation(inv: Invitation, *, actor: User) -> None:
    if not inv.organization.can_manage_members(actor):
        raise PermissionDenied(_l("Отзывать приглашения может только владелец."))
    if inv.status != "pending":
        raise DomainError(_l("Приглашение уже использовано или отозвано."))
    inv.status = "revoked"
    audit.record("member.invitation_revoked", inv.organization, actor=actor, email=inv.email)


def _owner_count(org: Organization) -> int:
    return sum(1 for m in org.memberships if m.role == OrgRole.owner.value)


def change_role(membership: Membership, *, actor: User, role: str) -> None:
    org = membership.organization
    if not org.can_manage_members(actor):
        raise PermissionDenied(_l("Менять роли может только владелец организации."))
    lock_for_update(org)
    db.session.refresh(org, ["memberships"])
    new_role = OrgRole(role).value
    if membership.role == new_role:
        return
    if membership.role == OrgRole.owner.value and _owner_count(org) <= 1:
        raise DomainError(_l("Нельзя понизить последнего владельца: сначала назначьте другого."))
    old = membership.role
    membership.role = new_role
    audit.record("member.role_changed", org, actor=actor, user_id=membership.user_id,
                 old=old, new=new_role)
    notify(membership.user, "org.role",
           str(_l("Ваша роль в «%(org)s»: %(role)s", org=org.name, role=OrgRole(new_role).label)))


def remove_member(membership: Membership, *, actor: User) -> None:
    """Owners remove members; anyone may leave. Never the last owner."""
    org = membership.organization
    leaving = membership.user_id == actor.id
    if not leaving and not org.can_manage_members(actor):
        raise PermissionDenied(_l("Удалять участников может только владелец организации."))
    lock_for_update(org)
    db.session.refresh(org, ["memberships"])
    if membership.role == OrgRole.owner.value and _owner_count(org) <= 1:
        raise DomainError(_l("Нельзя удалить последнего владельца организации."))
    user = membership.user
    audit.record("member.left" if leaving else "member.removed", org, actor=actor,
                 user_id=membership.user_id, role=membership.role)
    db.session.delete(membership)
    if user.current_org_id == org.id:
        user.current_org_id = None
    db.session.flush()


def switch_organization(org: Organization, *, actor: User) -> None:
    if actor.membership_in(org) is None:
        raise PermissionDenied(_l("Вы не состоите в этой организации."))
    actor.current_org_id = org.id
