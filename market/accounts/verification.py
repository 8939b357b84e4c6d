"""Organisation verification: pending -> verified / rejected; verified <-> suspended."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from market.accounts.models import Organization, User
from market.core import audit
from market.core.errors import PermissionDenied
from market.core.notify import notify, queue_email
from market.core.statemachine import StateMachine
from market.core.timeutil import utcnow
from market.ledger.operations import record_org_decision


def _reason_required(org, *, reason=None, **_):
    if not (reason or "").strip():
        return _l("Укажите причину: её увидит организация.")
    return None


ORG_VERIFICATION = StateMachine(
    name="organization",
    states=("pending", "verified", "rejected", "suspended"),
    transitions={
        ("pending", "verify"): "verified",
        ("pending", "reject"): "rejected",
        ("rejected", "resubmit"): "pending",
        ("verified", "suspend"): "suspended",
        ("suspended", "reinstate"): "verified",
    },
    guards={"reject": (_reason_required,), "suspend": (_reason_required,)},
)

OFFICIAL_ACTIONS = {"verify", "reject", "suspend", "reinstate"}

ACTION_LABELS = {
    "verify": _l("подтверждена"),
    "reject": _l("отклонена"),
    "suspend": _l("приостановлена"),
    "reinstate": _l("восстановлена"),
    "resubmit": _l("повторно отправлена на проверку"),
}


def decide(org: Organization, action: str, *, actor: User, reason: str | None = None) -> None:
    """Perform one verification transition with its checks, audit and notifications."""
    if action in OFFICIAL_ACTIONS and not org.can_review(actor):
        raise PermissionDenied(_l("Вы не можете проверять эту организацию."))
    if action == "resubmit" and not org.can_manage_members(actor):
        raise PermissionDenied(_l("Повторно отправить может только владелец организации."))
    old, new = ORG_VERIFICATION.fire(org, action, reason=reason)
    org.state_reason = (reason or "").strip() or None
    org.state_changed_at = utcnow()
    audit.record(f"org.{action}", org, actor=actor, old=old, new=new, reason=org.state_reason)
    record_org_decision(org, action, reason=org.state_reason)  # public ledger
    text = _l("Организация «%(name)s» %(what)s.", name=org.name, what=ACTION_LABELS[action])
    for m in org.owners:
        notify(m.user, "org.state", str(text), url=f"/orgs/{org.id}")
        queue_email(m.user.email, text, "email/org_state.txt", org=org, action=action,
                    reason=org.state_reason)
