"""Official review of a signed agreement: submission, every legal and illegal transition of the
case, the officials' guards, notices, the reminders job, and two officials at once (PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from market.core.errors import DomainError, DuplicateTransition, IllegalTransition, PermissionDenied
from market.core.models import Notification, OutboxEmail
from market.core.timeutil import to_almaty, utcnow
from market.deals import agreements, nextbest, review, signing
from market.deals.jobs_review import remind_overdue
from market.deals.models_review import Review, ReviewStep
from market.extensions import db
from market.registry import operations as registry_ops
from tests.conftest import is_postgres

PASSWORD = "correct-horse-9"
PLAN = "Переплавка в индукционной печи на площадке в Темиртау, вывоз за неделю."
REGION = "350000000"


def sign_both(deal, seller, buyer_user):
    for user in (seller, buyer_user):
        signing.sign(deal, actor=user, digest=agreements.agreement_of(deal).current.sha256,
                     credentials={"password": PASSWORD})
    db.session.expire_all()


@pytest.fixture
def signed(sealed_award, owner):
    """A fully signed deal: (deal, seller owner, buyer user, the buyer's receiving site)."""
    deal, ((buyer, buyer_user), _b, _c) = sealed_award
    agreements.set_plan(deal, actor=buyer_user, plan=PLAN, operation_code="R4")
    sign_both(deal, owner, buyer_user)
    site = registry_ops.create_site(buyer, actor=buyer_user, name="Цех переработки", kind="processing",
                                    region_kato=REGION, address="г. Темиртау", lat=50.05, lon=72.96)
    return deal, owner, buyer_user, site


@pytest.fixture
def official(create_official):
    return create_official(regions=(REGION,))


@pytest.fixture
def submitted(signed):
    deal, _seller, buyer_user, site = signed
    review.submit(deal, actor=buyer_user, site_id=site.id)
    return signed


def case_in(state, signed, official):
    """Bring the signed deal's case into ``state``."""
    deal, _seller, buyer_user, site = signed
    review.submit(deal, actor=buyer_user, site_id=site.id)
    if state in ("approved", "rejected", "returned"):
        action = {"approved": "approve", "rejected": "reject", "returned": "return"}[state]
        review.decide(deal, action, actor=official, note="Нет подписи директора")
    return review.review_of(deal)


def fire(action, signed, official):
    deal, _seller, buyer_user, site = signed
    if action == "resubmit":
        # a returned agreement is re-signed before it is resubmitted
        if agreements.agreement_of(deal).state == "signing":
            sign_both(deal, signed[1], buyer_user)
        return review.submit(deal, actor=buyer_user, site_id=site.id)
    return review.decide(deal, action, actor=official, note="Замечание")


# Submission ---------------------------------------------------------------------------------
def test_buyer_submits_with_a_deadline_of_ten_working_days(signed):
    deal, _seller, buyer_user, site = signed
    friday = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)  # 10:00 in Almaty, a Friday
    case = review.submit(deal, actor=buyer_user, site_id=site.id, now=friday)
    assert case.state == "submitted" and deal.state == "submitted"
    assert case.sha256 == agreements.agreement_of(deal).current.sha256
    assert case.receiving_site_id == site.id and case.region_kato == deal.region_kato
    assert to_almaty(case.deadline).date().isoformat() == "2026-12-11"  # two weekends skipped
    assert [s.action for s in case.steps] == ["submit"]
    # a double click returns the same case
    assert review.submit(deal, actor=buyer_user, site_id=site.id) is case


def test_deadline_is_configurable(app, signed):
    deal, _seller, buyer_user, site = signed
    monday = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)
    app.config["REVIEW_WORKING_DAYS"] = 3
    try:
        case = review.submit(deal, actor=buyer_user, site_id=site.id, now=monday)
    finally:
        app.config.pop("REVIEW_WORKING_DAYS")
    assert to_almaty(case.deadline).date().isoformat() == "2026-11-26"


def test_only_a_fully_signed_agreement_is_submitted(sealed_award, owner, create_org):
    deal, ((buyer, buyer_user), _b, _c) = sealed_award
    agreements.set_plan(deal, actor=buyer_user, plan=PLAN, operation_code="R4")
    signing.sign(deal, actor=owner, digest=agreements.agreement_of(deal).current.sha256,
                 credentials={"password": PASSWORD})
    site = registry_ops.create_site(buyer, actor=buyer_user, name="Цех", kind="processing",
                                    region_kato=REGION, address="x", lat=50.0, lon=72.0)
    assert not review.can_submit(deal, buyer_user)
    with pytest.raises(DomainError, match="подписанный обеими"):
        review.submit(deal, actor=buyer_user, site_id=site.id)
    assert review.review_of(deal) is None


