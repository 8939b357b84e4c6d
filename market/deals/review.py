"""Official review of a signed agreement: submission, the queue's rules and the decisions.

The case (models_review.Review) moves: submitted -> approved | rejected (a reason) | returned
(comments); returned -> submitted again (resubmit). The deal moves with it (DEAL_FLOW: submit,
approve -> registered, reject -> rejected, return -> agreed with a fresh signing deadline and
the agreement open for a new, re-signed version).

Guards: an official decides only cases of the regions he covers and never a deal of an
organisation he belongs to. Every write runs under the deal's lock (the lot row, as the other
deal operations) and the case moves by a conditional UPDATE on its state, so two officials
deciding at once give exactly one decision; the other gets a clear refusal.
Operations flush, never commit.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from market.accounts.models import OrgRole, User
from market.core import audit
from market.core.errors import DomainError, PermissionDenied
from market.core.notify import notify, queue_email
from market.core.statemachine import StateMachine
from market.core.timeutil import to_almaty, utcnow
from market.deals import agreements, lifecycle, signing
from market.deals.models import OPEN_STATES, Deal
from market.deals.models_review import Review, ReviewStep
from market.deals.operations import sign_by
from market.extensions import db
from market.lots.wanted import managers
from market.registry.models import Site

DEFAULT_REVIEW_DAYS = 10
NOTE_MAX = 2000

REVIEW_FLOW = StateMachine(
    name="review",
    states=("submitted", "approved", "rejected", "returned"),
    transitions={
        ("submitted", "approve"): "approved",
        ("submitted", "reject"): "rejected",
        ("submitted", "return"): "returned",
        ("returned", "resubmit"): "submitted",
    },
)
DECISIONS = ("approve", "reject", "return")
# How the review moves the deal (the signing lifecycle's own table is models.DEAL_FLOW).
DEAL_REVIEW_FLOW = StateMachine(
    name="deal_review",
    states=("agreed", "offered", "submitted", "registered", "rejected"),
    transitions={
        ("agreed", "submit"): "submitted",
        ("offered", "submit"): "submitted",
        ("submitted", "approve"): "registered",
        ("submitted", "reject"): "rejected",
        ("submitted", "return"): "agreed",  # back for correction: re-signed, then resubmitted
    },
)


class ReviewChanged(DomainError):
    """Another official decided the case first."""


def review_of(deal: Deal) -> Review | None:
    return db.session.scalar(select(Review).where(Review.deal_id == deal.id))


def review_deadline(now: datetime) -> datetime:
    days = int(current_app.config.get("REVIEW_WORKING_DAYS", DEFAULT_REVIEW_DAYS))
    return sign_by(now, days)


def case_url(deal: Deal) -> str:
    return f"/review/{deal.id}"


# Submission ---------------------------------------------------------------------------------
def needs_site(deal: Deal) -> bool:
    """A stream lot moves tonnes to a site of the buyer; a formation changes owner instead."""
    return deal.lot.stream_id is not None


def receiving_sites(deal: Deal) -> list[Site]:
    return list(db.session.scalars(select(Site).where(Site.organization_id == deal.buyer_id)
                                   .order_by(Site.name, Site.id)))


def submitter_party(deal: Deal, user: User) -> str | None:
    """The party the user may submit for: the buyer (it chooses the receiving site); for a
    formation lot either party. None when the user may not submit."""
    if not user.is_authenticated:
        return None
    if user.has_org_role(deal.buyer, OrgRole.manager):
        return "buyer"
    if not needs_site(deal) and user.has_org_role(deal.seller, OrgRole.manager):
        return "seller"
    return None


def can_submit(deal: Deal, user: User) -> bool:
    review = review_of(deal)
    return (submitter_party(deal, user) is not None and deal.state in OPEN_STATES
            and (review is None or review.state == "returned") and signing.is_fully_signed(deal))


def _site(deal: Deal, site_id) -> Site | None:
    if not needs_site(deal):
        return None
    site = db.session.get(Site, site_id) if isinstance(site_id, int) else None
    if site is None or site.organization_id != deal.buyer_id:
        raise DomainError(_l("Выберите площадку покупателя, на которую поступят отходы."))
    return site


def submit(deal: Deal, *, actor: User, site_id=None, now: datetime | None = None) -> Review:
    """A party submits the fully signed agreement for review (again after a return).

    A double click returns the case already submitted with the same hash.
    :raise PermissionDenied: the actor may not submit for a party.
    :raise DomainError: not fully signed, the deal does not wait, no valid receiving site.
    """
    now = now or utcnow()
    if submitter_party(deal, actor) is None:
        raise PermissionDenied(_l("На проверку договор подаёт владелец или менеджер покупателя."))
    lifecycle.lock_deal(deal)
    review = review_of(deal)
    agreement = agreements.agreement_of(deal)
    if review is not None:
        db.session.refresh(review)
        if review.state == "submitted" and agreement is not None and agreement.current is not None \
                and review.sha256 == agreement.current.sha256:
            return review  # a double click
        if review.state != "returned":
            raise DomainError(_l("Договор уже на проверке или решение по нему принято."))
    agreements.require_open(deal, now)
    if not signing.is_fully_signed(deal):
        raise DomainError(_l("Подать на проверку можно только договор, подписанный обеими сторонами."))
    site = _site(deal, site_id)
    version = agreement.current
    move_deal(deal, "submit", now)
    deadline = review_deadline(now)
    fields = {"version_id": version.id, "sha256": version.sha256, "submitted_at": now,
              "submitted_by_id": actor.id, "deadline": deadline, "official_id": None,
              "decided_at": None, "note": None, "reminded_on": None,
              "receiving_site_id": getattr(site, "id", None)}
    if review is None:
        review = Review(deal_id=deal.id, state="submitted", region_kato=deal.region_kato,
                        rounds=1, **fields)
        db.session.add(review)
        db.session.flush()
        action = "submit"
    else:
        _move_review(review, "resubmit", rounds=review.rounds + 1, **fields)
        action = "resubmit"
    _step(review, action, actor, now, None)
    audit.record(f"review.{action}ted", deal, actor=actor, organization=_org_of(deal, actor),
                 review_id=review.id, sha256=version.sha256, version=version.number,
                 deadline=deadline.isoformat(), site_id=review.receiving_site_id)
    _tell_submitted(deal, review)
    db.session.flush()
    return review


def _org_of(deal: Deal, user: User):
    return deal.buyer if user.membership_in(deal.buyer) else deal.seller


# The officials' guards ------------------------------------------------------------------------
def refusal_for(deal: Deal, user: User):
    """Why ``user`` may not decide ``deal``'s case (a message), or None."""
    if not (user.is_authenticated and user.is_official):
        return _l("Решения по договорам принимают сотрудники уполномоченного органа.")
    if user.membership_in(deal.seller) or user.membership_in(deal.buyer):
        return _l("Вы состоите в организации — стороне сделки: решение принимает другой сотрудник.")
    if not user.official_covers(deal.region_kato):
        return _l("Сделка относится к региону, который вы не курируете.")
    return None


