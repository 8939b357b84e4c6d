"""Complaints against a deal: who may file, the assignment, the pause of the deal's deadlines
and the reasoned decision.

* A party's owner or manager complains about the award, a signature step or an official
  decision (the review decided); a losing bidder's owner or manager only about the award. One
  open complaint per organisation and deal.
* It is assigned to an official of the deal's region who is not a member of a party, not the
  complainant's colleague and not the official who decided the review (the least loaded, then
  the lowest id); without one any such official may decide it.
* While it is open the deal's deadlines pause: the decision pushes the signing deadline (a deal
  still waiting for signatures) and the review deadline (a case still submitted) by the time
  the complaint was open.
* The decision (upheld / dismissed) needs a reason; it is due in COMPLAINT_WORKING_DAYS working
  days. An upheld complaint about an approval lets the official cancel the registered transfer
  (market.deals.cancellation). Ledger entry ``complaint.decided``; the parties and the
  complainant are notified (in-app and e-mail); both steps are audited.
Operations flush, never commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from market.accounts.models import Organization, OrgRole, User
from market.auctions.models import Bid
from market.core import audit
from market.core.errors import DomainError, PermissionDenied
from market.core.locking import lock_for_update
from market.core.notify import notify, queue_email
from market.core.timeutil import to_almaty, utcnow
from market.deals import lifecycle
from market.deals import review as review_flow
from market.deals.models import OPEN_STATES, Deal
from market.deals.models_complaint import SUBJECTS, Complaint
from market.deals.operations import sign_by
from market.extensions import db
from market.ledger.operations import append
from market.lots.wanted import managers

DEFAULT_COMPLAINT_DAYS = 10
TEXT_MAX = 4000
OUTCOMES = ("upheld", "dismissed")


def complaint_deadline(now: datetime) -> datetime:
    days = int(current_app.config.get("COMPLAINT_WORKING_DAYS", DEFAULT_COMPLAINT_DAYS))
    return sign_by(now, days)


def url_of(complaint: Complaint) -> str:
    return f"/complaints/{complaint.id}"


# Who may file ----------------------------------------------------------------------------------
def filing_roles(deal: Deal, user: User) -> list[tuple[str, Organization]]:
    """(role, organisation) the user may complain as: seller, buyer (owner or manager of a party)
    or bidder (of an organisation whose bid on the lot lost)."""
    if not (user.is_authenticated and getattr(user, "active", True)):
        return []
    out = [(role, org) for role, org in (("seller", deal.seller), ("buyer", deal.buyer))
           if user.has_org_role(org, OrgRole.manager)]
    if not out:
        lost = db.session.scalars(select(Bid.organization_id).where(
            Bid.lot_id == deal.lot_id, Bid.state == "lost",
            Bid.organization_id.notin_((deal.seller_id, deal.buyer_id)))).all()
        out = [("bidder", m.organization) for m in user.memberships
               if m.organization_id in lost and user.has_org_role(m.organization, OrgRole.manager)]
    return out


def subjects_for(deal: Deal, role: str) -> list[str]:
    if role == "bidder":
        return ["award"]
    case = review_flow.review_of(deal)
    decided = case is not None and case.state in ("approved", "rejected", "returned")
    return [s for s in SUBJECTS if s != "decision" or decided]


def open_complaint(deal: Deal, org_id: int) -> Complaint | None:
    return db.session.scalar(select(Complaint).where(
        Complaint.deal_id == deal.id, Complaint.organization_id == org_id,
        Complaint.state == "open").limit(1))


def can_file(deal: Deal, user: User) -> bool:
    return any(open_complaint(deal, org.id) is None for _r, org in filing_roles(deal, user))


def clean_text(value, message) -> str:
    value = value.strip() if isinstance(value, str) else ""
    if not value:
        raise DomainError(message)
    if len(value) > TEXT_MAX:
        raise DomainError(_l("Не длиннее %(n)s символов."), n=TEXT_MAX)
    return value


# Assignment ------------------------------------------------------------------------------------
def involved(deal: Deal, user: User, org_id: int | None = None) -> bool:
    """The official decided the deal's review, or belongs to a party or the complainant."""
    case = review_flow.review_of(deal)
    if case is not None and case.official_id == user.id:
        return True
    return any(m.organization_id in (deal.seller_id, deal.buyer_id, org_id)
               for m in user.memberships)