@pytest.mark.parametrize("site_choice", ["none", "foreign", "missing"])
def test_the_receiving_site_must_be_the_buyers(signed, site, site_choice):
    deal, _seller, buyer_user, _site = signed
    site_id = {"none": None, "foreign": site.id, "missing": 987654}[site_choice]
    with pytest.raises(DomainError, match="площадку покупателя"):
        review.submit(deal, actor=buyer_user, site_id=site_id)
    assert deal.state == "agreed"


def test_the_seller_and_outsiders_do_not_submit_a_stream_deal(signed, create_user):
    deal, seller, _buyer_user, site = signed
    for user in (seller, create_user()):
        assert not review.can_submit(deal, user)
        with pytest.raises(PermissionDenied):
            review.submit(deal, actor=user, site_id=site.id)


def test_a_submitted_deal_does_not_lapse(submitted):
    from market.deals import lifecycle

    deal = submitted[0]
    assert not lifecycle.lapse_deal(deal, now=deal.sign_by + timedelta(days=30))
    assert deal.state == "submitted"


# The state machine: every (state, action) pair ------------------------------------------------
STATES = ("submitted", "approved", "rejected", "returned")
ACTIONS = ("approve", "reject", "return", "resubmit")


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", ACTIONS)
def test_every_transition(signed, official, state, action):
    case = case_in(state, signed, official)
    deal = signed[0]
    target = review.REVIEW_FLOW.transitions.get((state, action))
    if (state, action) == ("submitted", "resubmit"):  # a double click: the same case, no step
        steps = len(case.steps)
        assert fire(action, signed, official) is case
        db.session.expire_all()
        assert review.review_of(deal).state == "submitted" and len(case.steps) == steps
        return
    if target is None:
        with pytest.raises(DomainError) as info:
            fire(action, signed, official)
        error = info.value
        if action != "resubmit":
            assert isinstance(error, IllegalTransition)
            duplicate = review.REVIEW_FLOW.transitions[("submitted", action)] == state
            assert isinstance(error, DuplicateTransition) == duplicate
        db.session.expire_all()
        assert review.review_of(deal).state == state
        return
    fire(action, signed, official)
    db.session.expire_all()
    case = review.review_of(deal)
    assert case.state == target
    expected_deal = {"approved": "registered", "rejected": "rejected", "returned": "agreed",
                     "submitted": "submitted"}[target]
    assert deal.state == expected_deal
    assert case.steps[-1].action == action


def test_the_table_is_what_the_workflow_needs():
    assert review.REVIEW_FLOW.transitions == {
        ("submitted", "approve"): "approved", ("submitted", "reject"): "rejected",
        ("submitted", "return"): "returned", ("returned", "resubmit"): "submitted"}
    assert review.DEAL_REVIEW_FLOW.transitions == {
        ("agreed", "submit"): "submitted", ("offered", "submit"): "submitted",
        ("submitted", "approve"): "registered", ("submitted", "reject"): "rejected",
        ("submitted", "return"): "agreed"}


@pytest.mark.parametrize("state", ["lapsed", "withdrawn", "declined", "rejected", "registered"])
def test_a_deal_that_ended_is_not_submitted(signed, state):
    deal, _seller, buyer_user, site = signed
    deal.state = state
    db.session.flush()
    with pytest.raises(DomainError):
        review.submit(deal, actor=buyer_user, site_id=site.id)
    assert review.review_of(deal) is None


# Decisions ---------------------------------------------------------------------------------
@pytest.mark.parametrize("action", ["reject", "return"])
@pytest.mark.parametrize("note", [None, "", "   ", "x" * (review.NOTE_MAX + 1), 42])
def test_reject_and_return_need_a_note(submitted, official, action, note):
    deal = submitted[0]
    with pytest.raises(DomainError):
        review.decide(deal, action, actor=official, note=note)
    assert review.review_of(deal).state == "submitted"


def test_unknown_decision_is_refused(submitted, official):
    with pytest.raises(DomainError):
        review.decide(submitted[0], "register", actor=official)


