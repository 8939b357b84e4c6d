"""After a failed auction deal: the next-best bidder by mode (at its own price), the offer, its
refusal and the next, closing the lot (reserve released); every refusal of a wrong move."""

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from market.auctions.auction import set_deposit_policy
from market.auctions.bidding import withdraw_bid
from market.core.errors import DomainError, PermissionDenied
from market.core.models import AuditEvent, Notification, OutboxEmail
from market.deals import lifecycle
from market.deals.nextbest import candidates, close_after, next_best, offer_next
from market.deals.operations import sign_by
from market.extensions import db
from market.lots.models import OfferReport
from tests.deals.helpers import MLN, STEP, after, bid, close, deals_of

D = Decimal


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def ranking(lot):
    return [(c.bid.organization_id, c.unit_price) for c in candidates(lot)]


def withdraw(deal):
    user = deal.buyer.owners[0].user
    assert lifecycle.withdraw_deal(deal, actor=user, reason="Передумали") == "withdrawn"


# Ordering by mode --------------------------------------------------------------------------------
def test_english_next_is_the_highest_limit(english_award):
    deal, (winner, c, a) = english_award
    assert deal.buyer_id == winner[0].id and deal.unit_price == MLN + 5 * STEP
    assert ranking(deal.lot) == [(c[0].id, MLN + 4 * STEP), (a[0].id, MLN + 2 * STEP)]


def test_reverse_next_is_the_lowest_limit(make_lot, bidder):
    a, b, c = bidder(), bidder(), bidder()
    lot = make_lot("reverse", qty="10")  # start 8 000 ₸, step 500 ₸
    bid(lot, a, 750_000, max_amount=650_000)
    bid(lot, b, 700_000, max_amount=500_000)
    bid(lot, c, 550_000)
    close(lot)
    (deal,) = deals_of(lot)
    assert deal.buyer_id == b[0].id and deal.unit_price == 500_000
    assert ranking(lot) == [(c[0].id, 550_000), (a[0].id, 650_000)]


def test_sealed_next_is_the_highest_amount_then_the_earlier(make_lot, bidder):
    a, b, c, d = bidder(), bidder(), bidder(), bidder()
    lot = make_lot("sealed", qty="10")
    bid(lot, a, 400_000)
    bid(lot, c, 450_000)
    bid(lot, b, 500_000)
    bid(lot, d, 450_000)  # as much as c, later
    close(lot)
    assert deals_of(lot)[0].buyer_id == b[0].id
    assert ranking(lot) == [(c[0].id, 450_000), (d[0].id, 450_000), (a[0].id, 400_000)]


def test_who_is_left_out(make_lot, bidder):
    """Withdrawn bids, bids that never counted (pending deposit), bids under the reserve,
    organisations no longer verified, and one line per organisation (its best bid)."""
    a, b, c, d, e, f = (bidder() for _ in range(6))
    lot = make_lot("sealed", qty="10", reserve_price=420_000)
    bid(lot, a, 600_000)
    gone = bid(lot, b, 550_000)
    withdraw_bid(gone, actor=b[1], reason="Ошибка")
    previous = set_deposit_policy(lambda _lot, org: org.id == c[0].id)
    try:
        bid(lot, c, 540_000)  # never counted: its deposit never came
    finally:
        set_deposit_policy(previous)
    bid(lot, d, 410_000)  # under the reserve
    bid(lot, e, 500_000)
    bid(lot, f, 480_000)
    close(lot)
    assert ranking(lot) == [(e[0].id, 500_000), (f[0].id, 480_000)]
    e[0].state = "suspended"
    db.session.flush()
    assert ranking(lot) == [(f[0].id, 480_000)]