def eligible_officials(deal: Deal, org_id: int | None = None) -> list[User]:
    return [u for u in review_flow.region_officials(deal.region_kato)
            if review_flow.may_review(deal, u) and not involved(deal, u, org_id)]


def _assignee(deal: Deal, org_id: int) -> User | None:
    officials = eligible_officials(deal, org_id)
    if not officials:
        return None
    load = dict(db.session.execute(select(Complaint.official_id, func.count(Complaint.id)).where(
        Complaint.state == "open", Complaint.official_id.in_([u.id for u in officials]))
        .group_by(Complaint.official_id)).all())
    return min(officials, key=lambda u: (load.get(u.id, 0), u.id))


# Filing ----------------------------------------------------------------------------------------
def file(deal: Deal, *, actor: User, subject, grounds, organization_id=None,
         now: datetime | None = None) -> Complaint:
    """File a complaint. :raise PermissionDenied: the actor may not complain about this deal.
    :raise DomainError: a bad subject, no grounds, an open complaint of the same organisation."""
    now = now or utcnow()
    roles = filing_roles(deal, actor)
    if not roles:
        raise PermissionDenied(_l("Жалобу подаёт владелец или менеджер стороны сделки либо "
                                  "участника торгов, не получившего лот."))
    if organization_id is not None:
        roles = [(r, o) for r, o in roles if o.id == organization_id] or roles[:0]
        if not roles:
            raise DomainError(_l("Выберите организацию, от имени которой подаётся жалоба."))
    role, org = roles[0]
    if subject not in subjects_for(deal, role):
        raise DomainError(_l("Выберите, что обжалуется."))
    grounds = clean_text(grounds, _l("Изложите основания жалобы."))
    lifecycle.lock_deal(deal)
    if open_complaint(deal, org.id) is not None:
        raise DomainError(_l("Жалоба вашей организации по этой сделке уже рассматривается."))
    official = _assignee(deal, org.id)
    complaint = Complaint(deal_id=deal.id, region_kato=deal.region_kato, complainant_id=actor.id,
                          organization_id=org.id, role=role, subject=subject, grounds=grounds,
                          state="open", filed_at=now, deadline=complaint_deadline(now),
                          official_id=getattr(official, "id", None))
    db.session.add(complaint)
    db.session.flush()
    audit.record("complaint.filed", deal, actor=actor, organization=org, complaint_id=complaint.id,
                 subject=subject, role=role, official=complaint.official_id,
                 deadline=complaint.deadline.isoformat())
    text = str(_l("Подана жалоба №%(n)s по сделке №%(id)s (%(subject)s); срок решения — %(by)s.",
                  n=complaint.id, id=deal.id, subject=complaint.subject_label,
                  by=to_almaty(complaint.deadline).strftime("%d.%m.%Y")))
    for user in ([official] if official else eligible_officials(deal, org.id)):
        notify(user, "complaint.filed", text, url_of(complaint))
    for user in _parties(deal, complaint):
        notify(user, "complaint.filed", text, url_of(complaint))
    db.session.flush()
    return complaint


def _parties(deal: Deal, complaint: Complaint) -> list[User]:
    """The parties' owners and managers and the complainant, once each."""
    seen, out = set(), []
    for user in [*managers(deal.seller_id), *managers(deal.buyer_id), complaint.complainant]:
        if user is not None and user.id not in seen:
            seen.add(user.id)
            out.append(user)
    return out


# The decision ----------------------------------------------------------------------------------
def refusal_for(complaint: Complaint, user: User):
    """Why ``user`` may not decide the complaint (a message), or None."""
    deal = complaint.deal
    refusal = review_flow.refusal_for(deal, user)
    if refusal is not None:
        return refusal
    if involved(deal, user, complaint.organization_id):
        return _l("Вы участвовали в обжалуемом решении или состоите в организации жалобщика: "
                  "решение принимает другой сотрудник.")
    if complaint.official_id not in (None, user.id):
        return _l("Жалоба назначена другому сотруднику.")
    return None


