"""Deal states: every legal and illegal transition, the lapse (job with time travel, lazily),
the buyer's withdrawal and the next bidder's refusal, fixed-price purchases giving tonnes back."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import func, select

from market.auctions.auction import auction_of, set_deposit_policy
from market.auctions.bidding import activate_bid
from market.core.errors import DomainError, PermissionDenied
from market.core.models import AuditEvent, Notification
from market.deals import lifecycle
from market.deals.jobs import lapse_overdue
from market.deals.models import DEAL_FLOW
from market.deals.operations import buy
from market.extensions import db
from market.lots.operations import edit_lot
from tests.deals.helpers import after, deals_of

D = Decimal


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def audited(action, deal):
    return count(AuditEvent, AuditEvent.action == action, AuditEvent.object_type == "Deal",
                 AuditEvent.object_id == str(deal.id))


def purchase(lot, who, qty=None, **kw):
    org, user = who
    return buy(lot, actor=user, organization=org, amount=lot.price, quantity=qty, **kw)


# The state table -----------------------------------------------------------------------------
OPS = {
    "withdraw": lambda deal, user, now: lifecycle.withdraw_deal(deal, actor=user, reason="Нет денег",
                                                                now=now),
    "decline": lambda deal, user, now: lifecycle.decline_deal(deal, actor=user, now=now),
    "lapse": lambda deal, user, now: lifecycle.lapse_deal(deal, now=after(deal)),
}


@pytest.mark.parametrize(("state", "action", "target"), list(DEAL_FLOW.table()))
def test_every_transition(sealed_award, state, action, target):
    deal, ((_org, user), _, _) = sealed_award
    deal.state = state
    db.session.flush()
    now = deal.created_at
    if target is not None:
        result = OPS[action](deal, user, now)
        assert result in (True, target)
        assert deal.state == target
        assert audited(f"deal.{target}", deal) == 1
        assert deal.ended_at is not None
    elif action == "lapse":
        assert OPS[action](deal, user, now) is False  # nothing open to lapse
        assert deal.state == state
    elif state == {"withdraw": "withdrawn", "decline": "declined"}[action]:
        assert OPS[action](deal, user, now) == "already"  # a double submission
    else:
        with pytest.raises(DomainError):
            OPS[action](deal, user, now)
        assert deal.state == state


def test_the_table_is_what_the_issue_says():
    assert dict(DEAL_FLOW.transitions) == {
        ("agreed", "lapse"): "lapsed", ("agreed", "withdraw"): "withdrawn",
        ("offered", "lapse"): "lapsed", ("offered", "decline"): "declined"}


# Lapse ---------------------------------------------------------------------------------------
def test_lapse_by_the_job_with_time_travel(sealed_award, holder):
    deal, _ = sealed_award
    with time_machine.travel(deal.sign_by - timedelta(minutes=1), tick=False):
        assert lapse_overdue.call_local() == 0
    assert deal.state == "agreed"
    with time_machine.travel(deal.sign_by + timedelta(minutes=1), tick=False):
        assert lapse_overdue.call_local() == 1
        assert lapse_overdue.call_local() == 0  # exactly once
    db.session.refresh(deal)
    assert deal.state == "lapsed" and deal.ended_at is not None
    assert audited("deal.lapsed", deal) == 1
    assert deal.lot.state == "awarded"  # waits for the holder's choice
    assert count(Notification, Notification.kind == "deal.lapsed",
                 Notification.url == f"/deals/{deal.id}") == 2  # the buyer's and the holder's owner


def test_lapse_is_lazy_on_the_deal_page(sealed_award, client, auth):
    deal, ((_, user), _, _) = sealed_award
    with time_machine.travel(after(deal, 60), tick=False):
        auth.login(user.email)
        page = client.get(f"/deals/{deal.id}")
    assert page.status_code == 200 and 'data-state="lapsed"' in page.text
    db.session.refresh(deal)
    assert deal.state == "lapsed"


def test_withdraw_after_the_deadline_lapses_instead(sealed_award):
    deal, ((_, user), _, _) = sealed_award
    assert lifecycle.withdraw_deal(deal, actor=user, reason="x", now=after(deal)) == "lapsed"
    assert deal.state == "lapsed" and deal.end_reason is None


# Withdraw and decline -------------------------------------------------------------------------
def test_withdraw_needs_the_buyers_manager_and_a_reason(sealed_award, owner, add_member, create_user):
    deal, ((buyer, user), (_, other_user), _) = sealed_award
    for actor in (owner, other_user):
        with pytest.raises(PermissionDenied):
            lifecycle.withdraw_deal(deal, actor=actor, reason="x")
    plain = create_user()
    add_member(buyer, plain, "member")
    with pytest.raises(PermissionDenied):
        lifecycle.withdraw_deal(deal, actor=plain, reason="x")
    for reason in ("", "   ", None, "x" * 1001):
        with pytest.raises(DomainError):
            lifecycle.withdraw_deal(deal, actor=user, reason=reason)
    assert deal.state == "agreed"
    manager = create_user()
    add_member(buyer, manager, "manager")
    assert lifecycle.withdraw_deal(deal, actor=manager, reason="  Нет транспорта ") == "withdrawn"
    assert (deal.state, deal.end_reason, deal.ended_by_id) == ("withdrawn", "Нет транспорта", manager.id)
    assert count(Notification, Notification.kind == "deal.withdrawn") == 1  # the holder's owner


# Fixed-price purchases --------------------------------------------------------------------------
def test_a_withdrawn_purchase_gives_its_tonnes_back(make_lot, bidder, stocked):
    lot = make_lot("fixed", qty="10")
    a, b = bidder(), bidder()
    _, first = purchase(lot, a, "4")
    _, second = purchase(lot, b)  # the rest: sold out
    assert lot.state == "awarded" and auction_of(lot).sold == D("10")
    assert lifecycle.withdraw_deal(first, actor=a[1], reason="Передумали") == "withdrawn"
    assert auction_of(lot).sold == D("6") and lot.state == "published" and lot.closed_at is None
    assert stocked.reserved == D("10")  # the lot is on offer again with its whole reserve
    _, again = purchase(lot, bidder(), "4")  # the tonnes are for sale again
    assert again.quantity == D("4") and lot.state == "awarded"
    assert lifecycle.lapse_deal(second, now=after(second)) is True
    assert auction_of(lot).sold == D("4") and lot.state == "published"
    assert [d.state for d in deals_of(lot)] == ["withdrawn", "lapsed", "agreed"]


def test_a_purchase_of_a_lot_past_its_end_releases_the_tonnes(make_lot, bidder, stocked):
    lot = make_lot("fixed", qty="10")
    _, deal = purchase(lot, bidder())
    assert lot.state == "awarded"
    lot.ends_at = deal.created_at + timedelta(hours=1)
    db.session.flush()
    assert lifecycle.lapse_deal(deal, now=after(deal)) is True
    assert lot.state == "awarded" and auction_of(lot).sold == 0
    assert stocked.reserved == 0  # nobody holds them now


def test_a_partial_purchase_lapsing_keeps_the_lot_published(make_lot, bidder):
    lot = make_lot("fixed", qty="10")
    _, deal = purchase(lot, bidder(), "3")
    lifecycle.lapse_deal(deal, now=after(deal))
    assert lot.state == "published" and auction_of(lot).sold == 0


def test_a_purchase_cannot_be_offered_on(make_lot, bidder, owner):
    from market.deals.nextbest import close_after, offer_next

    lot = make_lot("fixed", qty="10")
    a = bidder()
    _, deal = purchase(lot, a)
    lifecycle.withdraw_deal(deal, actor=a[1], reason="x")
    for op in (offer_next, close_after):
        with pytest.raises(DomainError, match="возвращается в продажу"):
            op(deal, actor=owner)


def test_an_activated_purchase_gets_its_deal(make_lot, bidder):
    lot = make_lot("fixed", qty="10")
    a = bidder()
    previous = set_deposit_policy(lambda _lot, _org: True)
    try:
        pending, deal = purchase(lot, a, "10")
    finally:
        set_deposit_policy(previous)
    assert pending.state == "pending_deposit" and deal is None and deals_of(lot) == []
    activate_bid(pending, actor=a[1])
    (deal,) = deals_of(lot)
    assert (deal.bid_id, deal.quantity, deal.state) == (pending.id, D("10"), "agreed")
    assert lot.state == "awarded"  # sold out by the activation
    assert count(Notification, Notification.kind == "deal.bought") == 1


# Small fixes: the lot's quantity, the lot page's end ---------------------------------------------
def test_the_quantity_cannot_go_below_what_was_sold(make_lot, bidder, owner):
    lot = make_lot("fixed", qty="10")
    purchase(lot, bidder(), "4")
    with pytest.raises(DomainError, match="уже продано 4"):
        edit_lot(lot, actor=owner, quantity="3.999")
    assert lot.quantity == D("10")
    assert edit_lot(lot, actor=owner, quantity="4") == ["quantity"]


def test_the_edit_page_shows_the_refusal(make_lot, bidder, owner, client, auth):
    lot = make_lot("fixed", qty="10")
    purchase(lot, bidder(), "4")
    auth.login(owner.email)
    page = client.post(f"/lots/{lot.id}/edit", data={"title": lot.title, "quantity": "2",
                                                     "delivery": lot.delivery})
    assert page.status_code == 422 and "уже продано 4" in page.text


def test_the_lot_page_shows_the_extended_end(make_lot, bidder, client):
    from tests.deals.helpers import bid

    lot = make_lot("english", anti_snipe_minutes=10)
    auction_end = lot.ends_at
    with time_machine.travel(auction_end - timedelta(minutes=2), tick=False):
        bid(lot, bidder(), 100_000_000)
    extended = auction_of(lot).ends_at
    assert extended > auction_end
    from market.core.web import dt_filter

    with client.application.test_request_context():
        shown, original = dt_filter(extended), dt_filter(auction_end)
    page = client.get(f"/lots/{lot.id}")
    row = page.text.split('data-testid="lot-ends-at">')[1].split("<")[0].strip()
    assert row == shown and row != original
