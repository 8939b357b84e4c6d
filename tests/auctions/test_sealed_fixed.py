"""Sealed bids (secret until the close, one per organisation) and fixed-price purchases."""

from decimal import Decimal

import pytest
import time_machine
from flask_login import AnonymousUserMixin
from sqlalchemy import select

from market.auctions.auction import auction_of
from market.auctions.bidding import place_bid, withdraw_bid
from market.auctions.models import BidEvent
from market.auctions.query import leading_bid, reserve_met, visible_bids
from market.auctions.rules import purchase_total
from market.extensions import db
from tests.auctions.helpers import refused

D = Decimal


def bid(lot, who, amount, **kw):
    org, user = who
    return place_bid(lot, actor=user, organization=org, amount=amount, **kw)


# Sealed --------------------------------------------------------------------------------------
def test_sealed_one_bid_per_organisation_revised_in_place(make_lot, bidder):
    lot = make_lot("sealed")  # start 3 000 ₸
    a = bidder()
    with refused("Предложение должно быть не меньше 3 000 ₸ (начальная цена)"):
        bid(lot, a, 299_999)
    with refused("В закрытых предложениях автоставки нет"):
        bid(lot, a, 400_000, max_amount=500_000)
    first = bid(lot, a, 400_000)
    again = bid(lot, a, 350_000)  # revised down: allowed until the close
    assert again == first and first.amount == 350_000 and first.state == "active"
    with refused("Ваше предложение уже 3 500 ₸"):
        bid(lot, a, 350_000)
    kinds = db.session.scalars(select(BidEvent.kind).where(BidEvent.lot_id == lot.id)
                               .order_by(BidEvent.id)).all()
    assert kinds == ["placed", "revised"]
    assert auction_of(lot).price is None and auction_of(lot).bid_count == 1


def test_sealed_winner_is_the_highest_then_the_earliest(make_lot, bidder):
    lot = make_lot("sealed", reserve_price=500_000)
    a, b, c = bidder(), bidder(), bidder()
    bid(lot, a, 450_000)
    assert not reserve_met(lot)
    top = bid(lot, b, 600_000)
    bid(lot, c, 600_000)  # the same amount later: b keeps the lead
    assert leading_bid(lot) == top and reserve_met(lot)
    withdraw_bid(top, actor=b[1], reason="Не успеваем вывезти")
    assert leading_bid(lot).organization_id == c[0].id
    again = bid(lot, b, 700_000)  # after withdrawing, a new sealed bid is a new bid
    assert again != top and leading_bid(lot) == again


@pytest.fixture
def sealed_lot(make_lot, bidder, create_official, create_user):
    lot = make_lot("sealed")
    a, b = bidder(name="ТОО «Альфа»"), bidder(name="ТОО «Бета»")
    bid(lot, b, 500_000)
    bid(lot, a, 400_000)
    return lot, a, b


VIEWERS = ("anonymous", "a", "b", "holder", "official", "outsider")


@pytest.mark.parametrize("who", VIEWERS)
def test_sealed_bids_are_secret_until_the_close(sealed_lot, owner, create_official,
                                                create_user, who):
    lot, a, b = sealed_lot
    viewer = {"anonymous": AnonymousUserMixin(), "a": a[1], "b": b[1], "holder": owner,
              "official": create_official(), "outsider": create_user()}[who]
    seen = visible_bids(lot, viewer)
    if who in ("a", "b"):  # each bidder sees its own bid, nobody else's
        amount = 400_000 if who == "a" else 500_000
        label = "Участник 2" if who == "a" else "Участник 1"  # numbered by first bid
        assert [(v.label, v.amount, v.own) for v in seen] == [(label, amount, True)]
    else:
        assert seen == []
    with time_machine.travel(lot.ends_at, tick=False):  # bidding over: everyone sees them
        seen = visible_bids(lot, viewer)
    assert [(v.label, v.amount) for v in seen] == [("Участник 1", 500_000), ("Участник 2", 400_000)]
    assert [v.own for v in seen] == [who == "b", who == "a"]


def test_english_bids_are_open_with_labels_and_own_limits(make_lot, bidder, owner):
    lot = make_lot("english")
    a, b = bidder(), bidder()
    bid(lot, a, 100_000_000, max_amount=200_000_000)
    bid(lot, b, 125_000_000)
    seen = visible_bids(lot, a[1])
    assert [(v.label, v.own, v.max_amount, v.state) for v in seen] == [
        ("Участник 1", True, 200_000_000, "active"), ("Участник 2", False, None, "outbid")]
    assert [v.leading for v in seen] == [True, False]
    assert [v.max_amount for v in visible_bids(lot, owner)] == [None, None]  # limits are secret


# Fixed price ---------------------------------------------------------------------------------
def test_fixed_price_purchases_down_to_the_minimum(make_lot, bidder):
    lot = make_lot("fixed", qty="10", min_take="3")  # 5 000 ₸ a tonne
    a, b, c = bidder(), bidder(), bidder()
    with refused("Цена лота — 5 000 ₸: покупка только по ней"):
        bid(lot, a, 400_000, quantity="3")
    with refused("Минимальная партия — 3,000 т"):
        bid(lot, a, 500_000, quantity="2")
    with refused("При покупке по фиксированной цене автоставки нет"):
        bid(lot, a, 500_000, quantity="3", max_amount=600_000)
    first = bid(lot, a, 500_000, quantity="4,5")
    assert first.quantity == D("4.5") and first.state == "active"
    assert purchase_total(first.amount, first.quantity, lot.price_basis) == 2_250_000
    bid(lot, b, 500_000, quantity="3.5")
    auction = auction_of(lot)
    assert auction.sold == D("8") and auction.remaining(lot) == D("2")
    with refused("Осталось 2,000 т — меньше минимальной партии 3,000 т"):
        bid(lot, c, 500_000, quantity="1")
    with refused("Можно купить не больше 2,000 т"):
        bid(lot, c, 500_000, quantity="3")
    rest = bid(lot, c, 500_000)  # no quantity: all that is left
    assert rest.quantity == D("2") and auction.remaining(lot) == 0
    with refused("Лот распродан"):
        bid(lot, a, 500_000, quantity="1")
    assert auction.bid_count == 3
    with refused("Покупку по фиксированной цене отозвать нельзя"):
        withdraw_bid(first, actor=a[1], reason="Передумали")


def test_price_for_the_whole_lot_sells_it_whole(make_lot, bidder):
    lot = make_lot("fixed", qty="10", price_basis="per_lot")
    with refused("купить можно только весь лот, 10,000 т"):
        bid(lot, bidder(), 500_000, quantity="5")
    whole = bid(lot, bidder(), 500_000)
    assert whole.quantity == D("10")
    assert purchase_total(whole.amount, whole.quantity, lot.price_basis) == 500_000


def test_auctions_sell_the_whole_lot(make_lot, bidder):
    lot = make_lot("english")
    with refused("количество указывают только при покупке по фиксированной цене"):
        bid(lot, bidder(), 100_000_000, quantity="5")
