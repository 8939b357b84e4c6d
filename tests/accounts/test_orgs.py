"""Organisations: creation by BIN, joining, invitations, roles, switching."""

import re

import pytest

from market.accounts import org_operations as ops
from market.accounts.models import Invitation, Membership, Organization
from market.core.errors import DomainError, PermissionDenied
from market.core.models import AuditEvent, Notification
from market.extensions import db
from tests.factories import valid_bin


def _org_form(bin_, **kw):
    return {"bin": bin_, "name": "ТОО «Тест»", "region_kato": "350000000",
            "address": "Караганда, ул. Ленина 1", "kinds": ["holder", "processor"], **kw}


def test_create_org_via_form(client, auth, create_user):
    user = create_user()
    auth.login(user.email)
    r = client.post("/orgs/new", data=_org_form(valid_bin(9001)))
    assert r.status_code == 302
    org = db.session.scalars(db.select(Organization).where(Organization.bin == valid_bin(9001))).one()
    assert org.state == "pending" and org.kinds == ["holder", "processor"]
    assert user.role_in(org) == "owner" and user.current_org_id == org.id
    assert db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "org.created")).first()


def test_wrong_bin_gets_clear_message(client, auth, create_user):
    auth.login(create_user().email)
    r = client.post("/orgs/new", data=_org_form("940140000386"))
    assert r.status_code == 200
    assert "Неверная контрольная цифра БИН" in r.get_data(as_text=True)


def test_taken_bin_offers_to_join(client, auth, create_user, create_org):
    org = create_org()
    auth.login(create_user().email)
    r = client.post("/orgs/new", data=_org_form(org.bin))
    html = r.get_data(as_text=True)
    assert "уже зарегистрирована" in html and f"/orgs/{org.id}/join" in html


def test_join_request_and_approval(client, auth, create_user, create_org):
    org = create_org()
    owner = org.owners[0].user
    requester = create_user()
    auth.login(requester.email)
    assert client.post(f"/orgs/{org.id}/join", data={"message": "Я инженер-эколог"}).status_code == 302
    assert db.session.scalars(db.select(Notification).where(Notification.user_id == owner.id)).first()
    with pytest.raises(DomainError):
        ops.request_to_join(org, actor=requester)  # only one pending request
    auth.logout()
    auth.login(owner.email)
    jr_id = db.session.scalars(db.select(ops.JoinRequest.id)).first()
    client.post(f"/orgs/{org.id}/join-requests/{jr_id}", data={"decision": "approve", "role": "viewer"})
    db.session.refresh(requester)
    assert requester.role_in(org) == "viewer"


def test_invitation_flow(client, auth, create_user, create_org, mailbox):
    org = create_org()
    owner = org.owners[0].user
    auth.login(owner.email)
    r = client.post(f"/orgs/{org.id}/invitations", data={"email": "New@Example.kz", "role": "manager"})
    assert r.status_code == 302
    body = mailbox[-1].get_content()
    link = re.search(r"http://[^\s]+(/invitations/[^\s]+)", body).group(1)
    auth.logout()
    other = create_user("someone@example.kz")
    auth.login(other.email)
    r = client.post(link, follow_redirects=True)
    assert "new@example.kz" in r.get_data(as_text=True)  # the wrong account is refused
    assert other.role_in(org) is None
    auth.logout()
    invitee = create_user("new@example.kz")
    auth.login(invitee.email)
    assert client.post(link).status_code == 302
    db.session.refresh(invitee)
    assert invitee.role_in(org) == "manager"
    assert db.session.scalars(db.select(Invitation)).one().status == "accepted"
    r = client.post(link, follow_redirects=True)  # a second use is refused
    assert "использовано" in r.get_data(as_text=True)


def test_only_owner_invites(create_org, create_user, add_member):
    org = create_org()
    manager = create_user()
    add_member(org, manager, "manager")
    with pytest.raises(PermissionDenied):
        ops.invite_member(org, actor=manager, email="x@example.kz", role="member")


def test_last_owner_cannot_be_demoted_or_removed(create_org):
    org = create_org()
    owner_m = org.owners[0]
    with pytest.raises(DomainError):
        ops.change_role(owner_m, actor=owner_m.user, role="member")
    with pytest.raises(DomainError):
        ops.remove_member(owner_m, actor=owner_m.user)


def test_owner_changes_roles_and_removes(create_org, create_user, add_member):
    org = create_org()
    owner = org.owners[0].user
    member = create_user()
    m = add_member(org, member, "member")
    ops.change_role(m, actor=owner, role="owner")
    assert m.role == "owner"
    first = owner.membership_in(org)
    ops.change_role(first, actor=member, role="manager")  # two owners: demoting one is allowed
    assert first.role == "manager"
    with pytest.raises(DomainError):
        ops.change_role(m, actor=member, role="member")  # but not the last one
    ops.remove_member(first, actor=member)
    assert db.session.get(Membership, first.id) is None


def test_member_cannot_remove_others(create_org, create_user, add_member):
    org = create_org()
    a, b = create_user(), create_user()
    add_member(org, a, "manager")
    mb = add_member(org, b, "member")
    with pytest.raises(PermissionDenied):
        ops.remove_member(mb, actor=a)


def test_user_in_two_orgs_switches(client, auth, create_user, create_org, add_member):
    user = create_user()
    org1 = create_org(owner=user)
    org2 = create_org()
    add_member(org2, user, "member")
    auth.login(user.email)
    client.post(f"/orgs/{org2.id}/switch", data={"next": "/orgs"})
    db.session.refresh(user)
    assert user.current_org.id == org2.id
    assert client.post(f"/orgs/{create_org().id}/switch").status_code == 403
    assert user.current_org.id == org2.id
    assert org1.id != org2.id


def test_owner_sees_audit_log_member_does_not(client, auth, create_user, create_org, add_member):
    org = create_org()
    member = create_user()
    add_member(org, member, "manager")
    auth.login(member.email)
    assert client.get(f"/orgs/{org.id}/audit").status_code == 403
    auth.logout()
    auth.login(org.owners[0].user.email)
    assert client.get(f"/orgs/{org.id}/audit").status_code == 200


def test_official_verifies_via_ui(client, auth, create_org, create_official):
    org = create_org(state="pending")
    official = create_official(regions=["350000000"])
    auth.login(official.email)
    r = client.get("/official/organizations")
    assert org.name in r.get_data(as_text=True)
    r = client.post(f"/official/organizations/{org.id}/review", data={"action": "reject", "reason": ""},
                    follow_redirects=True)
    assert "Укажите причину" in r.get_data(as_text=True)
    assert org.state == "pending"
    client.post(f"/official/organizations/{org.id}/review", data={"action": "verify"})
    db.session.refresh(org)
    assert org.state == "verified"
    r = client.post(f"/official/organizations/{org.id}/review", data={"action": "verify"},
                    follow_redirects=True)
    assert r.status_code == 200 and "уже выполнено" in r.get_data(as_text=True)
