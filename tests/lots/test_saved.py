"""Saved searches (saving, matching new lots, the e-mail digest) and the watch list."""

import threading
from datetime import date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from market.accounts.models import User
from market.core.errors import DomainError, NotFound, PermissionDenied
from market.core.models import Notification, OutboxEmail
from market.core.timeutil import utcnow
from market.core.txn import commit
from market.extensions import db
from market.lots import saved, watch
from market.lots.jobs import lot_published, saved_search_digest
from market.lots.models_interest import SavedSearch, SavedSearchHit, Watch
from market.lots.operations import create_lot, edit_lot, publish_lot, withdraw_lot
from market.lots.query import LotQuery
from market.lots.search import search_lots
from market.registry import operations as reg
from market.registry.journal import record
from market.registry.models import WasteStream
from tests.conftest import is_postgres
from tests.factories import seed_holder
from tests.lots.conftest import OTHER_REGION

KARAGANDA = "350000000"


def q(**args) -> LotQuery:
    return LotQuery.from_args(MultiDict(args))


@pytest.fixture
def buyer(create_user, create_org):
    """The owner of a verified processor organisation (another one than the holder)."""
    user = create_user(full_name="Гульнар Переработчикова")
    create_org(owner=user, kinds=("processor",))
    return user


@pytest.fixture
def offer(holder, owner, make_stream):
    """offer(code, title, ...) -> a published lot of the holder (or a draft: publish=False)."""
    def make(code="100601", title="Шлак медеплавильный", *, description="", on_site=None,
             publish=True, **kw):
        stream = make_stream(code=code, name=title, on_site=on_site)
        record(stream, actor=owner, kind="generated", quantity="100", event_date=date(2026, 1, 1))
        kw.setdefault("pricing_mode", "fixed")
        kw.setdefault("price", 300_000)
        lot = create_lot(holder, actor=owner, stream=stream, title=title, description=description,
                         quantity="10", **kw)
        if publish:
            publish_lot(lot, actor=owner)
        return lot
    return make


@pytest.fixture
def slag_search(buyer):
    return saved.save_search(buyer, query=q(q="шлака", region=KARAGANDA, chapter="10"),
                             organization=buyer.current_org)


def notifications(user) -> list[Notification]:
    return db.session.scalars(select(Notification).where(Notification.user_id == user.id)
                              .order_by(Notification.id)).all()


def hits(search) -> int:
    return db.session.scalar(select(func.count(SavedSearchHit.id))
                             .where(SavedSearchHit.saved_search_id == search.id))


# --- saving ----------------------------------------------------------------------------------
def test_save_search_keeps_the_query_and_its_keys(buyer, slag_search):
    assert slag_search.params == {"q": "шлака", "chapter": "10", "region": KARAGANDA}
    assert slag_search.name == "„шлака“, раздел 10, Карагандинская область"
    assert (slag_search.region_kato, slag_search.code_prefix, slag_search.pricing_mode) == \
        (KARAGANDA, "10", None)
    assert slag_search.alerts and slag_search.organization_id == buyer.current_org.id
    code = saved.save_search(buyer, query=q(q="10 06", code="10", mode="english"), name="  Шлак  ")
    assert (code.name, code.code_prefix, code.pricing_mode, code.region_kato) == \
        ("Шлак", "1006", "english", None)


def test_save_search_refuses_bad_input(buyer, slag_search, create_org):
    bad = [
        (q(), "хотя бы один фильтр"),
        (q(sort="price"), "хотя бы один фильтр"),
        (q(q="шлак", qty_min="много"), "Количество от"),
        (q(q="шлак", allowed="1"), "по моим лицензиям"),
        (q(region="999999999"), "Неизвестный регион"),
        (q(chapter="10", q="шлака", region=KARAGANDA, sort="newest"), "уже сохранён"),
    ]
    for query, message in bad:
        with pytest.raises(DomainError, match=message):
            saved.save_search(buyer, query=query)
    with pytest.raises(DomainError, match="не длиннее 120"):
        saved.save_search(buyer, query=q(q="зола"), name="я" * 121)
    with pytest.raises(PermissionDenied):
        saved.save_search(buyer, query=q(q="зола"), organization=create_org())