def may_decide(complaint: Complaint, user: User) -> bool:
    return complaint.is_open and refusal_for(complaint, user) is None


def _push_deadlines(deal: Deal, paused: timedelta, now: datetime) -> dict:
    """The deal's running deadlines move by the time the complaint was open."""
    moved = {}
    if deal.state in OPEN_STATES:
        new = deal.sign_by + paused
        db.session.execute(update(Deal.__table__).where(Deal.__table__.c.id == deal.id)
                           .values(sign_by=new, updated_at=now))
        set_committed_value(deal, "sign_by", new)
        moved["sign_by"] = new.isoformat()
    case = review_flow.review_of(deal)
    if case is not None and case.state == "submitted":
        case.deadline = case.deadline + paused
        moved["review_deadline"] = case.deadline.isoformat()
    return moved


def decide(complaint: Complaint, outcome, *, actor: User, reason,
           now: datetime | None = None) -> Complaint:
    """An official upholds or dismisses the complaint with a reason.

    :raise PermissionDenied: not an eligible official. :raise DomainError: decided already, a
    bad outcome, no reason."""
    now = now or utcnow()
    refusal = refusal_for(complaint, actor)
    if refusal is not None:
        raise PermissionDenied(refusal)
    if outcome not in OUTCOMES:
        raise DomainError(_l("Выберите решение: удовлетворить или отклонить жалобу."))
    reason = clean_text(reason, _l("Укажите мотивы решения."))
    deal = complaint.deal
    lifecycle.lock_deal(deal)
    lock_for_update(complaint)
    db.session.refresh(complaint)
    if not complaint.is_open:
        raise DomainError(_l("Решение по жалобе уже принято: обновите страницу."))
    table = Complaint.__table__
    paused = max(now - complaint.filed_at, timedelta(0))
    values = {"state": outcome, "decided_at": now, "decided_by_id": actor.id, "reason": reason,
              "paused_seconds": int(paused.total_seconds())}
    row = db.session.execute(update(table).where(table.c.id == complaint.id, table.c.state == "open")
                             .values(**values).returning(table.c.id)).first()
    if row is None:
        db.session.expire(complaint)
        raise DomainError(_l("Решение по жалобе уже принято: обновите страницу."))
    for key, value in values.items():
        set_committed_value(complaint, key, value)
    moved = _push_deadlines(deal, paused, now)
    entry = append("complaint.decided", {
        "deal": deal.id, "complaint": complaint.id, "subject": complaint.subject,
        "role": complaint.role, "outcome": outcome, "reason": reason, "official": actor.id,
        "region_kato": deal.region_kato,
        "complainant": {"id": complaint.organization_id, "bin": complaint.organization.bin,
                        "name": complaint.organization.name},
        "filed_at": complaint.filed_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "paused_seconds": complaint.paused_seconds})
    audit.record("complaint.decided", deal, actor=actor, organization=complaint.organization,
                 complaint_id=complaint.id, outcome=outcome, reason=reason,
                 ledger=[entry.sequence], deadlines=moved)
    _tell_decision(deal, complaint)
    db.session.flush()
    return complaint


def allows_cancellation(complaint: Complaint) -> bool:
    """An upheld complaint about the approval of a still registered transfer."""
    return (complaint.state == "upheld" and complaint.subject == "decision"
            and complaint.deal.state == "registered")


def _tell_decision(deal: Deal, complaint: Complaint) -> None:
    text = str(_l("По жалобе №%(n)s (сделка №%(id)s) принято решение: %(outcome)s. Мотивы: "
                  "%(reason)s", n=complaint.id, id=deal.id, outcome=complaint.state_label,
                  reason=complaint.reason))
    link = current_app.config["PUBLIC_URL"].rstrip("/") + url_of(complaint)
    for user in _parties(deal, complaint):
        notify(user, "complaint.decided", text, url_of(complaint))
        queue_email(user.email, _l("Решение по жалобе №%(n)s", n=complaint.id),
                    "email/review_decision.txt", user=user, text=text, link=link)


def can_view(complaint: Complaint, user: User) -> bool:
    return bool(user.is_authenticated and (
        user.is_admin or user.official_covers(complaint.region_kato)
        or user.membership_in(complaint.organization) or complaint.deal.can_view(user)))
