"""The deal page's timeline: the whole history in order (award, agreement versions, each
signature, submission, the official's decision, registration, the ledger entries with links to
their public pages), and nothing of other deals."""

from __future__ import annotations

import re

from market.deals import review, timeline
from market.deals.models import Deal
from market.extensions import db
from market.ledger.operations import append
from tests.deals.test_review import PLAN, REGION, official, sign_both, signed  # noqa: F401


def _events(page: str) -> list[str]:
    block = page.split('data-testid="deal-timeline"', 1)[1].split("</ul>", 1)[0]
    return [re.sub(r"\s+", " ", li) for li in block.split("<li")[1:]]


def _index(items: list[str], needle: str) -> int:
    hits = [i for i, item in enumerate(items) if needle in item]
    assert hits, f"{needle!r} not in the timeline"
    return hits[0]


def test_the_whole_history_in_order(client, auth, signed, official):  # noqa: F811
    deal, seller, buyer_user, site = signed
    review.submit(deal, actor=buyer_user, site_id=site.id)
    review.decide(deal, "approve", actor=official)
    db.session.commit()
    auth.login(buyer_user.email)
    items = _events(client.get(f"/deals/{deal.id}").text)
    ledger = [e for e in items if "data-ledger=" in e]
    kinds = [re.search(r'data-ledger="(\d+)"', e).group(1) for e in ledger]
    entries = timeline.deal_entries(deal)
    assert [e.kind for e in entries] == ["lot.awarded", "agreement.approved", "rights.registered"]
    assert kinds == [str(e.sequence) for e in entries]
    for e in entries:
        assert f'href="/ledger/entries/{e.sequence}"' in "".join(ledger)
    signatures = [i for i, e in enumerate(items) if "Договор подписан: " in e]
    assert len(signatures) == 2
    seller_sig = items[_index(items, "Договор подписан: Продавец")]
    assert deal.seller.name in seller_sig and deal.seller.bin in seller_sig
    assert seller.full_name in seller_sig and "Пароль учётной записи" in seller_sig
    sha = deal_sha(deal)
    assert sha[:16] in seller_sig
    order = [
        _index(items, "Сделка заключена по итогам торгов"),
        _index(items, f'data-ledger="{entries[0].sequence}"'),
        _index(items, "Составлен договор, редакция 1"),
        _index(items, "Покупатель изменил план переработки: редакция договора 2"),
        signatures[0], signatures[1],
        _index(items, "Договор подписан обеими сторонами"),
        _index(items, "Договор подан на проверку в уполномоченный орган"),
        _index(items, "Договор одобрен уполномоченным органом"),
        _index(items, "Передача прав зарегистрирована в реестре"),
        _index(items, f'data-ledger="{entries[1].sequence}"'),
        _index(items, f'data-ledger="{entries[2].sequence}"'),
    ]
    assert order == sorted(order) and len(set(order)) == len(order), "\n".join(items)
    assert official.full_name in items[_index(items, "Договор одобрен уполномоченным органом")]


def deal_sha(deal: Deal) -> str:
    from market.deals import agreements

    return agreements.agreement_of(deal).current.sha256


def test_the_decision_shows_its_reason_and_the_new_version_follows(client, auth, signed,  # noqa: F811
                                                                    official):  # noqa: F811
    deal, _seller, buyer_user, site = signed
    review.submit(deal, actor=buyer_user, site_id=site.id)
    review.decide(deal, "return", actor=official, note="Уточните адрес площадки")
    db.session.commit()
    auth.login(buyer_user.email)
    items = _events(client.get(f"/deals/{deal.id}").text)
    returned = _index(items, "Договор возвращён на доработку")
    assert "Уточните адрес площадки" in items[returned]
    assert _index(items, "Договор подан на проверку") < returned
    assert returned < _index(items, "Договор обновлён: редакция 3")
    assert len([e for e in items if "data-ledger=" in e]) == 1  # the award only: not registered


def test_other_deals_do_not_leak(client, auth, signed, official, make_lot, bidder):  # noqa: F811
    deal, _seller, buyer_user, _site = signed
    # a ledger entry of a deal whose id starts with this one's digits, and another award
    append("lot.awarded", {"deal": int(f"{deal.id}0"), "secret": "чужая сделка"})
    append("rights.registered", {"deal": str(deal.id), "secret": "не число"})
    other_buyer = bidder()
    lot = make_lot("sealed", qty="5")
    from tests.deals.helpers import bid, close, deals_of

    bid(lot, other_buyer, 300_000)
    close(lot)
    (other,) = deals_of(lot)
    db.session.commit()
    assert [e.kind for e in timeline.deal_entries(deal)] == ["lot.awarded"]
    assert [e.kind for e in timeline.deal_entries(other)] == ["lot.awarded"]
    auth.login(buyer_user.email)
    page = client.get(f"/deals/{deal.id}").text
    assert "чужая сделка" not in page and "не число" not in page
    assert other_buyer[0].name not in page
    assert client.get(f"/deals/{other.id}").status_code == 404