def test_save_search_limit_per_user(buyer, monkeypatch):
    monkeypatch.setattr(saved, "MAX_SAVED_SEARCHES", 2)
    saved.save_search(buyer, query=q(q="шлак"))
    saved.save_search(buyer, query=q(q="зола"))
    with pytest.raises(DomainError, match="Сохранено уже 2 поисков"):
        saved.save_search(buyer, query=q(q="кек"))


def test_rename_alerts_delete_only_by_the_owner(buyer, slag_search, create_user, offer):
    other = create_user()
    for call in (lambda: saved.rename_search(slag_search, actor=other, name="x"),
                 lambda: saved.set_alerts(slag_search, actor=other, alerts=False),
                 lambda: saved.delete_search(slag_search, actor=other)):
        with pytest.raises(NotFound):
            call()
    saved.rename_search(slag_search, actor=buyer, name="Шлак Караганда")
    assert slag_search.name == "Шлак Караганда"
    with pytest.raises(DomainError, match="Укажите название"):
        saved.rename_search(slag_search, actor=buyer, name="  ")
    saved.set_alerts(slag_search, actor=buyer, alerts=False)
    assert slag_search.alerts is False
    saved.set_alerts(slag_search, actor=buyer, alerts=True)
    saved.match_new_lot(offer())
    search_id = slag_search.id
    saved.delete_search(slag_search, actor=buyer)
    assert db.session.get(SavedSearch, search_id) is None
    assert db.session.scalar(select(func.count(SavedSearchHit.id))
                             .where(SavedSearchHit.saved_search_id == search_id)) == 0


# --- matching --------------------------------------------------------------------------------
def test_search_lots_only_ids(offer):
    slag, other = offer(), offer("100602", "Шлак гранулированный")
    assert search_lots("шлак", only_ids=[slag.id]) == [slag]
    assert search_lots("шлак", only_ids=[]) == []
    assert set(search_lots("шлак")) == {slag, other}


def test_matching_lot_makes_a_hit_and_one_notification(buyer, slag_search, offer):
    lot = offer("100601", "Шлак медеплавильный", description="Гранулированный, Балхаш")
    assert saved.match_new_lot(lot) == 1
    assert hits(slag_search) == 1
    (note,) = notifications(buyer)
    assert note.text == f"Новый лот по сохранённому поиску «{slag_search.name}»: Шлак медеплавильный"
    assert note.url == f"/lots/{lot.id}" and note.kind == "saved_search.hit"
    # The job runs again (a retry, a second consumer): nothing new.
    assert saved.match_new_lot(lot) == 0
    assert hits(slag_search) == 1 and len(notifications(buyer)) == 1


def test_lots_that_do_not_match(buyer, slag_search, offer, holder, owner, add_member):
    far_site = reg.create_site(holder, actor=owner, name="Отвал №2", kind="storage",
                               region_kato=OTHER_REGION, address="г. Конаев")
    lots = [
        offer("100601", "Шлак медеплавильный", on_site=far_site),  # another region
        offer("170405", "Шлак и окалина"),  # another chapter
        offer("100601", "Зола-унос"),  # the text does not match
        offer("100601", "Шлак медеплавильный (черновик)", publish=False),  # a draft
    ]
    assert [saved.match_new_lot(lot) for lot in lots] == [0, 0, 0, 0]
    # The buyer joins the holder: the holder's own lots are never announced to its members.
    add_member(holder, buyer, "member")
    assert saved.match_new_lot(offer()) == 0
    assert hits(slag_search) == 0 and notifications(buyer) == []


def test_alerts_off_means_no_hit(buyer, slag_search, offer):
    saved.set_alerts(slag_search, actor=buyer, alerts=False)
    assert saved.match_new_lot(offer()) == 0
    assert hits(slag_search) == 0


