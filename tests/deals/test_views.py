"""The deal page: who sees it, what it shows, the buttons; links from notifications, My activity
and the lot page; the forms' bad input."""

import pytest
from sqlalchemy import select

from market.core.models import Notification
from market.core.timeutil import to_almaty
from market.deals import lifecycle
from market.deals.operations import buy
from market.extensions import db
from tests.deals.helpers import after, deals_of


def login(client, auth, user):
    auth.logout()
    auth.login(user.email)


def test_the_page_shows_the_deal(sealed_award, client, auth, owner):
    deal, ((buyer, user), _, _) = sealed_award
    login(client, auth, user)
    page = client.get(f"/deals/{deal.id}")
    assert page.status_code == 200
    text = page.text.replace("\u00a0", " ").replace("\u202f", " ")
    for needle in (deal.seller.bin, buyer.bin, buyer.name, deal.bid_log_sha256, "50 000 ₸",
                   "5 000 ₸", to_almaty(deal.sign_by).strftime("%H:%M"), f"/lots/{deal.lot_id}",
                   "Согласована, ждёт подписания", "Сделка заключена по итогам торгов",
                   'data-testid="deal-withdraw"'):
        assert needle in text, needle
    assert 'data-testid="deal-choice"' not in text
    login(client, auth, owner)  # the holder: no withdrawal button, no choice yet
    text = client.get(f"/deals/{deal.id}").text
    assert 'data-testid="deal-withdraw"' not in text and 'data-testid="deal-choice"' not in text


@pytest.mark.parametrize(("who", "status"), [
    ("buyer", 200), ("holder", 200), ("official", 200), ("regional_official", 200),
    ("other_region_official", 404), ("loser", 404), ("admin", 404)])
def test_who_may_open_it(sealed_award, client, auth, owner, create_official, create_user, who, status):
    deal, ((_, buyer), (_, loser), _) = sealed_award
    users = {"buyer": buyer, "holder": owner, "loser": loser,
             "official": create_official(), "regional_official": create_official(regions=["350000000"]),
             "other_region_official": create_official(regions=["710000000"]),
             "admin": create_user(is_admin=True)}
    login(client, auth, users[who])
    assert client.get(f"/deals/{deal.id}").status_code == status


def test_anonymous_and_unknown(sealed_award, client, auth):
    deal, ((_, user), _, _) = sealed_award
    assert client.get(f"/deals/{deal.id}").status_code == 302
    login(client, auth, user)
    assert client.get("/deals/999999").status_code == 404
    assert client.get("/deals/99999999999").status_code == 404


def test_the_award_notifications_link_the_deal(sealed_award, owner):
    deal, ((_, user), _, _) = sealed_award
    won = db.session.scalar(select(Notification).where(Notification.user_id == user.id,
                                                       Notification.kind == "deal.won"))
    found = db.session.scalar(select(Notification).where(Notification.user_id == owner.id,
                                                         Notification.kind == "deal.buyer_found"))
    assert won.url == found.url == f"/deals/{deal.id}"


def test_purchase_notification_activity_and_lot_page_link_the_deal(make_lot, bidder, client, auth,
                                                                    owner):
    lot = make_lot("fixed", qty="10")
    org, user = bidder()
    _, deal = buy(lot, actor=user, organization=org, amount=lot.price, quantity="4")
    bought = db.session.scalar(select(Notification).where(Notification.kind == "deal.bought"))
    assert bought.url == f"/deals/{deal.id}"
    login(client, auth, user)
    activity = client.get("/activity").text
    assert f'href="/deals/{deal.id}" data-testid="activity-deal"' in activity
    assert f'href="/deals/{deal.id}"' in client.get(f"/lots/{lot.id}").text
    login(client, auth, owner)
    assert f'href="/deals/{deal.id}"' in client.get(f"/lots/{lot.id}").text
    login(client, auth, bidder()[1])  # a stranger sees no deal on the lot page
    assert "/deals/" not in client.get(f"/lots/{lot.id}").text


