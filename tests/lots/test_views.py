"""The exchange's pages: creating, publishing, withdrawing, public pages and the list."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from market.extensions import db
from market.lots.models import Lot
from market.lots.money import MoneyError, format_kzt, kzt_input, parse_kzt
from market.lots.operations import create_lot, publish_lot
from market.registry.journal import record


@pytest.fixture
def stocked(make_stream, owner):
    s = make_stream()
    record(s, actor=owner, kind="generated", quantity="100", event_date=date(2026, 1, 1))
    return s


def _form(**kw):
    data = {"title": "Шлак медный", "description": "Фракция 0–40 мм", "quantity": "60",
            "min_take": "", "pricing_mode": "fixed", "price": "125 000,50", "price_basis": "per_t",
            "increment": "", "reserve_price": "", "ends_at": "", "anti_snipe_minutes": "0",
            "delivery": "pickup", "available_from": "", "available_to": ""}
    data.update(kw)
    return data


def _draft(holder, owner, stream, qty="60", **kw):
    kw.setdefault("price", 500_000)
    return create_lot(holder, actor=owner, stream=stream, title=kw.pop("title", "Шлак медный"),
                      quantity=qty, pricing_mode=kw.pop("mode", "fixed"), **kw)


def test_money_formatting(app):
    with app.test_request_context():
        assert format_kzt(12_500_050) == "125\u00a0000,50\u00a0₸"
        assert format_kzt(150_000) == "1\u00a0500\u00a0₸"
        assert format_kzt(None) == "—"


def test_money_parsing():
    assert parse_kzt("125 000,50") == 12_500_050
    assert parse_kzt("1\u00a0500 ₸") == 150_000
    assert parse_kzt("") is None
    assert kzt_input(12_500_050) == "125000,50"
    for bad in ("abc", "-5", "1,005"):
        with pytest.raises(MoneyError):
            parse_kzt(bad)


def test_create_via_form_makes_a_draft(client, auth, owner, stocked):
    auth.login(owner.email)
    page = client.get(f"/lots/new?stream={stocked.id}")
    assert page.status_code == 200
    assert 'value="100"' in page.text  # quantity prefilled with what can be offered
    r = client.post(f"/lots/new?stream={stocked.id}", data=_form())
    assert r.status_code == 302
    lot = db.session.scalars(select(Lot).where(Lot.stream_id == stocked.id)).one()
    assert lot.state == "draft" and lot.price == 12_500_050 and lot.quantity == Decimal("60")
    assert r.headers["Location"].endswith(f"/lots/{lot.id}")
    assert stocked.reserved == 0


def test_form_errors_are_shown_next_to_fields(client, auth, owner, stocked):
    auth.login(owner.email)
    r = client.post(f"/lots/new?stream={stocked.id}",
                    data=_form(quantity="abc", pricing_mode="english", price="x"))
    assert r.status_code == 422
    assert "Количество должно быть числом" in r.text
    assert "Сумма в тенге" in r.text
    assert "Укажите шаг аукциона" in r.text
    assert "Укажите время окончания торгов" in r.text
    assert db.session.scalar(select(Lot.id).where(Lot.stream_id == stocked.id)) is None


def test_auction_end_is_almaty_time(client, auth, owner, stocked):
    auth.login(owner.email)
    r = client.post(f"/lots/new?stream={stocked.id}",
                    data=_form(pricing_mode="english", increment="1 000", ends_at="2099-03-01T12:00"))
    assert r.status_code == 302
    lot = db.session.scalars(select(Lot).where(Lot.stream_id == stocked.id)).one()
    assert lot.ends_at.replace(tzinfo=None).hour == 7  # 12:00 in Almaty (UTC+5)


def test_publish_reserves_and_over_offer_is_refused(client, auth, holder, owner, stocked):
    a = _draft(holder, owner, stocked, qty="60")
    b = _draft(holder, owner, stocked, qty="41", title="Ещё шлак")
    auth.login(owner.email)
    r = client.post(f"/lots/{a.id}/publish", follow_redirects=True)
    assert "Лот опубликован" in r.text
    assert a.state == "published" and stocked.reserved == Decimal("60")
    page = client.get(f"/registry/streams/{stocked.id}")
    assert "60,000" in page.text and "Предложить как лот" in page.text
    r = client.post(f"/lots/{b.id}/publish", follow_redirects=True)
    assert "Можно предложить не больше 40,000 т" in r.text
    assert b.state == "draft" and stocked.reserved == Decimal("60")


def test_withdraw_needs_a_reason(client, auth, holder, owner, stocked):
    a = _draft(holder, owner, stocked)
    publish_lot(a, actor=owner)
    db.session.flush()
    auth.login(owner.email)
    r = client.post(f"/lots/{a.id}/withdraw", data={"reason": ""}, follow_redirects=True)
    assert "Укажите причину" in r.text and a.state == "published"
    r = client.post(f"/lots/{a.id}/withdraw", data={"reason": "Продали напрямую"},
                    follow_redirects=True)
    assert a.state == "withdrawn" and stocked.reserved == 0
    assert "Продали напрямую" in r.text


def test_public_page_once_published(client, auth, holder, owner, stocked, create_user):
    a = _draft(holder, owner, stocked)
    assert client.get(f"/lots/{a.id}").status_code == 404
    outsider = create_user()
    auth.login(outsider.email)
    assert client.get(f"/lots/{a.id}").status_code == 404
    auth.logout()
    publish_lot(a, actor=owner)
    db.session.flush()
    r = client.get(f"/lots/{a.id}")
    assert r.status_code == 200
    assert '<meta property="og:title" content="Шлак медный">' in r.text
    assert 'property="og:type" content="website"' in r.text
    assert 'property="og:description"' in r.text and '<meta name="description"' in r.text
    assert "<title>Шлак медный · Qaldyq</title>" in r.text
    assert "5\u00a0000\u00a0₸ за тонну" in r.text
    assert holder.name not in r.text  # the holder only for logged-in users
    assert "Лот опубликован" in r.text  # public history
    auth.login(outsider.email)
    assert holder.name in client.get(f"/lots/{a.id}").text


def test_edit_lot_records_history(client, auth, holder, owner, stocked):
    a = _draft(holder, owner, stocked)
    publish_lot(a, actor=owner)
    db.session.flush()
    auth.login(owner.email)
    r = client.post(f"/lots/{a.id}/edit", data={"title": "Шлак", "description": "", "quantity": "200",
                                               "min_take": "", "delivery": "pickup"})
    assert r.status_code == 422 and "Можно предложить не больше" in r.text
    assert a.quantity == Decimal("60")
    r = client.post(f"/lots/{a.id}/edit", data={"title": "Шлак", "description": "", "quantity": "70",
                                               "min_take": "", "delivery": "pickup"})
    assert r.status_code == 302 and a.quantity == Decimal("70") and stocked.reserved == Decimal("70")
    assert "Лот изменён" in client.get(f"/lots/{a.id}").text


def test_list_filters(client, holder, owner, stocked, make_stream):
    a = _draft(holder, owner, stocked, title="Шлак медный")
    publish_lot(a, actor=owner)
    db.session.flush()
    b = _draft(holder, owner, stocked, qty="10", title="Черновик невидим")
    assert b.state == "draft"
    r = client.get("/lots/")
    assert "Шлак медный" in r.text and "Черновик невидим" not in r.text
    assert "Шлак медный" in client.get("/lots/?chapter=10&hazardous=no&mode=fixed").text
    assert "Шлак медный" not in client.get("/lots/?chapter=01").text
    assert "Шлак медный" not in client.get("/lots/?hazardous=yes").text
    assert "Шлак медный" not in client.get("/lots/?mode=english").text
    assert "Шлак медный" not in client.get("/lots/?mandatory=1").text
    assert "Шлак медный" not in client.get("/lots/?region=750000000").text
    assert "лотов нет" in client.get("/lots/?mode=english").text


@pytest.mark.parametrize("role", ["viewer", "member"])
def test_viewer_and_member_cannot_create(client, auth, holder, stocked, create_user, add_member, role):
    u = create_user()
    add_member(holder, u, role)
    auth.login(u.email)
    assert client.get(f"/lots/new?stream={stocked.id}").status_code == 403
    assert client.post(f"/lots/new?stream={stocked.id}", data=_form()).status_code == 403
    assert "Предложить как лот" not in client.get(f"/registry/streams/{stocked.id}").text


def test_my_lots_lists_every_state(client, auth, holder, owner, stocked):
    _draft(holder, owner, stocked, title="Мой черновик")
    auth.login(owner.email)
    r = client.get("/lots/mine")
    assert r.status_code == 200 and "Мой черновик" in r.text and "Черновик" in r.text


def test_map_of_results_follows_the_search(client, holder, owner, make_stream):
    from datetime import date as _date

    from market.lots.operations import create_lot, publish_lot
    from market.registry.journal import record as _record

    s = make_stream()
    _record(s, actor=owner, kind="generated", quantity="100", event_date=_date(2026, 1, 1))
    for title in ("Шлак для цемента", "Огарки колчеданные"):
        publish_lot(create_lot(holder, actor=owner, stream=s, title=title, quantity="10",
                               pricing_mode="free"), actor=owner)
    data = client.get("/lots/map.json").get_json()
    assert {f["properties"]["title"] for f in data["features"]} == {"Шлак для цемента",
                                                                     "Огарки колчеданные"}
    point = data["features"][0]["geometry"]["coordinates"]
    assert point == [74.98, 46.85]  # the site's point, as lon/lat
    only = client.get("/lots/map.json?q=шлака").get_json()
    assert [f["properties"]["title"] for f in only["features"]] == ["Шлак для цемента"]
    assert "lots-map" in client.get("/lots/").get_data(as_text=True)