def test_simple_filters_and_one_real_search_per_condition(buyer, offer, create_user, monkeypatch):
    users = [buyer] + [create_user() for _ in range(3)]
    same = [saved.save_search(u, query=q(q="шлак", code="1006", mode="fixed")) for u in users]
    misses = [saved.save_search(buyer, query=q(**args)) for args in (
        {"q": "шлак", "mode": "english"}, {"code": "1002"}, {"q": "шлак", "hazardous": "yes"},
        {"q": "шлак", "qty_min": "50"}, {"q": "шлак", "mandatory": "1"},
        {"q": "шлак", "price_max": "1000"},  # 3 000 ₸/t: only the real search knows
    )]
    calls = []
    real = saved.search_lots
    monkeypatch.setattr(saved, "search_lots", lambda *a, **kw: calls.append(kw) or real(*a, **kw))
    lot = offer("100601", "Шлак медеплавильный")
    assert saved.match_new_lot(lot) == 4
    assert all(hits(s) == 1 for s in same) and all(hits(s) == 0 for s in misses)
    # the identical searches were confirmed once; mode, code, hazard, quantity and "mandatory"
    # were decided without a search; the price needed one
    assert len(calls) == 2 and all(c["only_ids"] == [lot.id] for c in calls)
    text = "Новый лот по сохранённому поиску «„шлак“, 1006, Фиксированная цена»: Шлак медеплавильный"
    assert [n.text for n in notifications(users[1])] == [text]


def test_several_searches_of_one_user_one_notification(buyer, slag_search, offer):
    other = saved.save_search(buyer, query=q(code="1006"), name="Код 10 06")
    assert saved.match_new_lot(offer()) == 2
    (note,) = notifications(buyer)
    assert note.text == (f"Новый лот по сохранённым поискам «{slag_search.name}», «Код 10 06»: "
                         "Шлак медеплавильный")
    assert hits(other) == 1


def test_the_publication_job_records_the_hit(buyer, slag_search, offer):
    lot = offer()
    lot_published(lot.id)  # what runs after the publication commits (immediate mode here)
    assert hits(slag_search) == 1


# --- the digest ------------------------------------------------------------------------------
def _mails(user):
    return db.session.scalars(select(OutboxEmail).where(OutboxEmail.recipient == user.email)).all()


def test_digest_one_mail_per_user_then_nothing(buyer, slag_search, offer, create_user, app):
    second = create_user(full_name="Мадина Инвестор")
    ash = saved.save_search(second, query=q(q="зола"))
    codes = saved.save_search(buyer, query=q(code="1006"), name="Код 10 06")
    slag1 = offer("100601", "Шлак медеплавильный")
    slag2 = offer("100601", "Шлак отвальный")
    fly_ash = offer("100102", "Зола-унос ТЭЦ")
    for lot in (slag1, slag2, fly_ash):
        saved.match_new_lot(lot)
    with app.test_request_context():
        assert saved.send_digests() == 2
    (mail,) = _mails(buyer)
    assert mail.subject == "Новые лоты по сохранённым поискам: 2"  # two lots, four hits
    body = mail.body
    assert "Здравствуйте, Гульнар Переработчикова!" in body
    assert f"«{slag_search.name}»" in body and "«Код 10 06»" in body
    assert body.count(f"/lots/{slag1.id}\n") == 2 and body.count(f"/lots/{slag2.id}\n") == 2
    assert "/lots/?q=" in body and "/saved/" in body
    assert body.index(f"«{slag_search.name}»") < body.index("«Код 10 06»")
    (other_mail,) = _mails(second)
    assert "Зола-унос ТЭЦ" in other_mail.body and "Шлак" not in other_mail.body
    assert db.session.scalar(select(func.count(SavedSearchHit.id))
                             .where(SavedSearchHit.emailed_at.is_(None))) == 0
    with app.test_request_context():
        assert saved.send_digests() == 0
    assert len(_mails(buyer)) == 1 and len(_mails(second)) == 1
    assert hits(codes) == 2 and hits(ash) == 1


def test_digest_skips_lots_gone_and_alerts_off(buyer, slag_search, offer, owner, app):
    lot = offer()
    saved.match_new_lot(lot)
    withdraw_lot(lot, actor=owner, reason="Продан напрямую")
    with app.test_request_context():
        assert saved.send_digests() == 0  # the only hit is withdrawn: no e-mail, hit settled
    assert _mails(buyer) == []
    assert db.session.scalar(select(SavedSearchHit.emailed_at)) is not None


def test_digest_schedule_is_8_am_in_almaty():
    assert saved.digest_hour_utc() == 3
    task = saved_search_digest.task_class()
    assert task.validate_datetime(datetime(2026, 6, 1, 3, 0))  # Huey's clock: naive UTC
    assert not task.validate_datetime(datetime(2026, 6, 1, 8, 0))
    assert not task.validate_datetime(datetime(2026, 6, 1, 3, 1))


