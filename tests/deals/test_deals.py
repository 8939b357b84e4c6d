"""Deals: fields and total math, the signing deadline, the frozen bid log, fixed-price purchases."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from market.auctions import closing as auction_closing
from market.auctions.auction import auction_of
from market.auctions.bidding import place_bid
from market.core.errors import DomainError
from market.core.models import Notification
from market.core.timeutil import to_almaty
from market.deals.models import Deal
from market.deals.operations import buy, deal_total, sign_by
from market.extensions import db
from market.lots.closing import close_lot

MLN, STEP = 100_000_000, 25_000_000
D = Decimal


def bid(lot, who, amount, **kw):
    org, user = who
    return place_bid(lot, actor=user, organization=org, amount=amount, **kw)


def close(lot):
    return close_lot(lot, now=auction_of(lot).ends_at + timedelta(seconds=1))


def deals_of(lot):
    return db.session.scalars(select(Deal).where(Deal.lot_id == lot.id).order_by(Deal.id)).all()


@pytest.mark.parametrize(("unit", "qty", "basis", "total"), [
    (125_000, D("10"), "per_t", 1_250_000),
    (125_001, D("0.5"), "per_t", 62_501),        # 62 500.5 rounds half up
    (333, D("1.001"), "per_t", 333),             # 333.333 rounds down
    (MLN, D("10"), "per_lot", MLN),              # the price of the whole lot
])
def test_deal_total(unit, qty, basis, total):
    assert deal_total(unit, qty, basis) == total


def _utc(y, m, d, h=4):
    return datetime(y, m, d, h, tzinfo=UTC)


@pytest.mark.parametrize(("start", "days", "expected"), [
    (_utc(2026, 11, 25), 5, _utc(2026, 12, 2)),   # Wednesday -> next Wednesday
    (_utc(2026, 11, 27), 5, _utc(2026, 12, 4)),   # Friday -> next Friday
    (_utc(2026, 11, 28), 1, _utc(2026, 11, 30)),  # Saturday -> Monday
    (_utc(2026, 11, 27), 1, _utc(2026, 11, 30)),  # Friday -> Monday
    (_utc(2026, 11, 27, 20), 1, _utc(2026, 11, 29, 20)),  # Saturday 01:00 in Almaty -> Monday
])
def test_sign_by_skips_weekends(start, days, expected):
    assert sign_by(start, days) == expected
    assert to_almaty(sign_by(start, days)).weekday() < 5


def test_sign_by_reads_the_config(app, monkeypatch):
    monkeypatch.setitem(app.config, "DEAL_SIGN_WORKING_DAYS", 2)
    assert sign_by(_utc(2026, 11, 27)) == _utc(2026, 12, 1)


def test_deal_fields_after_an_english_award(make_lot, bidder, holder):
    a, b = bidder(), bidder()
    lot = make_lot("english", qty="10", delivery="delivered")
    bid(lot, a, MLN)
    winning = bid(lot, b, MLN + STEP)
    close(lot)
    (deal,) = deals_of(lot)
    assert (deal.seller_id, deal.buyer_id, deal.bid_id) == (holder.id, b[0].id, winning.id)
    assert (deal.unit_price, deal.price_basis, deal.quantity) == (MLN + STEP, "per_t", D("10"))
    assert deal.total == (MLN + STEP) * 10
    assert (deal.delivery, deal.waste_code, deal.region_kato) == ("delivered", lot.waste_code,
                                                                   lot.region_kato)
    assert deal.state == "agreed" and deal.created_at == lot.closed_at
    assert deal.sign_by == sign_by(lot.closed_at, 5)
    assert deal.bid_log_sha256 == auction_closing.bid_log_sha256(lot)
    assert len(deal.bid_log_sha256) == 64


def test_deal_per_lot_price(make_lot, bidder):
    lot = make_lot("sealed", price_basis="per_lot", price=MLN)
    bid(lot, bidder(), 2 * MLN)
    close(lot)
    (deal,) = deals_of(lot)
    assert (deal.unit_price, deal.total, deal.price_basis) == (2 * MLN, 2 * MLN, "per_lot")


def test_frozen_hash_is_stable_and_changes_with_the_log(make_lot, bidder):
    lot = make_lot("english")
    bid(lot, bidder(), MLN)
    bid(lot, bidder(), MLN + STEP, max_amount=MLN + 4 * STEP)
    rows = auction_closing.log_rows(lot)
    digest = auction_closing.log_sha256(rows)
    assert digest == auction_closing.bid_log_sha256(lot)  # read again: the same
    db.session.expire_all()
    assert digest == auction_closing.bid_log_sha256(lot)
    assert digest == auction_closing.log_sha256([dict(reversed(r.items())) for r in rows])  # key order
    for field, value in (("amount", MLN + 1), ("kind", "revised"), ("reason", "x"),
                         ("created_at", "2026-01-01T00:00:00.000000+00:00")):
        changed = [dict(r) for r in rows]
        changed[1][field] = value
        assert auction_closing.log_sha256(changed) != digest, field
    assert auction_closing.log_sha256(rows[::-1]) != digest  # the order counts
    close(lot)
    assert deals_of(lot)[0].bid_log_sha256 == digest  # frozen at the close


# Fixed-price purchases -----------------------------------------------------------------------
def purchase(lot, who, qty=None, **kw):
    org, user = who
    return buy(lot, actor=user, organization=org, amount=lot.price, quantity=qty, **kw)


def test_purchases_make_deals_and_sold_out_awards(make_lot, bidder, stocked, owner):
    lot = make_lot("fixed", qty="10")  # 5 000 ₸ a tonne
    a, b = bidder(), bidder()
    first, deal = purchase(lot, a, "4", idempotency_key="k-1")
    assert lot.state == "published" and deal.bid_id == first.id
    assert (deal.quantity, deal.unit_price, deal.total) == (D("4"), 500_000, 2_000_000)
    assert deal.buyer_id == a[0].id and deal.state == "agreed"
    again, same = purchase(lot, a, "4", idempotency_key="k-1")  # a double submission
    assert again.id == first.id and same.id == deal.id
    _, last = purchase(lot, b)  # the rest
    assert last.quantity == D("6") and last.total == 3_000_000
    assert lot.state == "awarded" and lot.closed_at is not None
    assert [d.id for d in deals_of(lot)] == [deal.id, last.id]
    assert stocked.reserved == D("10")  # stays with the lot until the rights transfer
    assert db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == owner.id, Notification.kind == "deal.buyer_found")) == 2
    with pytest.raises(DomainError):
        purchase(lot, bidder(), "1")


def test_buy_refuses_an_auction_lot(make_lot, bidder):
    lot = make_lot("english")
    org, user = bidder()
    with pytest.raises(DomainError, match="фиксированной ценой"):
        buy(lot, actor=user, organization=org, amount=MLN)
    assert deals_of(lot) == []