def test_rejection_ends_the_deal_and_tells_both_parties(submitted, official):
    deal, seller, buyer_user, _site = submitted
    review.decide(deal, "reject", actor=official, note="Нет лицензии на R4")
    case = review.review_of(deal)
    assert case.official_id == official.id and case.decided_at and case.note == "Нет лицензии на R4"
    assert deal.state == "rejected" and deal.end_reason == "Нет лицензии на R4"
    assert nextbest.can_follow_up(deal)  # the holder may offer the lot to the next bidder
    for user in (seller, buyer_user):
        texts = db.session.scalars(select(Notification.text).where(
            Notification.user_id == user.id, Notification.kind == "review.reject")).all()
        assert texts and "Нет лицензии на R4" in texts[0]
        assert db.session.scalar(select(func.count(OutboxEmail.id)).where(
            OutboxEmail.recipient == user.email, OutboxEmail.body.contains("Нет лицензии")))


def test_return_reopens_signing_and_resubmission_needs_new_signatures(submitted, official):
    deal, seller, buyer_user, site = submitted
    first = review.review_of(deal).sha256
    now = utcnow()
    review.decide(deal, "return", actor=official, note="Уточните адрес площадки", now=now)
    db.session.expire_all()
    agreement = agreements.agreement_of(deal)
    assert deal.state == "agreed" and deal.sign_by > now
    assert agreement.state == "signing" and agreement.current.sha256 != first
    assert not signing.is_fully_signed(deal)
    with pytest.raises(DomainError):
        review.submit(deal, actor=buyer_user, site_id=site.id)
    sign_both(deal, seller, buyer_user)
    case = review.submit(deal, actor=buyer_user, site_id=site.id)
    assert case.state == "submitted" and case.rounds == 2 and case.sha256 != first
    assert case.official_id is None and case.note is None
    assert [s.action for s in case.steps] == ["submit", "return", "resubmit"]
    assert db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == buyer_user.id, Notification.kind == "review.return")) == 1


# Guards ----------------------------------------------------------------------------------------
def test_an_official_of_another_region_may_not_decide(submitted, create_official):
    other = create_official(regions=("750000000",))
    assert not review.may_review(submitted[0], other)
    with pytest.raises(PermissionDenied, match="регион"):
        review.decide(submitted[0], "approve", actor=other)
    assert review.review_of(submitted[0]).state == "submitted"


def test_an_official_of_a_party_may_not_decide(submitted, create_official, add_member):
    deal = submitted[0]
    for org in (deal.seller, deal.buyer):
        insider = create_official(regions=(REGION,))
        add_member(org, insider)
        db.session.refresh(insider)
        with pytest.raises(PermissionDenied, match="стороне сделки"):
            review.decide(deal, "reject", actor=insider, note="Нет")
    assert review.review_of(deal).state == "submitted"


def test_non_officials_may_not_decide(submitted, create_user):
    deal, seller, buyer_user, _site = submitted
    for user in (seller, buyer_user, create_user(is_admin=True)):
        with pytest.raises(PermissionDenied):
            review.decide(deal, "approve", actor=user)


def test_a_countrywide_official_decides(submitted, create_official):
    anywhere = create_official(regions=())
    review.decide(submitted[0], "reject", actor=anywhere, note="Нет")
    assert review.review_of(submitted[0]).state == "rejected"


# Reminders ---------------------------------------------------------------------------------
def reminders(user) -> int:
    return db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.kind == "review.overdue"))


def test_reminders_go_once_per_case_per_day(submitted, official, create_official):
    deal = submitted[0]
    elsewhere = create_official(regions=("750000000",))
    case = review.review_of(deal)
    assert remind_overdue(case.deadline - timedelta(minutes=1)) == 0  # not overdue yet
    # Noon in Almaty on the day after the deadline, so "3 hours later" is the same Almaty day
    # whatever time of day the test runs.
    noon = datetime.combine(to_almaty(case.deadline).date() + timedelta(days=1), time(12),
                            tzinfo=to_almaty(case.deadline).tzinfo)
    day = noon.astimezone(UTC)
    with time_machine.travel(day, tick=False):
        assert remind_overdue(utcnow()) == 1
        assert remind_overdue(utcnow()) == 0  # the same day: nothing again
    with time_machine.travel(day + timedelta(hours=3), tick=False):
        assert remind_overdue(utcnow()) == 0
    assert reminders(official) == 1 and reminders(elsewhere) == 0
    with time_machine.travel(day + timedelta(days=1), tick=False):
        assert remind_overdue(utcnow()) == 1
    assert reminders(official) == 2
    review.decide(deal, "reject", actor=official, note="Нет")
    with time_machine.travel(day + timedelta(days=2), tick=False):
        assert remind_overdue(utcnow()) == 0  # decided cases are not reminded
    assert db.session.scalar(select(func.count(OutboxEmail.id)).where(
        OutboxEmail.recipient == official.email, OutboxEmail.subject.contains("Просрочена"))) == 2