def test_digest_job_runs(buyer, slag_search, offer):
    saved.match_new_lot(offer())
    assert saved_search_digest.call_local() == 1
    assert len(_mails(buyer)) == 1


# --- the watch list --------------------------------------------------------------------------
def test_watch_and_unwatch(buyer, offer, monkeypatch):
    lot = offer()
    assert watch.watch_lot(lot, actor=buyer) is True
    assert watch.watch_lot(lot, actor=buyer) is False
    assert watch.is_watching(buyer, lot) and watch.watcher_count(lot) == 1
    assert [w.lot_id for w, _lot in watch.watched_lots(buyer)] == [lot.id]
    with pytest.raises(DomainError, match="на торгах"):
        watch.watch_lot(offer(publish=False), actor=buyer)
    monkeypatch.setattr(watch, "MAX_WATCHES", 1)
    with pytest.raises(DomainError, match="это предел"):
        watch.watch_lot(offer("100602", "Шлак другой"), actor=buyer)
    assert watch.unwatch_lot(lot, actor=buyer) is True
    assert watch.unwatch_lot(lot, actor=buyer) is False
    assert db.session.scalar(select(func.count(Watch.id))) == 0


def test_watchers_hear_about_edits_and_withdrawal(buyer, offer, owner, create_user):
    lot = offer()
    colleague = create_user()
    watch.watch_lot(lot, actor=buyer)
    watch.watch_lot(lot, actor=colleague)
    watch.watch_lot(lot, actor=owner)  # the actor is never told about their own action
    edit_lot(lot, actor=owner, quantity="8", description="Фракция 0–5 мм")
    withdraw_lot(lot, actor=owner, reason="Продан напрямую")
    expected = [f"Лот «{lot.title}», за которым вы следите, изменён: описание, количество.",
                f"Лот «{lot.title}», за которым вы следите, снят с торгов: Продан напрямую"]
    for user in (buyer, colleague):
        assert [n.text for n in notifications(user)] == expected
        assert {n.url for n in notifications(user)} == {f"/lots/{lot.id}"}
    assert notifications(owner) == []


def test_watchers_hear_when_trading_closes(buyer, offer):
    from market.lots.closing import close_lot

    lot = offer(pricing_mode="english", price=100_000, increment=10_000,
                ends_at=utcnow() + timedelta(days=1))
    watch.watch_lot(lot, actor=buyer)
    assert close_lot(lot, now=utcnow() + timedelta(days=2)) is not None
    assert [n.text for n in notifications(buyer)] == [
        f"Торги по лоту «{lot.title}», за которым вы следите, завершены: закрыт без победителя."]


def test_edit_of_a_draft_tells_nobody(buyer, offer, owner):
    lot = offer(publish=False)
    edit_lot(lot, actor=owner, title="Шлак, уточнено")
    assert watch.notify_watchers(lot, "x") == 0 and notifications(buyer) == []


# --- pages -----------------------------------------------------------------------------------
def test_save_from_the_search_page_and_manage(client, auth, buyer, offer):
    offer()
    auth.login(buyer.email)
    page = client.get(f"/lots/?q=шлака&region={KARAGANDA}&chapter=10")
    assert 'data-testid="save-search"' in page.text and 'name="region" value="350000000"' in page.text
    r = client.post("/saved/", data={"q": "шлака", "region": KARAGANDA, "chapter": "10", "name": "",
                                     "alerts": "y"})
    assert r.status_code == 302
    assert parse_qs(urlsplit(r.headers["Location"]).query) == {
        "q": ["шлака"], "chapter": ["10"], "region": [KARAGANDA]}
    search = db.session.scalars(select(SavedSearch).where(SavedSearch.user_id == buyer.id)).one()
    assert search.alerts and search.name.startswith("„шлака“")
    page = client.get(r.headers["Location"])
    assert 'data-testid="search-saved"' in page.text and "сохранён" in page.text
    # the same again: a clear message, not a 500
    r = client.post("/saved/", data={"q": "шлака", "region": KARAGANDA, "chapter": "10"},
                    follow_redirects=True)
    assert "Такой поиск уже сохранён" in r.text
    listing = client.get("/saved/")
    assert listing.status_code == 200 and search.name in listing.text
    assert "/lots/?q=" in listing.text and "включены" in listing.text
    client.post(f"/saved/{search.id}/alerts", data={"alerts": "0"})
    client.post(f"/saved/{search.id}/rename", data={"name": "Шлак в Караганде"})
    assert (search.alerts, search.name) == (False, "Шлак в Караганде")
    assert "выключены" in client.get("/saved/").text
    search_id = search.id
    client.post(f"/saved/{search_id}/delete")
    assert db.session.get(SavedSearch, search_id) is None
    assert "Сохранённых поисков пока нет" in client.get("/saved/").text


