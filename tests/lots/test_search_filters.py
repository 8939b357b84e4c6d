"""The search's filters beyond text: ranges, ending soon, recurring, code, distance; the query value."""

from datetime import date, timedelta
from decimal import Decimal

import time_machine
from werkzeug.datastructures import MultiDict

from market.core.timeutil import utcnow
from market.extensions import db
from market.lots.query import LotQuery
from market.lots.search import distance_km, search_lots
from market.registry import operations as reg


def titles(found):
    return [lot.title for lot in found]


def test_quantity_range(market):
    market["paper"].quantity = Decimal("3")
    db.session.flush()
    assert "Картонная упаковка" not in titles(search_lots(qty_min=Decimal("5")))
    assert titles(search_lots(qty_max=Decimal("5"))) == ["Картонная упаковка"]
    assert len(search_lots(qty_min=Decimal("3"), qty_max=Decimal("10"))) == 6


def test_price_range_compares_per_tonne(market):
    # 10 t for 1 000 000 ₸ per lot = 100 000 ₸/t: a per-tonne filter sees 100 000 ₸.
    lot = market["paper"]
    lot.price_basis, lot.price = "per_lot", 100_000_000
    db.session.flush()
    found = titles(search_lots(price_min=9_000_000, price_max=11_000_000))
    assert found == ["Картонная упаковка"]
    assert "Картонная упаковка" not in titles(search_lots(price_min=20_000_000))
    # the free lot has no price: outside any price range
    assert "Зола-унос ТЭЦ" not in titles(search_lots(price_min=0))
    by_price = titles(search_lots(sort="price"))
    # 500 ₸/t < 3 000 ₸/t < 9 000 ₸/t < 100 000 ₸/t (the per-lot price divided by 10 t)
    assert by_price.index("Шлак отвальный") < by_price.index("Шлак медеплавильный") \
        < by_price.index("Металлолом чёрный") < by_price.index("Картонная упаковка")


def test_ending_soon(market):
    assert titles(search_lots(ending=True)) == ["Шлак отвальный"]  # ends in 3 days minus a moment
    with time_machine.travel(utcnow() + timedelta(days=5)):
        assert search_lots(ending=True) == []  # already ended


def test_recurring_and_code_filters(market):
    market["ash"].monthly_quantity = Decimal("2")
    market["ash"].supply_from, market["ash"].supply_to = date(2027, 1, 1), date(2027, 5, 31)
    db.session.flush()
    assert titles(search_lots(recurring=True)) == ["Зола-унос ТЭЦ"]
    assert set(titles(search_lots(code="1006"))) == {"Шлак медеплавильный", "Шлак отвальный"}
    assert titles(search_lots("шлак", code="17")) == ["Металлолом чёрный"]


def test_distance_sort_from_a_site(market, holder, owner):
    # Balkhash lots (46.85, 74.98); a site near Almaty is closer to the Konaev lot, which
    # has no coordinates, so it comes last.
    near_almaty = reg.create_site(holder, actor=owner, name="Алматы", kind="storage",
                                  region_kato="750000000", address="Алматы", lat=43.25, lon=76.9)
    far = reg.create_site(holder, actor=owner, name="Актау", kind="storage",
                          region_kato="470000000", address="Актау", lat=43.65, lon=51.2)
    lot = market["paper"]
    lot.lat, lot.lon = 43.3, 76.95  # a few km from the Almaty site
    db.session.flush()
    found = titles(search_lots(sort="distance", origin=(near_almaty.lat, near_almaty.lon)))
    assert found[0] == "Картонная упаковка" and found[-1] == "Шлак отвальный"
    found = titles(search_lots(sort="distance", origin=(far.lat, far.lon)))
    km_balkhash = distance_km((far.lat, far.lon), 46.85, 74.98)
    km_almaty = distance_km((far.lat, far.lon), 43.3, 76.95)
    assert km_balkhash < km_almaty  # from Aktau, Balkhash is nearer than Almaty
    assert found[-2:] == ["Картонная упаковка", "Шлак отвальный"]
    assert 2000 < km_almaty < 2200  # Aktau–Almaty by great circle


def test_distance_km():
    assert distance_km(None, 1, 2) is None and distance_km((1, 2), None, 2) is None
    assert abs(distance_km((43.25, 76.9), 51.17, 71.45) - 971) < 10  # Almaty–Astana