# The offer ---------------------------------------------------------------------------------------
def test_offer_to_the_next_at_its_own_price(sealed_award, owner):
    deal, (_, second, _) = sealed_award
    lot = deal.lot
    with pytest.raises(DomainError, match="ещё действует"):
        offer_next(deal, actor=owner)  # the deal still binds
    withdraw(deal)
    offer = offer_next(deal, actor=owner)
    assert (offer.buyer_id, offer.unit_price, offer.total) == (second[0].id, 450_000, 4_500_000)
    assert (offer.state, offer.offered_after_id, offer.quantity) == ("offered", deal.id, D("10"))
    assert offer.sign_by == sign_by(offer.created_at)  # a new deadline from the offer
    assert offer.bid_log_sha256 == deal.bid_log_sha256
    assert deal.follow_up == "offered" and lot.state == "awarded"
    assert offer_next(deal, actor=owner).id == offer.id  # a double click: the same offer
    assert len(deals_of(lot)) == 2
    assert count(Notification, Notification.kind == "deal.offered",
                 Notification.url == f"/deals/{offer.id}") == 1
    assert count(OutboxEmail, OutboxEmail.recipient == second[1].email,
                 OutboxEmail.subject.contains("предложена сделка")) == 1
    assert count(AuditEvent, AuditEvent.action == "deal.offered_next") == 1
    with pytest.raises(DomainError, match="уже принято решение"):
        close_after(deal, actor=owner)  # the other choice, after the first


def test_declined_then_the_next_then_nobody(sealed_award, owner):
    deal, (_, second, third) = sealed_award
    withdraw(deal)
    offer = offer_next(deal, actor=owner)
    with pytest.raises(PermissionDenied):
        lifecycle.decline_deal(offer, actor=third[1])
    assert lifecycle.decline_deal(offer, actor=second[1], reason="Нет мощностей") == "declined"
    assert count(Notification, Notification.kind == "deal.declined") == 1
    last = offer_next(offer, actor=owner)
    assert (last.buyer_id, last.unit_price) == (third[0].id, 400_000)
    assert lifecycle.lapse_deal(last, now=after(last)) is True  # an offer lapses too
    assert next_best(deal.lot) is None
    with pytest.raises(DomainError, match="закройте лот"):
        offer_next(last, actor=owner)
    assert last.follow_up is None  # refused: the holder may still close
    assert close_after(last, actor=owner) is True
    assert deal.lot.state == "closed"


def test_close_the_lot_releases_the_reserve(sealed_award, owner, stocked):
    deal, _ = sealed_award
    assert stocked.reserved == D("10")
    lifecycle.lapse_deal(deal, now=after(deal))
    assert close_after(deal, actor=owner) is True
    assert close_after(deal, actor=owner) is False  # a double click
    lot = deal.lot
    assert lot.state == "closed" and stocked.reserved == 0
    assert deal.follow_up == "closed"
    assert count(AuditEvent, AuditEvent.action == "lot.closed") == 1
    assert count(Notification, Notification.kind == "deal.lot_closed") == 1
    with pytest.raises(DomainError, match="уже принято решение"):
        offer_next(deal, actor=owner)


def test_a_mandatory_offer_closed_after_a_failed_deal_gets_its_report(sealed_award, owner):
    deal, _ = sealed_award
    deal.lot.mandatory = True
    lifecycle.lapse_deal(deal, now=after(deal))
    close_after(deal, actor=owner)
    assert count(OfferReport, OfferReport.lot_id == deal.lot_id) == 1


def test_only_the_holders_manager_chooses(sealed_award, create_user, add_member, holder):
    deal, (first, second, _) = sealed_award
    withdraw(deal)
    plain = create_user()
    add_member(holder, plain, "member")
    for actor in (plain, first[1], second[1]):
        for op in (offer_next, close_after):
            with pytest.raises(PermissionDenied):
                op(deal, actor=actor)
    assert deal.follow_up is None


def test_only_the_current_deal_leads_on(sealed_award, owner):
    """An old failed deal whose choice was made, or a lot no longer awarded, is refused."""
    deal, (_, second, _) = sealed_award
    withdraw(deal)
    offer = offer_next(deal, actor=owner)
    with pytest.raises(DomainError, match="ещё действует"):
        close_after(offer, actor=owner)
    lifecycle.decline_deal(offer, actor=second[1])
    close_after(offer, actor=owner)
    with pytest.raises(DomainError):
        offer_next(offer, actor=owner)