def test_bad_saves_get_messages(client, auth, buyer):
    auth.login(buyer.email)
    r = client.post("/saved/", data={"sort": "price"}, follow_redirects=True)
    assert r.status_code == 200 and "хотя бы один фильтр" in r.text
    r = client.post("/saved/", data={"q": "шлак", "name": "я" * 200}, follow_redirects=True)
    assert r.status_code == 200 and "не длиннее 120" in r.text
    assert client.post("/saved/999999/rename", data={"name": "x"}).status_code == 404


def test_search_page_for_visitors_and_without_filters(client, auth, buyer):
    assert "чтобы сохранить этот поиск" in client.get("/lots/?q=шлак").text
    auth.login(buyer.email)
    assert 'data-testid="save-search"' not in client.get("/lots/").text


def test_watch_from_the_lot_page_and_the_watchlist(client, auth, buyer, offer, owner):
    lot = offer()
    auth.login(buyer.email)
    assert 'data-testid="watch"' in client.get(f"/lots/{lot.id}").text
    r = client.post(f"/lots/{lot.id}/watch")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/lots/{lot.id}")
    assert 'data-testid="unwatch"' in client.get(f"/lots/{lot.id}").text
    page = client.get("/watchlist")
    assert lot.title in page.text and "Опубликован" in page.text
    withdraw_lot(lot, actor=owner, reason="Продан")
    page = client.get("/watchlist")
    assert "Снят" in page.text
    r = client.post(f"/lots/{lot.id}/unwatch", data={"next": "/watchlist"})
    assert r.headers["Location"].endswith("/watchlist")
    assert "В избранном пока нет лотов" in client.get("/watchlist").text
    assert client.post("/lots/999999/watch").status_code == 404


def test_holder_sees_the_number_of_watchers(client, auth, buyer, offer, owner):
    lot = offer()
    watch.watch_lot(lot, actor=buyer)
    auth.login(owner.email)
    page = client.get(f"/lots/{lot.id}")
    assert "Лот в избранном у пользователей: 1" in page.text and 'data-testid="watch"' not in page.text



@pytest.mark.skipif(not is_postgres(), reason="parallel consumers need PostgreSQL")
def test_two_consumers_send_each_digest_once(committed_app):
    app = committed_app
    uid, _org_id, sid = seed_holder(app, 881, code="100601")
    with app.app_context():
        holder, stream = db.session.get(User, uid), db.session.get(WasteStream, sid)
        reader = User(email="reader@example.kz", full_name="Читатель", password_hash="x")
        db.session.add(reader)
        db.session.flush()
        saved.save_search(reader, query=q(q="шлак"))
        record(stream, actor=holder, kind="generated", quantity="100", event_date=date(2026, 1, 1))
        lots = [create_lot(stream.organization, actor=holder, stream=stream, title=f"Шлак {i}",
                           quantity="10", pricing_mode="free") for i in range(3)]
        commit()
        for lot in lots:
            publish_lot(lot, actor=holder)
            commit()  # the publication job runs after the commit (immediate mode): a hit each
        assert db.session.scalar(select(func.count(SavedSearchHit.id))) == 3
    barrier, results = threading.Barrier(4), []

    def consumer():
        with app.app_context():
            barrier.wait()
            try:
                results.append(saved.send_digests())
                commit()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=consumer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == [0, 0, 0, 1]
    with app.app_context():
        (mail,) = db.session.scalars(select(OutboxEmail).where(
            OutboxEmail.recipient == "reader@example.kz")).all()
        assert all(f"Шлак {i}" in mail.body for i in range(3))
        assert db.session.scalar(select(func.count(SavedSearchHit.id))
                                 .where(SavedSearchHit.emailed_at.is_(None))) == 0
