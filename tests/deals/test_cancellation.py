"""Cancellation of a registered transfer: new journal records move the quantity back (cache ==
journal sum), a ledger entry names what it reverses, the guards, the refusals, the pages, and
two officials at once on PostgreSQL."""

from __future__ import annotations

import json
import threading
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from market.core.errors import DomainError, PermissionDenied
from market.core.models import AuditEvent, Notification, OutboxEmail
from market.core.timeutil import utcnow
from market.deals import agreements, cancellation, review
from market.extensions import db
from market.ledger.models import LedgerEntry
from market.ledger.verify import verify_ledger
from market.lots.operations import create_lot, publish_lot
from market.registry.journal import check_balances, journal_sum, record
from market.registry.models import WasteRecord, WasteStream
from tests.conftest import is_postgres
from tests.deals.helpers import bid, close, deals_of
from tests.deals.test_review import PLAN, REGION, official, seed_signed, sign_both, signed  # noqa: F401

REASON = "Решение суда о признании торгов недействительными"


def entries(kind):
    return [json.loads(e.payload) for e in db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.kind == kind).order_by(LedgerEntry.sequence))]


@pytest.fixture
def registered(signed, official, stocked):  # noqa: F811
    deal, seller, buyer_user, site = signed
    review.submit(deal, actor=buyer_user, site_id=site.id)
    review.decide(deal, "approve", actor=official)
    db.session.expire_all()
    target = db.session.scalars(select(WasteStream).where(
        WasteStream.organization_id == deal.buyer_id)).one()
    return deal, seller, buyer_user, target


def test_cancellation_reverses_the_balances_exactly(registered, official, stocked):  # noqa: F811
    deal, _seller, _buyer_user, target = registered
    assert stocked.balance == D("990") and target.balance == D("10")
    (reg,) = entries("rights.registered")
    cancellation.cancel(deal, actor=official, reason=f"  {REASON} ")
    db.session.expire_all()
    assert deal.state == "cancelled" and deal.end_reason == REASON and deal.ended_by_id == official.id
    assert stocked.balance == D("1000") and target.balance == D("0")
    for stream in (stocked, target):
        assert journal_sum(stream.id) == stream.balance
    assert check_balances() == []
    back = db.session.scalars(select(WasteRecord).where(WasteRecord.source == "cancel")
                              .order_by(WasteRecord.id)).all()
    assert [(r.stream_id, r.kind, r.delta) for r in back] == [
        (target.id, "transferred_out", D("-10")), (stocked.id, "received", D("10"))]
    # the registration's records are untouched
    originals = db.session.scalars(select(WasteRecord).where(WasteRecord.source == "transfer")).all()
    assert sorted(r.delta for r in originals) == [D("-10"), D("10")]
    (entry,) = entries("transfer.cancelled")
    assert entry["deal"] == deal.id and entry["reason"] == REASON and entry["official"] == official.id
    assert entry["reverses"] == [reg["moved"]["transferred_out"]["record"],
                                 reg["moved"]["received"]["record"]]
    assert entry["moved"]["transferred_out"]["record"] == back[0].id
    assert db.session.scalar(select(LedgerEntry.deal_id).where(
        LedgerEntry.kind == "transfer.cancelled")) == deal.id
    assert verify_ledger().ok
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.action == "deal.cancelled", AuditEvent.object_id == str(deal.id))) == 1
    notified = db.session.scalars(select(Notification.user_id).where(
        Notification.kind == "deal.cancelled")).all()
    assert {deal.seller.owners[0].user_id, deal.buyer.owners[0].user_id} <= set(notified)
    assert db.session.scalar(select(func.count(OutboxEmail.id)).where(
        OutboxEmail.subject.contains(f"№{deal.id} отменена"))) >= 2


def test_a_second_cancellation_is_refused(registered, official):  # noqa: F811
    deal = registered[0]
    cancellation.cancel(deal, actor=official, reason=REASON)
    with pytest.raises(DomainError, match="уже отменена"):
        cancellation.cancel(deal, actor=official, reason=REASON)
    assert len(entries("transfer.cancelled")) == 1


def test_refused_naming_the_balance_when_the_buyer_no_longer_holds_it(registered, official):  # noqa: F811
    deal, _seller, buyer_user, target = registered
    record(target, actor=buyer_user, kind="processed", quantity="4", operation_code="R4",
           event_date=date.today())
    with pytest.raises(DomainError) as err:
        cancellation.cancel(deal, actor=official, reason=REASON)
    assert "6,000 т" in str(err.value) and "10,000 т" in str(err.value)
    db.session.expire_all()  # refused before any write
    assert deal.state == "registered" and entries("transfer.cancelled") == []
    assert check_balances() == []


def test_who_may_cancel(registered, official, create_official):  # noqa: F811
    deal, seller, buyer_user, _target = registered
    elsewhere = create_official(regions=("750000000",))
    insider = create_official(regions=(REGION,))
    from market.accounts.models import Membership
    db.session.add(Membership(user=insider, organization=deal.buyer, role="member"))
    db.session.flush()
    db.session.expire_all()
    for user in (seller, buyer_user, elsewhere, insider):
        with pytest.raises(PermissionDenied):
            cancellation.cancel(deal, actor=user, reason=REASON)
        assert not cancellation.may_cancel(deal, user)
    for blank in ("", "   ", None):
        with pytest.raises(DomainError, match="причину"):
            cancellation.cancel(deal, actor=official, reason=blank)
    with pytest.raises(DomainError):
        cancellation.cancel(deal, actor=official, reason="x" * 2001)
    assert deal.state == "registered" and cancellation.may_cancel(deal, official)


