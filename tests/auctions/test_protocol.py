"""The auction protocol after the close: who may read it, labels and names, extensions, the
result, the bid log hash (equal to the deal's), and the PDF with Cyrillic text."""

from __future__ import annotations

import re
import zlib
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from market.auctions.auction import auction_of
from market.auctions.bidding import place_bid
from market.auctions.closing import bid_log_sha256
from market.auctions.protocol import build
from market.core.timeutil import to_almaty
from market.deals.models import Deal
from market.deals.operations import buy
from market.extensions import db
from market.lots.closing import close_lot
from tests.auctions.helpers import plain

MLN, STEP = 100_000_000, 25_000_000


def bid(lot, who, amount, **kw):
    org, user = who
    return place_bid(lot, actor=user, organization=org, amount=amount, **kw)


def almaty(moment) -> str:
    return to_almaty(moment).strftime("%d.%m.%Y %H:%M:%S")


def page(client, lot) -> str:
    r = client.get(f"/lots/{lot.id}/protocol")
    assert r.status_code == 200, r.status_code
    return plain(r.get_data(as_text=True))


@pytest.fixture
def english(make_lot, bidder):
    """An English auction with anti-sniping: three bidders, two late bids extending the end,
    closed and awarded. Returns (lot, [alpha, beta, gamma], planned end, late bid times)."""
    lot = make_lot("english", days=1, anti_snipe_minutes=10)
    alpha, beta, gamma = (bidder(name="ТОО Альфа"), bidder(name="ТОО Бета"),
                          bidder(name="ТОО Гамма"))
    end = lot.ends_at
    late = [end - timedelta(minutes=5), end + timedelta(minutes=8)]
    with time_machine.travel(end - timedelta(hours=2), tick=False):
        bid(lot, beta, MLN)
    with time_machine.travel(end - timedelta(hours=1), tick=False):
        bid(lot, alpha, MLN + STEP, max_amount=2 * MLN)
    with time_machine.travel(late[0], tick=False):
        bid(lot, gamma, MLN + 3 * STEP)  # outbid at once by alpha's limit, extends to end+10
    with time_machine.travel(late[1], tick=False):
        bid(lot, gamma, 2 * MLN + STEP)  # takes the lead, extends to end+20
    assert auction_of(lot).ends_at == end + timedelta(minutes=20)
    assert close_lot(lot, now=end + timedelta(minutes=21)).action == "award"
    return lot, [alpha, beta, gamma], end, late


def test_protocol_for_an_outsider_labels_extensions_result_and_hash(client, auth, english,
                                                                    create_user):
    lot, _bidders, end, late = english
    (deal,) = db.session.scalars(select(Deal).where(Deal.lot_id == lot.id)).all()
    auth.login(create_user().email)
    text = page(client, lot)
    assert lot.title in text and lot.organization.name in text
    assert "Английский аукцион" in text and "1 000 000" in text and "250 000" in text
    # bidders numbered by their first bid, no names for an outsider
    assert "Участник 1" in text and "Участник 2" in text and "Участник 3" in text
    assert not any(name in text for name in ("ТОО Альфа", "ТОО Бета", "ТОО Гамма"))
    assert "предел 2 000 000" not in text  # proxy limits stay with their bidder
    # start and (extended) end in Almaty time, two extensions with their times
    assert almaty(end) in text and almaty(end + timedelta(minutes=20)) in text
    assert re.search(r'data-testid="protocol-extension-count">\s*2\s*<', text)
    for moment in late:
        assert almaty(moment) in text
    assert almaty(end + timedelta(minutes=10)) in text
    # every event in order, and the result: gamma (Участник 3) at its price
    log = re.findall(r'<tr data-seq="(\d+)">', text)
    assert log == ["1", "2", "3", "4"]
    result = text[text.index('data-testid="protocol-result"'):][:400]
    assert "Участник 3" in result and "2 250 000" in result
    # the hash of the frozen bid log is the deal's
    assert deal.bid_log_sha256 == bid_log_sha256(lot)
    assert f">{deal.bid_log_sha256}<" in text


def test_the_holder_sees_names_a_bidder_only_its_own(client, auth, english, owner,
                                                    create_official):
    lot, (alpha, beta, _gamma), *_ = english
    auth.login(owner.email)
    text = page(client, lot)
    assert all(name in text for name in ("ТОО Альфа", "ТОО Бета", "ТОО Гамма"))
    auth.logout()
    auth.login(beta[1].email)
    text = page(client, lot)
    assert "ТОО Бета" in text and "ваша организация" in text
    assert "ТОО Альфа" not in text and "ТОО Гамма" not in text
    auth.logout()
    auth.login(alpha[1].email)
    assert "предел 2 000 000" in page(client, lot)  # its own limit
    auth.logout()
    auth.login(create_official().email)
    text = page(client, lot)
    assert "Участник 1" in text and "ТОО Альфа" not in text


