"""Search over published lots: Russian inflections, Kazakh words, codes, typos, filters, sorts."""


import pytest

from market.extensions import db
from market.lots.operations import edit_lot
from market.lots.search import code_prefix, fts5_query, search_lots
from tests.conftest import is_postgres
from tests.lots.conftest import OTHER_REGION


def titles(found):
    return [lot.title for lot in found]


def test_russian_inflections(market):
    assert "Шлак медеплавильный" in titles(search_lots("шлака"))
    assert "Шлак медеплавильный" in titles(search_lots("медеплавильного шлака"))
    assert titles(search_lots("золы")) == ["Зола-унос ТЭЦ"]
    assert titles(search_lots("Упаковки")) == ["Картонная упаковка"]


def test_kazakh_words(market):
    assert titles(search_lots("қалдықтары")) == ["Күл және қож қалдықтары"]
    assert titles(search_lots("КҮЛ")) == ["Күл және қож қалдықтары"]


def test_code_prefix(market):
    expected = {"Шлак медеплавильный", "Шлак отвальный"}
    assert set(titles(search_lots("10 06"))) == expected
    assert set(titles(search_lots("1006"))) == expected
    assert set(titles(search_lots("10 06 01*"))) == expected
    assert titles(search_lots("1501")) == ["Картонная упаковка"]
    assert code_prefix("10 06") == "1006" and code_prefix("шлак 10") is None


def test_code_digits_within_text(market):
    assert titles(search_lots("шлак 100601", sort="newest")) == ["Шлак отвальный",
                                                                "Шлак медеплавильный"]


@pytest.mark.skipif(not is_postgres(), reason="typo tolerance (pg_trgm) is PostgreSQL-only")
def test_misspelling(market):
    assert "Шлак медеплавильный" in titles(search_lots("медиплавильный"))
    assert "Шлак медеплавильный" in titles(search_lots("шлок медеплавильный"))


def test_filters_combine_with_query(market):
    assert titles(search_lots("шлак", region=OTHER_REGION)) == ["Шлак отвальный"]
    assert titles(search_lots("шлак", mode="english")) == ["Шлак отвальный"]
    assert titles(search_lots("шлак", chapter="17")) == ["Металлолом чёрный"]
    assert titles(search_lots("10 06", region="350000000")) == ["Шлак медеплавильный"]
    assert titles(search_lots("шлак", hazardous="yes")) == []


def test_drafts_are_never_found(market):
    for q in ("черновик", "шлак", "1006", ""):
        assert "Шлак медеплавильный (черновик)" not in titles(search_lots(q))


def test_title_match_ranks_before_description_match(market):
    found = titles(search_lots("шлак"))
    assert set(found) == {"Шлак медеплавильный", "Металлолом чёрный", "Шлак отвальный"}
    assert found.index("Шлак медеплавильный") < found.index("Металлолом чёрный")
    assert found.index("Шлак отвальный") < found.index("Металлолом чёрный")
    # newest first ignores relevance
    assert titles(search_lots("шлак", sort="newest"))[0] == "Шлак отвальный"


def test_sorts_and_pagination(market):
    assert titles(search_lots(sort="ending"))[0] == "Шлак отвальный"
    by_price = titles(search_lots(sort="price"))
    assert by_price[0] == "Шлак отвальный" and by_price[-1] == "Зола-унос ТЭЦ"  # free: no price
    newest = search_lots(limit=2)
    assert titles(newest) == ["Шлак отвальный", "Металлолом чёрный"]
    assert titles(search_lots(before=newest[-1].id, limit=2)) == ["Картонная упаковка",
                                                                 "Күл және қож қалдықтары"]
    assert search_lots(sort="price", offset=1, limit=2) == search_lots(sort="price")[1:3]


def test_edit_refreshes_search_text(market, owner):
    lot = market["paper"]
    edit_lot(lot, actor=owner, title="Гофрокартон в кипах")
    db.session.flush()
    assert titles(search_lots("гофрокартона")) == ["Гофрокартон в кипах"]
    assert "100601" in market["slag"].search_text and "10 06 01" in market["slag"].search_text


def test_fts5_query_stems_words():
    assert fts5_query("Шлака медеплавильного!") == '"шлак"* AND "медеплавильн"*'


def test_list_view_searches_and_keeps_the_query(client, market):
    page = client.get("/lots/", query_string={"q": "золы", "sort": "price"})
    assert page.status_code == 200
    assert "Зола-унос ТЭЦ" in page.text and "Шлак медеплавильный" not in page.text
    assert 'value="золы"' in page.text
    assert '<option value="price" selected' in page.text
    page = client.get("/lots/", query_string={"q": "10 06", "region": OTHER_REGION})
    assert "Шлак отвальный" in page.text and "Шлак медеплавильный" not in page.text
    assert "Шлак медеплавильный" in client.get("/lots/?sort=ending").text