def may_review(deal: Deal, user: User) -> bool:
    return refusal_for(deal, user) is None


def clean_note(action: str, note) -> str | None:
    note = note.strip() if isinstance(note, str) else ""
    if action == "reject" and not note:
        raise DomainError(_l("Укажите причину отказа."))
    if action == "return" and not note:
        raise DomainError(_l("Укажите замечания: что исправить в договоре."))
    if len(note) > NOTE_MAX:
        raise DomainError(_l("Не длиннее %(n)s символов."), n=NOTE_MAX)
    return note or None


# Decisions ----------------------------------------------------------------------------------
def decide(deal: Deal, action: str, *, actor: User, note=None, now: datetime | None = None) -> Review:
    """An official approves (the rights are registered at once), rejects with a reason, or
    returns the agreement for correction with comments.

    :raise PermissionDenied: not an official of the region, or a member of a party.
    :raise IllegalTransition: the case is not waiting for a decision (DuplicateTransition when
        the same decision was made already).
    :raise ReviewChanged: another official decided it at the same moment.
    """
    from market.deals import registration

    if action not in DECISIONS:
        raise DomainError(_l("Неизвестное решение."))
    now = now or utcnow()
    refusal = refusal_for(deal, actor)
    if refusal is not None:
        raise PermissionDenied(refusal)
    note = clean_note(action, note)
    lifecycle.lock_deal(deal)
    review = review_of(deal)
    if review is None:
        raise DomainError(_l("Договор по этой сделке не подавался на проверку."))
    db.session.refresh(review)
    REVIEW_FLOW.target(review.state, action)
    _move_review(review, action, official_id=actor.id, decided_at=now, note=note)
    _step(review, action, actor, now, note)
    data = {}
    if action == "approve":
        if not signing.is_fully_signed(deal) or \
                agreements.agreement_of(deal).current.sha256 != review.sha256:
            raise DomainError(_l("Договор изменился после подачи: одобрить можно только поданную "
                                 "подписанную редакцию."))
        registration.register(deal, review, actor=actor, now=now)
    elif action == "reject":
        move_deal(deal, "reject", now, ended_at=now, ended_by_id=actor.id, end_reason=note)
        # a purchase gives its tonnes back to the offer, as a failed purchase does
        data = lifecycle._return_purchase(deal, now=now, actor=actor) if deal.is_purchase else {}
    else:
        _reopen(deal, actor=actor, now=now)
    audit.record(f"review.{action}", deal, actor=actor, organization=deal.seller,
                 review_id=review.id, sha256=review.sha256, reason=note, **data)
    _tell_decision(deal, review, action)
    db.session.flush()
    return review


