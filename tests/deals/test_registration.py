"""Registration on approval: the registry balances move exactly, the reservation is released, the
lot is transferred, the ledger gets the agreement hash; a formation changes owner."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from market.core.errors import DomainError
from market.core.models import AuditEvent
from market.core.timeutil import utcnow
from market.deals import agreements, registration, review, signing
from market.deals.operations import buy
from market.extensions import db
from market.ledger.models import LedgerEntry
from market.lots.operations import create_lot, publish_lot
from market.registry import operations as registry_ops
from market.registry.journal import check_balances, journal_sum, record
from market.registry.models import WasteRecord, WasteStream
from tests.deals.helpers import bid, close, deals_of
from tests.deals.test_review import PLAN, REGION, official, sign_both, signed  # noqa: F401


def entries(kind):
    return [json.loads(e.payload) for e in db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.kind == kind).order_by(LedgerEntry.sequence))]


def buyer_streams(deal):
    return db.session.scalars(select(WasteStream).where(
        WasteStream.organization_id == deal.buyer_id).order_by(WasteStream.id)).all()


def test_approval_moves_the_balances_exactly(signed, official, stocked):  # noqa: F811
    deal, _seller, buyer_user, site = signed
    db.session.refresh(stocked)
    before, reserved = stocked.balance, stocked.reserved
    assert reserved == D("10") and deal.quantity == D("10")
    review.submit(deal, actor=buyer_user, site_id=site.id)
    sha = review.review_of(deal).sha256
    review.decide(deal, "approve", actor=official)
    db.session.expire_all()
    assert deal.state == "registered" and deal.lot.state == "transferred"
    assert stocked.balance == before - D("10") and stocked.reserved == reserved - D("10")
    (target,) = buyer_streams(deal)
    assert target.site_id == site.id and target.waste_code == stocked.waste_code
    assert target.balance == D("10") and target.reserved == 0
    for stream in (stocked, target):
        assert journal_sum(stream.id) == stream.balance
    assert check_balances() == []  # flask registry check-balances: cache == journal, layers too
    out = db.session.scalar(select(WasteRecord).where(WasteRecord.stream_id == stocked.id,
                                                      WasteRecord.kind == "transferred_out"))
    received = db.session.scalar(select(WasteRecord).where(WasteRecord.stream_id == target.id))
    assert out.delta == D("-10") and received.kind == "received" and received.delta == D("10")
    assert out.entered_by_id == official.id and out.source == "transfer"
    assert out.counterparty == deal.buyer.name and received.counterparty == deal.seller.name
    (approved,) = entries("agreement.approved")
    (registered,) = entries("rights.registered")
    assert approved["agreement"]["sha256"] == sha == registered["agreement"]["sha256"]
    assert {s["party"] for s in approved["signatures"]} == {"seller", "buyer"}
    assert approved["seller"]["bin"] == deal.seller.bin and approved["buyer"]["id"] == deal.buyer_id
    assert registered["quantity"] == "10.000"
    assert registered["moved"]["transferred_out"]["record"] == out.id
    assert registered["moved"]["received"]["record"] == received.id
    assert registered["moved"]["released"] == "10.000"
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.action == "deal.registered", AuditEvent.object_id == str(deal.id))) == 1


def test_an_existing_stream_of_the_buyer_receives(signed, official, stocked):  # noqa: F811
    deal, _seller, buyer_user, site = signed
    mine = registry_ops.create_stream(site, actor=buyer_user, waste_code=stocked.waste_code,
                                      name="Приём шлака", physical_state="solid",
                                      storage_purpose="recovery")
    record(mine, actor=buyer_user, kind="generated", quantity="2.5", event_date=date(2026, 1, 2))
    review.submit(deal, actor=buyer_user, site_id=site.id)
    review.decide(deal, "approve", actor=official)
    db.session.expire_all()
    assert buyer_streams(deal) == [mine] and mine.balance == D("12.5")
    assert check_balances() == []


def test_a_second_registration_of_the_deal_is_impossible(signed, official, stocked):  # noqa: F811
    deal, _seller, buyer_user, site = signed
    review.submit(deal, actor=buyer_user, site_id=site.id)
    case = review.decide(deal, "approve", actor=official)
    with pytest.raises(DomainError):
        review.decide(deal, "approve", actor=official)
    with pytest.raises(DomainError):  # the deal is registered: its flow refuses another move
        registration.register(deal, case, actor=official, now=utcnow())
    assert len(entries("rights.registered")) == 1


def test_registration_is_refused_as_a_whole_when_the_stream_falls_short(signed, official,  # noqa: F811
                                                                        stocked):
    """The journal's rule holds: nothing moves, no ledger entry, when the balance is not there."""
    deal, _seller, buyer_user, site = signed
    review.submit(deal, actor=buyer_user, site_id=site.id)
    # the holder's balance shrunk behind the registry's back (a broken cache)
    db.session.execute(WasteStream.__table__.update().where(WasteStream.id == stocked.id)
                       .values(balance=D("5"), reserved=D("5")))
    with pytest.raises(DomainError):
        review.decide(deal, "approve", actor=official)


