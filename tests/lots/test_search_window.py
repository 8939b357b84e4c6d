"""PostgreSQL relevance: the newest RANK_WINDOW matches, looked for among the newest lots first."""

import pytest

from market.lots import search
from market.lots.search import search_lots
from tests.conftest import is_postgres

pytestmark = pytest.mark.skipif(not is_postgres(), reason="the ranked window is PostgreSQL's")


def _ids(q):
    return [lot.id for lot in search_lots(q, limit=26)]


@pytest.mark.parametrize("window", [1, 2, 3, 100])
@pytest.mark.parametrize("spans", [(), (1,), (2,), (1, 3), (10_000,)])
def test_the_ranked_window_is_the_newest_matches_whatever_the_spans(market, monkeypatch, window,
                                                                   spans):
    monkeypatch.setattr(search, "RANK_WINDOW", window)
    monkeypatch.setattr(search, "WINDOW_SPANS", ())
    expected = _ids("шлак")
    monkeypatch.setattr(search, "WINDOW_SPANS", spans)
    assert _ids("шлак") == expected
    newest = sorted((market[k].id for k in ("slag", "scrap", "auction")), reverse=True)
    assert set(expected) == set(newest[:window])


def test_a_range_with_too_few_matches_widens(market, monkeypatch):
    monkeypatch.setattr(search, "RANK_WINDOW", 3)
    # The newest lot alone holds one match at most: the search must look further back.
    monkeypatch.setattr(search, "WINDOW_SPANS", (1,))
    assert len(_ids("шлак")) == 3
