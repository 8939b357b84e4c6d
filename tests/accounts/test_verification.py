"""The organisation verification state machine: every legal and illegal transition."""

import pytest

from market.accounts.verification import ORG_VERIFICATION, decide
from market.core.errors import GuardFailed, IllegalTransition, PermissionDenied
from market.core.models import AuditEvent
from market.extensions import db

LEGAL = {
    ("pending", "verify"): "verified",
    ("pending", "reject"): "rejected",
    ("rejected", "resubmit"): "pending",
    ("verified", "suspend"): "suspended",
    ("suspended", "reinstate"): "verified",
}


def test_table_is_exactly_the_legal_set():
    assert ORG_VERIFICATION.transitions == LEGAL


@pytest.mark.parametrize("state,action,target", list(ORG_VERIFICATION.table()))
def test_every_state_action_pair(state, action, target, create_org, create_official):
    org = create_org(state=state)
    official = create_official()
    owner = org.owners[0].user
    actor = owner if action == "resubmit" else official
    if target is None:
        with pytest.raises(IllegalTransition):
            decide(org, action, actor=actor, reason="причина")
        assert org.state == state
        return
    decide(org, action, actor=actor, reason="причина")
    assert org.state == target
    event = db.session.scalars(db.select(AuditEvent).where(
        AuditEvent.action == f"org.{action}", AuditEvent.object_id == str(org.id))).one()
    assert event.actor_id == actor.id
    assert event.data["old"] == state and event.data["new"] == target


@pytest.mark.parametrize("action", ["reject", "suspend"])
def test_reason_is_required(action, create_org, create_official):
    org = create_org(state="pending" if action == "reject" else "verified")
    with pytest.raises(GuardFailed):
        decide(org, action, actor=create_official(), reason="  ")


def test_official_outside_region_cannot_decide(create_org, create_official):
    org = create_org(state="pending", region="350000000")
    with pytest.raises(PermissionDenied):
        decide(org, "verify", actor=create_official(regions=["550000000"]))
    decide(org, "verify", actor=create_official(regions=["350000000"]))
    assert org.state == "verified"


def test_official_cannot_verify_own_organisation(create_org, create_official):
    official = create_official()
    org = create_org(owner=official, state="pending")
    with pytest.raises(PermissionDenied):
        decide(org, "verify", actor=official)


def test_plain_member_cannot_decide(create_org, create_user):
    org = create_org(state="pending")
    with pytest.raises(PermissionDenied):
        decide(org, "verify", actor=create_user())


def test_only_owner_resubmits(create_org, create_user, add_member):
    org = create_org(state="rejected")
    member = create_user()
    add_member(org, member, "manager")
    with pytest.raises(PermissionDenied):
        decide(org, "resubmit", actor=member)


def test_decision_notifies_owners(create_org, create_official):
    from market.core.models import Notification, OutboxEmail

    org = create_org(state="pending")
    decide(org, "reject", actor=create_official(), reason="Неверный адрес")
    owner = org.owners[0].user
    assert db.session.scalars(db.select(Notification).where(
        Notification.user_id == owner.id)).first()
    mail = db.session.scalars(db.select(OutboxEmail).where(
        OutboxEmail.recipient == owner.email)).one()
    assert "Неверный адрес" in mail.body


def test_unverified_org_cannot_act_on_market(create_org):
    for state, ok in [("pending", False), ("verified", True), ("rejected", False),
                      ("suspended", False)]:
        assert create_org(state=state).can_act_on_market() is ok