def test_partial_purchases_transfer_the_lot_when_the_last_is_registered(
        make_lot, bidder, create_official, stocked):
    lot = make_lot("fixed", qty="10")
    official_user = create_official(regions=(REGION,))
    parties = []
    for qty in ("4", "6"):
        org, user = bidder()
        buy(lot, actor=user, organization=org, amount=lot.price, quantity=qty)
        parties.append((org, user))
    first, second = deals_of(lot)
    assert lot.state == "awarded"
    for deal, (org, user) in zip((first, second), parties, strict=True):
        agreements.set_plan(deal, actor=user, plan=PLAN, operation_code="R4")
        sign_both(deal, lot.organization.owners[0].user, user)
        site = registry_ops.create_site(org, actor=user, name="Цех", kind="processing",
                                        region_kato=REGION, address="x", lat=50.0, lon=72.0)
        review.submit(deal, actor=user, site_id=site.id)
    review.decide(first, "approve", actor=official_user)
    assert lot.state == "awarded"  # the second deal is still under review
    review.decide(second, "approve", actor=official_user)
    db.session.expire_all()
    assert lot.state == "transferred" and stocked.reserved == 0
    assert stocked.balance == D("990") and check_balances() == []


def test_a_formation_changes_owner(holder, owner, bidder, create_official):
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
    assert review.submitter_party(deal, owner) == "seller"  # a formation: either party submits
    review.submit(deal, actor=owner)
    official_user = create_official(regions=(REGION,))
    review.decide(deal, "approve", actor=official_user)
    db.session.expire_all()
    assert heap.organization_id == org.id and not heap.state_owned
    assert deal.state == "registered" and lot.state == "transferred"
    (registered,) = entries("rights.registered")
    assert registered["moved"]["kind"] == "formation"
    assert registered["moved"]["previous_owner"]["id"] == holder.id
    assert registered["moved"]["owner"]["id"] == org.id
    assert db.session.scalar(select(func.count(WasteRecord.id)).where(
        WasteRecord.source == "transfer")) == 0


def test_approval_requires_the_submitted_hash(signed, official):  # noqa: F811
    deal, _seller, buyer_user, site = signed
    review.submit(deal, actor=buyer_user, site_id=site.id)
    case = review.review_of(deal)
    case.sha256 = "0" * 64  # the submitted hash no longer matches the signed version
    db.session.flush()
    with pytest.raises(DomainError, match="изменился"):
        review.decide(deal, "approve", actor=official)
    assert signing.is_fully_signed(deal)


def test_a_rejected_purchase_gives_its_tonnes_back(make_lot, bidder, create_official, stocked):
    lot = make_lot("fixed", qty="10")
    org, user = bidder()
    buy(lot, actor=user, organization=org, amount=lot.price, quantity="4")
    (deal,) = deals_of(lot)
    agreements.set_plan(deal, actor=user, plan=PLAN, operation_code="R4")
    sign_both(deal, lot.organization.owners[0].user, user)
    site = registry_ops.create_site(org, actor=user, name="Цех", kind="processing",
                                    region_kato=REGION, address="x", lat=50.0, lon=72.0)
    review.submit(deal, actor=user, site_id=site.id)
    from market.auctions.auction import auction_of

    assert auction_of(lot).sold == D("4")
    review.decide(deal, "reject", actor=create_official(regions=(REGION,)), note="Нет лицензии")
    db.session.expire_all()
    assert deal.state == "rejected" and auction_of(lot).sold == 0
    assert stocked.reserved == D("10") and check_balances() == []  # the lot still offers 10 t
