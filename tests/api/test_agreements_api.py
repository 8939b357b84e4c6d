"""API v1 agreements: the parties' tokens read a deal's agreement (status, current version and
hash, signatures) and its PDF; other tokens get 404, no token 401."""

from __future__ import annotations

import pytest

from market.deals import agreements, signing
from market.extensions import db
from tests.auctions.conftest import bidder, make_lot, stocked  # noqa: F401  (fixtures)
from tests.deals.conftest import sealed_award  # noqa: F401
from tests.deals.test_review import PLAN, signed  # noqa: F401


def _tokens(make_token, deal, scopes=("registry:read",)):
    return make_token(deal.seller, actor=deal.seller.owners[0].user, scopes=scopes), \
        make_token(deal.buyer, actor=deal.buyer.owners[0].user, scopes=scopes)


def test_both_parties_read_the_signed_agreement(api, make_token, signed):  # noqa: F811
    deal = signed[0]
    agreement = agreements.agreement_of(deal)
    version = agreement.current
    for secret in _tokens(make_token, deal, scopes=("bids:write",)):
        r = api.get(f"/api/v1/deals/{deal.id}/agreement", secret)
        assert r.status_code == 200, r.json
        data = r.json
        assert data["deal_id"] == deal.id and data["status"] == "signed"
        assert data["version"] == version.number == 2 and data["sha256"] == version.sha256
        assert data["signed_at"]
        sigs = {s["party"]: s for s in data["signatures"]}
        assert set(sigs) == {"seller", "buyer"}
        assert sigs["seller"]["organization"]["bin"] == deal.seller.bin
        assert sigs["buyer"]["organization"]["bin"] == deal.buyer.bin
        assert sigs["buyer"]["method"] == "password" and sigs["buyer"]["sha256"] == version.sha256
        assert sigs["buyer"]["signed_at"].endswith(("Z", "+00:00"))
        assert data["pdf"]["kk"] == f"/api/v1/deals/{deal.id}/agreement.pdf?lang=kk"


def test_an_agreement_waiting_for_signatures(api, make_token, sealed_award):  # noqa: F811
    deal, ((_buyer, buyer_user), _b, _c) = sealed_award
    agreements.set_plan(deal, actor=buyer_user, plan=PLAN, operation_code="R4")
    seller_token, _buyer_token = _tokens(make_token, deal)
    signing.sign(deal, actor=buyer_user, digest=agreements.agreement_of(deal).current.sha256,
                 credentials={"password": "correct-horse-9"})
    db.session.flush()
    r = api.get(f"/api/v1/deals/{deal.id}/agreement", seller_token)
    assert r.status_code == 200
    assert r.json["status"] == "signing" and r.json["signed_at"] is None
    assert [s["party"] for s in r.json["signatures"]] == ["buyer"]


def test_the_agreement_is_drawn_up_on_first_read(api, make_token, sealed_award):  # noqa: F811
    deal = sealed_award[0]
    assert agreements.agreement_of(deal) is None
    _seller, buyer_token = _tokens(make_token, deal)
    r = api.get(f"/api/v1/deals/{deal.id}/agreement", buyer_token)
    assert r.status_code == 200 and r.json["version"] == 1 and r.json["signatures"] == []
    assert agreements.agreement_of(deal).current.sha256 == r.json["sha256"]


def test_others_get_404_and_no_token_401(api, make_token, signed, bidder):  # noqa: F811
    deal, _seller, _buyer_user, _site = signed
    (loser_org, loser_user) = bidder()
    outsider = make_token(loser_org, actor=loser_user, scopes=("registry:read", "bids:write"))
    for url in (f"/api/v1/deals/{deal.id}/agreement", f"/api/v1/deals/{deal.id}/agreement.pdf"):
        r = api.get(url, outsider)
        assert r.status_code == 404 and r.json["code"] == 404, url
        assert api.get(url).status_code == 401
        assert api.get(url, "qdq_nonsense").status_code == 401
    seller_token, _ = _tokens(make_token, deal)
    for deal_id in (deal.id + 1000, 10 ** 20):
        assert api.get(f"/api/v1/deals/{deal_id}/agreement", seller_token).status_code == 404


def test_a_revoked_token_is_refused(api, make_token, signed):  # noqa: F811
    from market.api import tokens
    from market.api.models import ApiToken

    deal = signed[0]
    seller_token, _ = _tokens(make_token, deal)
    token = db.session.scalar(db.select(ApiToken).where(ApiToken.organization_id == deal.seller_id))
    tokens.revoke_token(token, actor=deal.seller.owners[0].user)
    db.session.flush()
    assert api.get(f"/api/v1/deals/{deal.id}/agreement", seller_token).status_code == 401


@pytest.mark.parametrize("lang", ["ru", "kk", None])
def test_pdf(api, make_token, signed, lang):  # noqa: F811
    deal = signed[0]
    version = agreements.agreement_of(deal).current
    _seller, buyer_token = _tokens(make_token, deal)
    query = f"?lang={lang}" if lang else ""
    r = api.get(f"/api/v1/deals/{deal.id}/agreement.pdf{query}", buyer_token)
    assert r.status_code == 200 and r.mimetype == "application/pdf" and r.data.startswith(b"%PDF")
    assert r.headers["X-Agreement-SHA256"] == version.sha256
    assert f"agreement-{deal.id}-v{version.number}-{lang or 'ru'}.pdf" in r.headers["Content-Disposition"]


@pytest.mark.parametrize("lang", ["en", "", "RU", "<script>", "ru,kk"])
def test_pdf_in_another_language_is_422(api, make_token, signed, lang):  # noqa: F811
    deal = signed[0]
    seller_token, _ = _tokens(make_token, deal)
    r = api.get(f"/api/v1/deals/{deal.id}/agreement.pdf?lang={lang}", seller_token)
    assert r.status_code == 422 and "lang" in r.json["errors"]["query"]