# Two officials at once (PostgreSQL) ------------------------------------------------------------
def seed_signed(app):
    """A committed, fully signed and submitted deal; returns (deal id, two official ids)."""
    from market.accounts.models import Membership, Organization, OrgRole, User
    from market.auctions.bidding import place_bid
    from market.core.txn import commit
    from market.deals.models import Deal
    from market.lots.closing import close_lot
    from market.lots.operations import create_lot, publish_lot
    from market.refdata.models import Region
    from market.registry.journal import record
    from market.registry.models import WasteStream
    from tests.factories import _password_hash, seed_holder, valid_bin

    uid, org_id, sid = seed_holder(app, 793)
    with app.app_context():
        owner, holder = db.session.get(User, uid), db.session.get(Organization, org_id)
        owner.password_hash = _password_hash()
        stream = db.session.get(WasteStream, sid)
        from datetime import date
        record(stream, actor=owner, kind="generated", quantity="100", event_date=date(2026, 1, 1))
        start = utcnow() - timedelta(hours=2)
        lot = create_lot(holder, actor=owner, stream=stream, title="Шлак", quantity="10",
                         pricing_mode="sealed", price=100_000, ends_at=start + timedelta(hours=1),
                         now=start)
        publish_lot(lot, actor=owner, now=start)
        person = User(email="buyer793@example.kz", full_name="Buyer", password_hash=_password_hash())
        firm = Organization(bin=valid_bin(8300), name="ТОО Переработчик", region_kato=REGION,
                            address="x", state="verified")
        firm.kinds = ["processor"]
        db.session.add_all([person, firm])
        db.session.flush()
        db.session.add(Membership(user=person, organization=firm, role=OrgRole.owner.value))
        db.session.flush()
        db.session.refresh(person)
        place_bid(lot, actor=person, organization=firm, amount=200_000, now=start + timedelta(minutes=5))
        close_lot(lot, now=start + timedelta(hours=1, seconds=1))
        deal = db.session.scalars(select(Deal).where(Deal.lot_id == lot.id)).one()
        agreements.set_plan(deal, actor=person, plan=PLAN, operation_code="R4")
        sign_both(deal, owner, person)
        site = registry_ops.create_site(firm, actor=person, name="Цех", kind="processing",
                                        region_kato=REGION, address="x", lat=50.0, lon=72.0)
        review.submit(deal, actor=person, site_id=site.id)
        officials = []
        for i in range(2):
            official = User(email=f"official793-{i}@example.kz", full_name=f"Official {i}",
                            password_hash="x", is_official=True)
            official.official_regions = [db.session.get(Region, REGION)]
            db.session.add(official)
            db.session.flush()
            officials.append(official.id)
        commit()
        return deal.id, officials


@pytest.mark.skipif(not is_postgres(), reason="parallel writers need PostgreSQL")
@pytest.mark.parametrize("actions", [("approve", "approve"), ("approve", "reject"),
                                     ("reject", "return")])
def test_two_officials_at_once_exactly_one_decision_counts(committed_app, actions):
    from market.accounts.models import User
    from market.core.txn import commit, rollback
    from market.deals.models import Deal
    from market.ledger.models import LedgerEntry
    from market.registry.journal import check_balances
    from market.registry.models import WasteRecord

    app = committed_app
    deal_id, officials = seed_signed(app)
    barrier = threading.Barrier(2)
    outcomes, errors = [], []

    def run(user_id, action):
        with app.app_context():
            deal, user = db.session.get(Deal, deal_id), db.session.get(User, user_id)
            barrier.wait()
            try:
                review.decide(deal, action, actor=user, note="Замечание")
                commit()
                outcomes.append(action)
            except DomainError as exc:
                rollback()
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(uid, action))
               for uid, action in zip(officials, actions, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 1 and len(errors) == 1, (outcomes, errors)
    with app.app_context():
        case = db.session.scalar(select(Review).where(Review.deal_id == deal_id))
        decisions = db.session.scalar(select(func.count(ReviewStep.id)).where(
            ReviewStep.review_id == case.id, ReviewStep.action != "submit"))
        assert decisions == 1
        won = outcomes[0]
        assert case.state == {"approve": "approved", "reject": "rejected", "return": "returned"}[won]
        transfers = db.session.scalar(select(func.count(WasteRecord.id)).where(
            WasteRecord.source == "transfer"))
        approvals = db.session.scalar(select(func.count(LedgerEntry.sequence)).where(
            LedgerEntry.kind == "agreement.approved"))
        assert (transfers, approvals) == ((2, 1) if won == "approve" else (0, 0))
        assert check_balances() == []