def test_no_protocol_before_the_close_and_the_lot_page_links_it_after(client, auth, make_lot,
                                                                    bidder, create_user):
    lot = make_lot("english", days=1)
    bid(lot, bidder(), MLN)
    auth.login(create_user().email)
    assert client.get(f"/lots/{lot.id}/protocol").status_code == 404
    assert client.get(f"/lots/{lot.id}/protocol.pdf").status_code == 404
    assert 'data-testid="protocol-link"' not in client.get(f"/lots/{lot.id}").get_data(as_text=True)
    close_lot(lot, now=auction_of(lot).ends_at + timedelta(seconds=1))
    lot_page = client.get(f"/lots/{lot.id}").get_data(as_text=True)
    assert 'data-testid="protocol-link"' in lot_page and f"/lots/{lot.id}/protocol" in lot_page
    auth.logout()
    r = client.get(f"/lots/{lot.id}/protocol")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


@pytest.mark.parametrize(("mode", "terms", "bids", "why"), [
    ("english", {}, [], "ставок не было"),
    ("reverse", {"reserve_price": 500_000}, [800_000, 700_000], "резервная цена не достигнута"),
    ("sealed", {"reserve_price": 600_000}, [500_000], "резервная цена не достигнута"),
])
def test_no_award_and_why(client, auth, make_lot, bidder, create_user, mode, terms, bids, why):
    lot = make_lot(mode, days=1, **terms)
    for amount in bids:
        bid(lot, bidder(), amount)
    close_lot(lot, now=lot.ends_at + timedelta(seconds=1))
    assert lot.state == "closed"
    auth.login(create_user().email)
    text = page(client, lot)
    result = text[text.index('data-testid="protocol-result"'):][:400]
    assert "без победителя" in result and why in result
    assert f">{bid_log_sha256(lot)}<" in text


def test_sealed_protocol_reveals_amounts_after_the_close(client, auth, make_lot, bidder,
                                                         create_user):
    lot = make_lot("sealed", days=1)
    a, b = bidder(name="ТОО Альфа"), bidder(name="ТОО Бета")
    bid(lot, a, 400_000)
    bid(lot, b, 500_000)
    bid(lot, a, 450_000)  # a revision
    close_lot(lot, now=lot.ends_at + timedelta(seconds=1))
    auth.login(create_user().email)
    text = page(client, lot)
    assert "Ставка изменена" in text and "4 500" in text and "5 000" in text
    result = text[text.index('data-testid="protocol-result"'):][:400]
    assert "Участник 2" in result and "5 000" in result
    (deal,) = db.session.scalars(select(Deal).where(Deal.lot_id == lot.id)).all()
    assert f">{deal.bid_log_sha256}<" in text


def test_fixed_price_purchases_have_a_protocol_once_sold_out(client, auth, make_lot, bidder,
                                                             create_user):
    lot = make_lot("fixed", qty="10", min_take="2")
    a, b = bidder(), bidder()
    buy(lot, actor=a[1], organization=a[0], amount=lot.price, quantity="4")
    auth.login(create_user().email)
    assert client.get(f"/lots/{lot.id}/protocol").status_code == 404  # still on offer
    buy(lot, actor=b[1], organization=b[0], amount=lot.price)
    assert lot.state == "awarded"
    text = page(client, lot)
    assert "покупок 2" in text and "Участник 1" in text and "Участник 2" in text
    deals = db.session.scalars(select(Deal).where(Deal.lot_id == lot.id).order_by(Deal.id)).all()
    assert f">{deals[-1].bid_log_sha256}<" in text


def test_build_matches_the_closing_hash_and_counts_extensions(english):
    lot, *_ = english
    p = build(lot)
    assert p.sha256 == bid_log_sha256(lot)
    assert len(p.extensions) == auction_of(lot).extensions == 2
    assert [r.extended for r in p.rows] == [False, False, True, True]
    assert p.awarded and p.winner_label == "Участник 3" and p.winner_name is None


def _pdf_text_chunks(data: bytes) -> list[bytes]:
    chunks = [data]
    for raw in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            chunks.append(zlib.decompress(raw))
        except zlib.error:
            continue
    return chunks


def _unicode_in_pdf(data: bytes) -> str:
    """The characters the PDF's ToUnicode maps name (what a text extractor would read)."""
    chars = []
    for chunk in _pdf_text_chunks(data):
        if b"begincmap" not in chunk:
            continue
        for hexes in re.findall(rb"<[0-9A-Fa-f]+>\s*<([0-9A-Fa-f]{4,})>", chunk):
            for i in range(0, len(hexes) - 3, 4):
                chars.append(chr(int(hexes[i:i + 4], 16)))
    return "".join(chars)


def test_pdf_has_cyrillic_text_in_embedded_fonts(client, auth, english, create_user):
    from tests.registry.test_views import pdf_font_names

    lot, *_ = english
    auth.login(create_user().email)
    r = client.get(f"/lots/{lot.id}/protocol.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert r.data.startswith(b"%PDF")
    assert "attachment" in r.headers["Content-Disposition"]
    fonts = pdf_font_names(r.data)
    assert fonts and all("DejaVu-Sans" in f for f in fonts), fonts
    chars = set(_unicode_in_pdf(r.data))
    assert set("ПротколУчасикЖурнавк") <= chars, sorted(chars)