def test_query_round_trip_and_errors():
    args = MultiDict({"q": " шлак ", "code": "10 02 07*", "region": "350000000", "mode": "english",
                      "hazardous": "yes", "mandatory": "1", "ending": "1", "qty_min": "12,5",
                      "price_max": "150 000", "sort": "price", "near": "7", "junk": "x"})
    query = LotQuery.from_args(args)
    assert not query.errors
    assert query.code == "100207" and query.qty_min == Decimal("12.5")
    assert query.price_max == 15_000_000 and query.near == 7
    again = LotQuery.from_args(query.to_args())
    assert again == query
    bad = LotQuery.from_args({"qty_min": "много", "price_min": "-5", "code": "1x",
                              "mode": "auction", "sort": "random", "region": "'; drop",
                              "near": "99999999999999"})
    assert len(bad.errors) == 3
    assert bad.to_args() == {}
    assert not bad.is_filtered


def test_list_view_shows_clear_errors_for_bad_filters(client, market):
    page = client.get("/lots/", query_string={"qty_min": "abc", "price_max": "1,2,3,4",
                                              "code": "abc", "near": "5", "allowed": "1"})
    assert page.status_code == 200
    assert page.text.count('data-testid="search-errors"') == 1
    assert "Количество от" in page.text and "Код отхода" in page.text
    assert "по моим лицензиям" in page.text  # allowed needs an organisation
    # the lots are still listed: the bad values were dropped, nothing else
    assert "Шлак медеплавильный" in page.text


def test_list_view_distance_for_members(client, auth, market, holder, owner, site):
    auth.login(owner.email)
    page = client.get("/lots/", query_string={"sort": "distance", "near": site.id})
    assert page.status_code == 200
    assert "Ближе к моей площадке" in page.text and "км" in page.text
    # another organisation's site cannot be the origin
    page = client.get("/lots/", query_string={"sort": "distance", "near": site.id + 1000})
    assert "выберите её из списка" in page.text


def test_filters_survive_in_links(client, market):
    page = client.get("/lots/", query_string={"q": "шлак", "qty_min": "1", "sort": "price"})
    assert "qty_min=1" in page.text  # the map URL carries the whole query
    data = client.get("/lots/map.json", query_string={"q": "шлак", "qty_min": "1"}).json
    assert {f["properties"]["title"] for f in data["features"]} == {"Шлак медеплавильный",
                                                                   "Металлолом чёрный"}


def test_allowed_filter_follows_licences(market, holder, owner, make_stream, create_org):
    from market.accounts.licences import add_licence
    from market.lots.operations import create_lot, publish_lot
    from market.registry.journal import record

    stream = make_stream(code="100207", name="Пыль газоочистки", hps=["HP14"])
    from market.registry import operations as reg_ops

    reg_ops.save_passport(stream, actor=owner, composition="Pb", handling="h", transport="t",
                          emergency="e", compiled_by="Эколог", compiled_on=date(2026, 1, 1),
                          hazard_properties=["HP14"])
    record(stream, actor=owner, kind="generated", quantity="5", event_date=date(2026, 1, 1))
    dust = create_lot(holder, actor=owner, stream=stream, title="Пыль свинцовая", quantity="5",
                      pricing_mode="fixed", price=100_000)
    publish_lot(dust, actor=owner)
    processor = create_org(kinds=("processor",))
    boss = processor.owners[0].user
    db.session.flush()
    everything = set(titles(search_lots(limit=50)))
    unlicensed = set(titles(search_lots(allowed=True, org=processor, limit=50)))
    assert unlicensed == everything - {"Пыль свинцовая"}
    add_licence(processor, actor=boss, number="KZ-01", valid_from=date(2020, 1, 1), valid_to=None,
                scopes="10 02", operations=["R4"])
    db.session.flush()
    assert set(titles(search_lots(allowed=True, org=processor, limit=50))) == everything
    # without an organisation the filter is not applied at all (the view refuses it first)
    assert set(titles(search_lots(allowed=True, limit=50))) == everything


def test_punctuation_is_no_query(client, market):
    """'!!!' has no word: newest-first with keyset paging, like an empty query."""
    page = client.get("/lots/", query_string={"q": "!!!"})
    assert page.status_code == 200 and "Шлак медеплавильный" in page.text
    assert "По релевантности" not in page.text