def _reopen(deal: Deal, *, actor: User, now: datetime) -> None:
    """Returned for correction: the deal waits for signatures again (a fresh deadline) and the
    agreement opens for a new version, which both parties sign before resubmitting."""
    move_deal(deal, "return", now, sign_by=sign_by(now))
    agreement = agreements.agreement_of(deal)
    agreement.state, agreement.signed_at, agreement.updated_at = "signing", None, now
    db.session.flush()
    agreements.sync_agreement(deal, actor=actor, now=now, locked=True)


def move_deal(deal: Deal, action: str, now: datetime, **values) -> str:
    """deal.state -> DEAL_REVIEW_FLOW's target in one conditional UPDATE (as lifecycle.move_deal
    does for the signing lifecycle); lifecycle.DealChanged if the deal moved meanwhile."""
    source = deal.state
    target = DEAL_REVIEW_FLOW.target(source, action)
    table = Deal.__table__
    values = {"state": target, "updated_at": now, **values}
    row = db.session.execute(update(table).where(table.c.id == deal.id, table.c.state == source)
                             .values(**values).returning(table.c.id)).first()
    if row is None:
        db.session.expire(deal)
        raise lifecycle.DealChanged(_l("Сделка уже изменилась: обновите страницу."))
    for key, value in values.items():
        set_committed_value(deal, key, value)
    return target


def _move_review(review: Review, action: str, **values) -> None:
    """review.state -> REVIEW_FLOW's target in one conditional UPDATE; ReviewChanged if moved."""
    source = review.state
    target = REVIEW_FLOW.target(source, action)
    table = Review.__table__
    values = {"state": target, **values}
    row = db.session.execute(update(table).where(table.c.id == review.id, table.c.state == source)
                             .values(**values).returning(table.c.id)).first()
    if row is None:
        db.session.expire(review)
        raise ReviewChanged(_l("Решение по договору уже принято: обновите страницу."))
    for key, value in values.items():
        set_committed_value(review, key, value)


def _step(review: Review, action: str, actor: User, now: datetime, note) -> None:
    db.session.add(ReviewStep(review_id=review.id, action=action, at=now, actor_id=actor.id,
                              sha256=review.sha256, note=note))


# Notices --------------------------------------------------------------------------------------
def region_officials(region_kato: str) -> list[User]:
    """Active officials covering the region (an official without regions covers all)."""
    users = db.session.scalars(select(User).where(User.is_official.is_(True), User.active)
                               .order_by(User.id)).all()
    return [u for u in users if u.official_covers(region_kato)]


def _tell_submitted(deal: Deal, review: Review) -> None:
    text = _l("Договор по сделке №%(id)s подан на проверку; срок решения — %(by)s.", id=deal.id,
              by=to_almaty(review.deadline).strftime("%d.%m.%Y"))
    for user in region_officials(deal.region_kato):
        if may_review(deal, user):
            notify(user, "review.submitted", str(text), case_url(deal))
    for org_id in (deal.seller_id, deal.buyer_id):
        for user in managers(org_id):
            notify(user, "review.submitted", str(text), f"/deals/{deal.id}")


DECISION_TEXTS = {
    "approve": _l("Договор по сделке №%(id)s одобрен: передача прав зарегистрирована в реестре."),
    "reject": _l("Договор по сделке №%(id)s отклонён уполномоченным органом. Причина: %(note)s"),
    "return": _l("Договор по сделке №%(id)s возвращён на доработку. Замечания: %(note)s"),
}


def _tell_decision(deal: Deal, review: Review, action: str) -> None:
    """Both parties hear every decision: in-app and by e-mail (outbox)."""
    text = str(DECISION_TEXTS[action] % {"id": deal.id, "note": review.note or ""})
    link = current_app.config["PUBLIC_URL"].rstrip("/") + f"/deals/{deal.id}"
    for org_id in (deal.seller_id, deal.buyer_id):
        for user in managers(org_id):
            notify(user, f"review.{action}", text, f"/deals/{deal.id}")
            queue_email(user.email, _l("Решение по договору сделки №%(id)s", id=deal.id),
                        "email/review_decision.txt", user=user, text=text, link=link)