def test_withdraw_on_the_web(sealed_award, client, auth, owner):
    deal, ((_, user), (_, loser), _) = sealed_award
    login(client, auth, loser)
    assert client.post(f"/deals/{deal.id}/withdraw", data={"reason": "x"}).status_code == 404
    login(client, auth, owner)  # the holder is a party, not the buyer
    assert client.post(f"/deals/{deal.id}/withdraw", data={"reason": "x"}).status_code == 404
    login(client, auth, user)
    for bad in ({}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 1001}):
        response = client.post(f"/deals/{deal.id}/withdraw", data=bad)
        assert response.status_code == 302
    db.session.refresh(deal)
    assert deal.state == "agreed"
    response = client.post(f"/deals/{deal.id}/withdraw", data={"reason": "Нет транспорта"},
                           follow_redirects=True)
    assert "Вы отказались от сделки." in response.text
    again = client.post(f"/deals/{deal.id}/withdraw", data={"reason": "Нет транспорта"},
                        follow_redirects=True)
    assert "Это уже сделано." in again.text
    assert "Нет транспорта" in again.text  # the reason on the page and in the timeline
    db.session.refresh(deal)
    assert deal.state == "withdrawn"


def test_the_holders_choice_on_the_web(sealed_award, client, auth, owner, stocked):
    deal, ((_, user), (second_org, second), _) = sealed_award
    lifecycle.withdraw_deal(deal, actor=user, reason="Передумали")
    login(client, auth, owner)
    page = client.get(f"/deals/{deal.id}").text
    assert 'data-testid="deal-choice"' in page and second_org.name in page
    response = client.post(f"/deals/{deal.id}/offer-next")
    offer = deals_of(deal.lot)[-1]
    assert response.headers["Location"].endswith(f"/deals/{offer.id}")
    assert client.post(f"/deals/{deal.id}/offer-next").headers["Location"].endswith(
        f"/deals/{offer.id}")  # a double click
    assert len(deals_of(deal.lot)) == 2
    refused = client.post(f"/deals/{deal.id}/close-lot", follow_redirects=True)
    assert "уже принято решение" in refused.text
    login(client, auth, second)
    page = client.get(f"/deals/{offer.id}").text
    assert 'data-testid="deal-decline"' in page and "Предложена следующему участнику" in page
    assert f"/deals/{deal.id}" not in page  # the failed buyer's deal is not theirs to open
    assert client.post(f"/deals/{offer.id}/decline", data={"reason": "x" * 1001}).status_code == 302
    db.session.refresh(offer)
    assert offer.state == "offered"
    client.post(f"/deals/{offer.id}/decline", data={})
    db.session.refresh(offer)
    assert offer.state == "declined"
    login(client, auth, owner)
    client.post(f"/deals/{offer.id}/close-lot")
    db.session.refresh(offer)
    assert offer.lot.state == "closed" and stocked.reserved == 0
    page = client.get(f"/deals/{deal.id}").text
    assert "Лот предложен следующему участнику" in page and f"/deals/{offer.id}" in page


def test_the_choice_refuses_others(sealed_award, client, auth, create_user, add_member, holder):
    deal, ((_, user), _, _) = sealed_award
    lifecycle.lapse_deal(deal, now=after(deal))
    login(client, auth, user)  # the buyer: not the holder's
    assert client.post(f"/deals/{deal.id}/offer-next").status_code == 404
    assert client.post(f"/deals/{deal.id}/close-lot").status_code == 404
    plain = create_user()
    add_member(holder, plain, "member")
    login(client, auth, plain)
    refused = client.post(f"/deals/{deal.id}/close-lot", follow_redirects=True)
    assert "владелец и менеджеры" in refused.text
    db.session.refresh(deal)
    assert deal.follow_up is None


@pytest.mark.parametrize("action", ["withdraw", "decline", "offer-next", "close-lot"])
def test_hostile_input_never_500(sealed_award, client, auth, owner, action):
    from tests.test_bad_input import HOSTILE

    deal, ((_, user), _, _) = sealed_award
    if action == "decline":
        deal.state = "offered"
    elif action in ("offer-next", "close-lot"):
        lifecycle.withdraw_deal(deal, actor=user, reason="x")
    login(client, auth, owner if action in ("offer-next", "close-lot") else user)
    for value in HOSTILE:
        response = client.post(f"/deals/{deal.id}/{action}", data={"reason": value, "deal_id": value})
        assert response.status_code == 302, (action, value[:20])