def test_only_a_registered_transfer_is_cancelled(signed, official):  # noqa: F811
    deal = signed[0]
    with pytest.raises(DomainError, match="зарегистрированную"):
        cancellation.cancel(deal, actor=official, reason=REASON)


def test_a_formation_goes_back_to_its_owner(holder, owner, bidder, create_official):
    from market.cadastre.operations import create_formation

    heap = create_formation(holder, actor=owner, name="Отвал", kind="slag_heap",
                            region_kato=REGION, lat=49.8, lon=73.1, tonnage=1000,
                            waste_code="100201")
    lot = create_lot(holder, actor=owner, formation=heap, title="Отвал", quantity="500",
                     pricing_mode="sealed", price=100_000, ends_at=utcnow() + timedelta(hours=1))
    publish_lot(lot, actor=owner)
    org, user = bidder()
    bid(lot, (org, user), 150_000)
    close(lot)
    (deal,) = deals_of(lot)
    agreements.set_plan(deal, actor=user, plan=PLAN, operation_code="R4")
    sign_both(deal, owner, user)
    review.submit(deal, actor=owner)
    official_user = create_official(regions=(REGION,))
    review.decide(deal, "approve", actor=official_user)
    cancellation.cancel(deal, actor=official_user, reason=REASON)
    db.session.expire_all()
    assert heap.organization_id == holder.id and deal.state == "cancelled"
    (entry,) = entries("transfer.cancelled")
    assert entry["moved"]["kind"] == "formation" and entry["moved"]["owner"]["id"] == holder.id
    assert verify_ledger().ok


# Pages ---------------------------------------------------------------------------------------
def test_the_deal_page_links_the_cancellation_for_eligible_officials(
        client, auth, registered, official):  # noqa: F811
    deal, seller, _buyer_user, target = registered
    auth.login(seller.email)
    assert "deal-cancel-link" not in client.get(f"/deals/{deal.id}").text
    assert client.get(f"/deals/{deal.id}/cancel").status_code == 403
    assert client.post(f"/deals/{deal.id}/cancel", data={"reason": REASON}).status_code == 403
    auth.logout()
    auth.login(official.email)
    assert "deal-cancel-link" in client.get(f"/deals/{deal.id}").text
    page = client.get(f"/deals/{deal.id}/cancel").text
    assert 'data-testid="cancel-form"' in page and "confirm(" in page
    response = client.post(f"/deals/{deal.id}/cancel", data={"reason": "  "})
    assert response.status_code == 302
    db.session.expire_all()
    assert deal.state == "registered"
    response = client.post(f"/deals/{deal.id}/cancel", data={"reason": REASON})
    assert response.status_code == 302 and response.location.endswith(f"/deals/{deal.id}")
    db.session.expire_all()
    assert deal.state == "cancelled" and target.balance == 0
    page = client.get(f"/deals/{deal.id}").text
    assert REASON in page and "deal-cancel-link" not in page
    assert "Передача прав отменена уполномоченным органом" in page
    assert 'data-testid="cancel-refusal"' in client.get(f"/deals/{deal.id}/cancel").text


def test_the_cancel_form_survives_hostile_input(client, auth, registered, official):  # noqa: F811
    from tests.deals.test_review_views import HOSTILE

    deal = registered[0]
    auth.login(official.email)
    for value in ("", " ", "\u0000", "ё" * 5000):
        assert client.post(f"/deals/{deal.id}/cancel", data={"reason": value}).status_code == 302
    db.session.expire_all()
    assert deal.state == "registered"
    for value in HOSTILE:
        assert client.post(f"/deals/{deal.id}/cancel", data={"reason": value}).status_code < 500
    assert client.get("/deals/999999/cancel").status_code == 404


# Concurrency ---------------------------------------------------------------------------------
@pytest.mark.skipif(not is_postgres(), reason="parallel writers need PostgreSQL")
def test_two_officials_at_once_cancel_exactly_once(committed_app):
    from market.accounts.models import User
    from market.core.txn import commit, rollback
    from market.deals.models import Deal

    app = committed_app
    deal_id, officials = seed_signed(app)
    with app.app_context():
        deal = db.session.get(Deal, deal_id)
        review.decide(deal, "approve", actor=db.session.get(User, officials[0]))
        commit()
    barrier = threading.Barrier(2)
    outcomes, errors = [], []

    def run(user_id):
        with app.app_context():
            deal, user = db.session.get(Deal, deal_id), db.session.get(User, user_id)
            barrier.wait()
            try:
                cancellation.cancel(deal, actor=user, reason=REASON)
                commit()
                outcomes.append(user_id)
            except DomainError as exc:
                rollback()
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(uid,)) for uid in officials]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 1 and len(errors) == 1, (outcomes, errors)
    with app.app_context():
        assert db.session.get(Deal, deal_id).state == "cancelled"
        assert db.session.scalar(select(func.count(WasteRecord.id)).where(
            WasteRecord.source == "cancel")) == 2
        assert db.session.scalar(select(func.count(LedgerEntry.sequence)).where(
            LedgerEntry.kind == "transfer.cancelled")) == 1
        assert check_balances() == []
        assert verify_ledger().ok
