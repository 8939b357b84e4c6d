"""The bidding pages: the bid panel, placing and withdrawing bids, polling, "Моя активность"."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from market.auctions.bidding import place_bid
from market.auctions.models import Bid
from market.extensions import db
from tests.auctions.helpers import plain

MLN = 100_000_000  # 1 000 000 ₸
STEP = 25_000_000


def _bid(lot, who, amount, **kw):
    org, user = who
    return place_bid(lot, actor=user, organization=org, amount=amount, **kw)


def _panel(client, lot, **headers):
    return client.get(f"/lots/{lot.id}/auction/panel", headers=headers)


def _key(html: str) -> str:
    return re.search(r'name="key" type="hidden" value="([0-9a-f]{32})"', html).group(1)


def _text(response) -> str:
    return plain(response.get_data(as_text=True))


def test_lot_page_shows_the_panel_for_anonymous_visitors(client, make_lot, bidder):
    lot = make_lot("english")
    _bid(lot, bidder(), MLN)
    page = _text(client.get(f"/lots/{lot.id}"))
    assert 'id="auction-panel"' in page and "hx-get" in page
    assert "1 000 000,00 ₸" in page or "1 000 000 ₸" in page
    assert 'data-testid="auction-login"' in page and 'data-testid="bid-form"' not in page
    assert "Участник 1" in page and "data-countdown=" in page
    assert "vendor/htmx/htmx.min.js" in page and "js/auction.js" in page


def test_holder_sees_no_form_and_the_reserve_is_not_revealed(client, auth, make_lot, owner, bidder):
    lot = make_lot("english", reserve_price=3 * MLN)
    _bid(lot, bidder(), MLN)
    auth.login(owner.email)
    page = _text(client.get(f"/lots/{lot.id}"))
    assert 'data-barrier="holder"' in page and 'data-testid="bid-form"' not in page
    assert "не достигнута" in page and "3 000 000" not in page


def test_bidder_places_a_bid_through_the_form(client, auth, make_lot, bidder):
    lot = make_lot("english")
    org, user = bidder()
    auth.login(user.email)
    page = client.get(f"/lots/{lot.id}").get_data(as_text=True)
    assert 'data-testid="bid-form"' in page
    r = client.post(f"/lots/{lot.id}/bids", data={"amount": "1 000 000", "max_amount": "1 500 000",
                                                   "key": _key(page)}, follow_redirects=True)
    text = _text(r)
    assert r.status_code == 200 and "Ставка принята" in text
    bid = db.session.scalar(select(Bid).where(Bid.lot_id == lot.id))
    assert (bid.organization_id, bid.amount, bid.max_amount) == (org.id, MLN, 150_000_000)
    assert 'data-testid="own-bid"' in text and "лидирует" in text and "предел 1 500 000" in text


def test_double_submit_with_one_key_places_one_bid(client, auth, make_lot, bidder):
    lot = make_lot("english")
    _, user = bidder()
    auth.login(user.email)
    key = _key(client.get(f"/lots/{lot.id}").get_data(as_text=True))
    for _ in range(2):
        r = client.post(f"/lots/{lot.id}/bids", data={"amount": "1 000 000", "key": key})
        assert r.status_code == 302
    assert db.session.scalar(select(func.count(Bid.id)).where(Bid.lot_id == lot.id)) == 1


def test_refusal_shows_the_engine_message(client, auth, make_lot, bidder):
    lot = make_lot("english")
    _, user = bidder()
    auth.login(user.email)
    r = client.post(f"/lots/{lot.id}/bids", data={"amount": "999 999", "key": "k1"}, follow_redirects=True)
    assert "Ставка должна быть не меньше 1 000 000,00 ₸ (начальная цена)" in _text(r) \
        or "Ставка должна быть не меньше 1 000 000 ₸ (начальная цена)" in _text(r)
    assert db.session.scalar(select(func.count(Bid.id)).where(Bid.lot_id == lot.id)) == 0


@pytest.mark.parametrize("amount", ["", "много", "-5"])
def test_bad_amount_is_a_clear_message(client, auth, make_lot, bidder, amount):
    lot = make_lot("english")
    _, user = bidder()
    auth.login(user.email)
    r = client.post(f"/lots/{lot.id}/bids", data={"amount": amount}, follow_redirects=True)
    assert r.status_code == 200 and "alert-danger" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Bid.id)).where(Bid.lot_id == lot.id)) == 0


def test_unverified_bidder_gets_the_reason_and_no_form(client, auth, make_lot, bidder):
    lot = make_lot("english")
    _, user = bidder(state="pending")
    auth.login(user.email)
    page = _text(client.get(f"/lots/{lot.id}"))
    assert 'data-barrier="unverified"' in page and "ещё не подтверждена" in page
    r = client.post(f"/lots/{lot.id}/bids", data={"amount": "1 000 000"}, follow_redirects=True)
    assert "ещё не подтверждена" in _text(r)


def test_member_below_manager_gets_the_reason(client, auth, make_lot, bidder, create_user, add_member):
    lot = make_lot("english")
    org, _ = bidder()
    clerk = create_user()
    add_member(org, clerk, "member")
    auth.login(clerk.email)
    page = _text(client.get(f"/lots/{lot.id}"))
    assert 'data-barrier="role"' in page and "владелец и менеджеры" in page


def test_fixed_price_purchase_of_part(client, auth, make_lot, bidder):
    lot = make_lot("fixed")
    _, user = bidder()
    auth.login(user.email)
    page = client.get(f"/lots/{lot.id}").get_data(as_text=True)
    r = client.post(f"/lots/{lot.id}/bids", data={"quantity": "2,5", "key": _key(page)},
                    follow_redirects=True)
    assert "Покупка оформлена" in _text(r)
    bid = db.session.scalar(select(Bid).where(Bid.lot_id == lot.id))
    assert (str(bid.quantity), bid.amount) == ("2.500", lot.price)
    assert "Осталось" in _text(r) and "7,5" in _text(r)


def test_sealed_hides_amounts_and_count_from_the_holder_until_the_close(client, auth, make_lot,
                                                                         owner, bidder):
    lot = make_lot("sealed")
    a, b = bidder(), bidder()
    _bid(lot, a, 400_000)
    _bid(lot, b, 450_000)
    auth.login(owner.email)
    page = _text(client.get(f"/lots/{lot.id}/auction/panel"))
    assert "предложения скрыты до окончания" in page
    assert "4 000" not in page and "4 500" not in page and "Участник" not in page
    assert 'data-testid="auction-count"' not in page
    auth.logout()
    auth.login(a[1].email)  # a bidder sees its own offer only
    page = _text(client.get(f"/lots/{lot.id}/auction/panel"))
    assert "4 000" in page and "4 500" not in page and 'data-testid="own-bid"' in page


def test_panel_alone_is_conditional(client, auth, make_lot, bidder):
    lot = make_lot("english")
    first = _panel(client, lot)
    assert first.status_code == 200 and first.headers["ETag"].startswith('W/"')
    assert "<html" not in first.get_data(as_text=True) and "htmx.min.js" not in first.get_data(as_text=True)
    etag = first.headers["ETag"]
    again = _panel(client, lot, **{"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["ETag"] == etag and not again.data
    _bid(lot, bidder(), MLN)
    changed = _panel(client, lot, **{"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert "Участник 1" in _text(changed)


def test_panel_of_a_draft_or_a_free_lot_is_not_found(client, make_lot):
    assert _panel(client, make_lot("english", publish=False)).status_code == 404
    assert _panel(client, make_lot("free")).status_code == 404


def test_withdraw_an_outbid_bid(client, auth, make_lot, bidder):
    lot = make_lot("english")
    a, b = bidder(), bidder()
    mine = _bid(lot, a, MLN)
    _bid(lot, b, MLN + STEP)
    auth.login(a[1].email)
    page = client.get(f"/lots/{lot.id}").get_data(as_text=True)
    assert f'action="/bids/{mine.id}/withdraw"' in page and "return confirm(" in page
    r = client.post(f"/bids/{mine.id}/withdraw", data={"reason": ""}, follow_redirects=True)
    assert "Укажите причину" in _text(r) and mine.state == "outbid"
    r = client.post(f"/bids/{mine.id}/withdraw", data={"reason": "Передумали"}, follow_redirects=True)
    db.session.refresh(mine)
    assert "Ставка отозвана" in _text(r) and mine.state == "withdrawn"


def test_leader_cannot_withdraw_and_others_get_404(client, auth, make_lot, bidder):
    lot = make_lot("english")
    a, b = bidder(), bidder()
    leader = _bid(lot, a, MLN)
    auth.login(a[1].email)
    page = client.get(f"/lots/{lot.id}").get_data(as_text=True)
    assert f'/bids/{leader.id}/withdraw' not in page
    r = client.post(f"/bids/{leader.id}/withdraw", data={"reason": "x"}, follow_redirects=True)
    assert r.status_code == 200 and "alert-danger" in r.get_data(as_text=True)
    db.session.refresh(leader)
    assert leader.state == "active"
    auth.logout()
    auth.login(b[1].email)
    assert client.post(f"/bids/{leader.id}/withdraw", data={"reason": "x"}).status_code == 404


def test_activity_lists_my_bids_and_the_empty_state(client, auth, make_lot, bidder):
    a, b = bidder(), bidder()
    auth.login(a[1].email)
    assert "Ставок пока нет" in _text(client.get("/activity"))
    lot = make_lot("english")
    _bid(lot, a, MLN)
    _bid(lot, b, MLN + STEP)
    _bid(lot, a, MLN + 2 * STEP)
    text = _text(client.get("/activity"))
    assert text.count("<tr data-bid=") == 2 and "Перебита" in text and "Действует" in text
    assert ">да<" in text and ">нет<" in text and lot.title in text
    assert 'href="/activity"' in text  # the user menu


def test_activity_paginates(app, client, auth, make_lot, bidder, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    a, b = bidder(), bidder()
    lot = make_lot("english")
    for i in range(3):
        _bid(lot, a if i % 2 == 0 else b, MLN + i * STEP)
    _bid(make_lot("english"), a, MLN)
    auth.login(a[1].email)
    first = _text(client.get("/activity"))
    assert first.count("<tr data-bid=") == 2 and "1 / 2" in first
    assert _text(client.get("/activity?page=2")).count("<tr data-bid=") == 1
