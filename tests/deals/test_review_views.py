"""The review pages: the submit form on the deal page, the officials' queue (filters, order,
overdue, pagination, empty state), the case page and its forms, hostile input (no 500s)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from market.core.timeutil import utcnow
from market.deals import review
from market.deals.models_review import Review
from market.extensions import db
from tests.deals.test_review import REGION, official, signed, submitted  # noqa: F401

HOSTILE = ["", " ", "1e400", "-1", "NaN", "9" * 40, "99999999999", "<script>alert(1)</script>",
           "'; drop table lot; --", "\u202e\u0000x", "ё" * 5000, "2026-02-30"]


def test_the_buyer_sees_the_submit_form_with_its_sites(client, auth, signed):  # noqa: F811
    deal, seller, buyer_user, site = signed
    auth.login(buyer_user.email)
    page = client.get(f"/deals/{deal.id}").text
    assert 'data-testid="review-submit-form"' in page and f'value="{site.id}"' in page
    response = client.post(f"/deals/{deal.id}/review/submit", data={"site_id": str(site.id)})
    assert response.status_code == 302
    assert review.review_of(deal).state == "submitted"
    page = client.get(f"/deals/{deal.id}").text
    assert 'data-state="submitted"' in page and "review-submit-form" not in page
    auth.logout()
    auth.login(seller.email)  # the holder sees the status, not the form (a stream lot)
    page = client.get(f"/deals/{deal.id}").text
    assert 'data-testid="review-state"' in page and "review-submit-form" not in page


def test_the_submit_form_refuses_bad_sites(client, auth, signed):  # noqa: F811
    deal, _seller, buyer_user, _site = signed
    auth.login(buyer_user.email)
    for value in [*HOSTILE, "0", "2147483648"]:
        response = client.post(f"/deals/{deal.id}/review/submit", data={"site_id": value})
        assert response.status_code == 302, value
    assert review.review_of(deal) is None
    page = client.get(f"/deals/{deal.id}", follow_redirects=True).text
    assert "площадку покупателя" in page or "Выберите" in page


def test_queue_lists_cases_by_deadline_and_highlights_overdue(client, auth, submitted, official):  # noqa: F811
    deal = submitted[0]
    case = review.review_of(deal)
    auth.login(official.email)
    page = client.get("/review/").text
    assert f'data-deal="{deal.id}"' in page and 'data-overdue="no"' in page
    case.deadline = utcnow() - timedelta(hours=1)
    db.session.commit()
    page = client.get("/review/").text
    assert 'data-overdue="yes"' in page and "table-danger" in page
    assert f'data-deal="{deal.id}"' in client.get("/review/?age=overdue").text


@pytest.mark.parametrize("query, shown", [
    ("region=" + REGION, True), ("region=750000000", False), ("chapter=10", True),
    ("chapter=01", False), ("hazardous=0", True), ("hazardous=1", False), ("age=3", False),
    ("state=decided", False), ("state=all", True)])
def test_queue_filters(client, auth, submitted, official, query, shown):  # noqa: F811
    auth.login(official.email)
    page = client.get(f"/review/?{query}").text
    assert (f'data-deal="{submitted[0].id}"' in page) is shown
    if not shown:
        assert "Дел по этим условиям нет." in page


def test_queue_of_another_region_is_empty(client, auth, submitted, create_official):  # noqa: F811
    other = create_official(regions=("750000000",))
    auth.login(other.email)
    page = client.get("/review/").text
    assert "review-row" not in page and "Дел по этим условиям нет." in page
    assert client.get(f"/review/{submitted[0].id}").status_code == 404


def another_submitted(make_lot, bidder, owner):
    """A second signed and submitted deal (sealed lot, one bidder)."""
    from market.deals import agreements
    from market.registry import operations as registry_ops
    from tests.deals.helpers import bid, close, deals_of
    from tests.deals.test_review import PLAN, sign_both

    lot = make_lot("sealed", qty="5")
    org, user = bidder()
    bid(lot, (org, user), 400_000)
    close(lot)
    (deal,) = deals_of(lot)
    agreements.set_plan(deal, actor=user, plan=PLAN, operation_code="R4")
    sign_both(deal, owner, user)
    site = registry_ops.create_site(org, actor=user, name="Цех", kind="processing",
                                    region_kato=REGION, address="x", lat=50.0, lon=72.0)
    review.submit(deal, actor=user, site_id=site.id)
    return deal


def test_queue_paginates_soonest_first(app, client, auth, submitted, official, make_lot,  # noqa: F811
                                       bidder, owner):
    first = submitted[0]
    second = another_submitted(make_lot, bidder, owner)
    review.review_of(second).deadline = review.review_of(first).deadline - timedelta(days=1)
    db.session.commit()
    app.config["PAGE_SIZE"], size = 1, app.config["PAGE_SIZE"]
    try:
        auth.login(official.email)
        page = client.get("/review/").text
        assert f'data-deal="{second.id}"' in page and f'data-deal="{first.id}"' not in page
        assert 'aria-label="Страницы"' in page and "1 / 2" in page
        page = client.get("/review/?page=2").text
        assert f'data-deal="{first.id}"' in page and f'data-deal="{second.id}"' not in page
    finally:
        app.config["PAGE_SIZE"] = size


def test_queue_survives_hostile_queries(client, auth, submitted, official):  # noqa: F811
    auth.login(official.email)
    for value in HOSTILE:
        response = client.get("/review/", query_string={k: value for k in (
            "state", "region", "chapter", "hazardous", "age", "page")})
        assert response.status_code == 200, value


def test_case_page_shows_agreement_signatures_history_and_forms(client, auth, submitted, official):  # noqa: F811
    deal = submitted[0]
    case = review.review_of(deal)
    auth.login(official.email)
    page = client.get(f"/review/{deal.id}").text
    assert case.sha256 in page and 'data-testid="review-signatures"' in page
    assert page.count("действительна") >= 2 and 'data-testid="review-history"' in page
    for testid in ("review-approve", "review-reject", "review-return"):
        assert f'data-testid="{testid}"' in page
    assert re.search(r"confirm\(&#34;", page) or "confirm(" in page


@pytest.mark.parametrize("endpoint, field", [("reject", "reason"), ("return", "comments")])
def test_decision_forms_require_text_and_survive_hostile_values(client, auth, submitted, official,  # noqa: F811
                                                                endpoint, field):
    deal = submitted[0]
    auth.login(official.email)
    for value in ["", "   ", "x" * (review.NOTE_MAX + 1)]:
        response = client.post(f"/review/{deal.id}/{endpoint}", data={field: value})
        assert response.status_code == 302
        assert review.review_of(deal).state == "submitted"
    for value in HOSTILE[7:]:
        response = client.post(f"/review/{deal.id}/{endpoint}", data={field: value})
        assert response.status_code < 500
    assert review.review_of(deal).state != "submitted"  # a hostile but valid text decides once


def test_approve_via_the_page_and_a_second_click_is_refused(client, auth, submitted, official):  # noqa: F811
    deal = submitted[0]
    auth.login(official.email)
    assert client.post(f"/review/{deal.id}/approve").status_code == 302
    db.session.expire_all()
    assert deal.state == "registered"
    page = client.post(f"/review/{deal.id}/approve", follow_redirects=True).text
    assert "уже выполнено" in page or "невозможно" in page
    assert db.session.query(Review).filter_by(deal_id=deal.id).one().state == "approved"


def test_a_party_official_sees_why_he_may_not_decide(client, auth, submitted, create_official,  # noqa: F811
                                                     add_member):
    deal = submitted[0]
    insider = create_official(regions=(REGION,))
    add_member(deal.buyer, insider)
    auth.login(insider.email)
    page = client.get(f"/review/{deal.id}").text
    assert 'data-testid="review-refusal"' in page and "review-approve" not in page
    assert client.post(f"/review/{deal.id}/approve").status_code == 302
    assert review.review_of(deal).state == "submitted"


def test_the_deal_timeline_names_the_review_steps(client, auth, submitted, official):  # noqa: F811
    deal, _seller, buyer_user, _site = submitted
    auth.login(official.email)
    client.post(f"/review/{deal.id}/return", data={"comments": "Уточните адрес площадки"})
    auth.logout()
    auth.login(buyer_user.email)
    page = client.get(f"/deals/{deal.id}").text
    assert "Договор подан на проверку в уполномоченный орган" in page
    assert "Договор возвращён на доработку" in page and "Уточните адрес площадки" in page
    assert "review.return" not in page
