"""The lot's public face: the view counter, the page's title and Open Graph tags, the sitemaps
and robots.txt."""

import threading
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select, update

from market.accounts.models import Organization, User
from market.core.timeutil import utcnow
from market.core.txn import commit
from market.extensions import db
from market.lots import interest, sitemap
from market.lots.closing import close_lot
from market.lots.models import Lot
from market.lots.operations import create_lot, publish_lot, withdraw_lot
from market.registry.journal import record
from market.registry.models import WasteStream
from tests.conftest import is_postgres
from tests.factories import seed_holder

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@pytest.fixture
def stocked(make_stream, owner):
    s = make_stream()
    record(s, actor=owner, kind="generated", quantity="100", event_date=date(2026, 1, 1))
    return s


def offer(holder, owner, stream, title="Шлак медный", publish=True, **kw):
    kw.setdefault("pricing_mode", "fixed")
    kw.setdefault("price", 500_000)
    lot = create_lot(holder, actor=owner, stream=stream, title=title, quantity="5", **kw)
    if publish:
        publish_lot(lot, actor=owner)
    return lot


def views_of(lot) -> int:
    return db.session.scalar(select(Lot.views).where(Lot.id == lot.id))


# the view counter ------------------------------------------------------------------------

def test_a_view_counts_once_per_session_and_not_for_the_holder(app, client, auth, holder, owner,
                                                              stocked, create_user, add_member):
    lot = offer(holder, owner, stocked)
    for _ in range(3):
        assert client.get(f"/lots/{lot.id}").status_code == 200
    assert views_of(lot) == 1
    app.test_client().get(f"/lots/{lot.id}")  # another visitor
    assert views_of(lot) == 2
    other = app.test_client()
    auth_other = type(auth)(other)
    auth_other.login(create_user().email)  # a logged-in outsider is a visitor too
    other.get(f"/lots/{lot.id}")
    assert views_of(lot) == 3
    viewer = create_user()
    add_member(holder, viewer, "viewer")
    for user in (owner, viewer):  # the holder's people never count
        c = app.test_client()
        type(auth)(c).login(user.email)
        page = c.get(f"/lots/{lot.id}")
        assert 'data-testid="lot-views">Просмотров: 3<' in page.text
    assert views_of(lot) == 3
    assert "lot-views" not in app.test_client().get(f"/lots/{lot.id}").text  # public: no count


def test_only_published_lots_count(client, auth, holder, owner, stocked):
    lot = offer(holder, owner, stocked, pricing_mode="sealed", price=None,
                ends_at=utcnow() + timedelta(days=1))
    close_lot(lot, now=lot.ends_at)
    client.get(f"/lots/{lot.id}")
    assert views_of(lot) == 0


def test_the_session_remembers_a_capped_list(app, session):
    store = {}
    for i in range(1, interest.SEEN_CAP + 6):
        assert interest.count_view(SimpleNamespace(id=i, state="published"), store, member=False)
    assert len(store[interest.SEEN_KEY]) == interest.SEEN_CAP
    assert store[interest.SEEN_KEY][0] == 6  # the oldest went first
    assert not interest.count_view(SimpleNamespace(id=50, state="published"), store, member=False)
    assert interest.count_view(SimpleNamespace(id=1, state="published"), store, member=False)
    assert not interest.count_view(SimpleNamespace(id=999, state="draft"), store, member=False)
    assert not interest.count_view(SimpleNamespace(id=998, state="published"), store, member=True)


@pytest.mark.skipif(not is_postgres(), reason="parallel writers need PostgreSQL")
def test_simultaneous_views_are_all_counted(committed_app):
    app = committed_app
    uid, org_id, sid = seed_holder(app, 783)
    with app.app_context():
        user, org = db.session.get(User, uid), db.session.get(Organization, org_id)
        stream = db.session.get(WasteStream, sid)
        record(stream, actor=user, kind="generated", quantity="10", event_date=date(2026, 1, 1))
        lot = create_lot(org, actor=user, stream=stream, title="Шлак", quantity="5",
                         pricing_mode="free")
        publish_lot(lot, actor=user)
        commit()
        lot_id = lot.id
    n = 10
    barrier = threading.Barrier(n)
    statuses = []

    def visit():
        client = app.test_client()
        barrier.wait()
        statuses.append(client.get(f"/lots/{lot_id}").status_code)

    threads = [threading.Thread(target=visit) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert statuses == [200] * n
    with app.app_context():
        assert db.session.get(Lot, lot_id).views == n  # no update lost


# title, description, Open Graph ------------------------------------------------------------

def test_lot_page_head(client, holder, owner, stocked):
    lot = offer(holder, owner, stocked, title="Шлак медный гранулированный")
    head = client.get(f"/lots/{lot.id}").text.split("</head>")[0]
    assert "<title>Шлак медный гранулированный · Qaldyq</title>" in head
    assert '<meta property="og:title" content="Шлак медный гранулированный">' in head
    assert f'<link rel="canonical" href="http://localhost/lots/{lot.id}">' in head
    assert f'<meta property="og:url" content="http://localhost/lots/{lot.id}">' in head
    assert '<meta property="og:locale" content="ru_RU">' in head
    assert 'name="robots"' not in head
    assert "5,000 т, 10 02 01, " in head and "Фиксированная цена: 5\u00a0000\u00a0₸ за тонну." in head


def test_formation_lot_without_a_code_has_a_clean_summary(client, holder, owner):
    from market.cadastre.operations import create_formation

    f = create_formation(holder, actor=owner, name="Отвал", kind="slag_heap",
                         region_kato="350000000", lat=49.8, lon=73.1, tonnage=1000)
    lot = create_lot(holder, actor=owner, formation=f, title="Отвал", quantity="500",
                     pricing_mode="free")
    publish_lot(lot, actor=owner)
    head = client.get(f"/lots/{lot.id}").text.split("</head>")[0]
    assert ", ," not in head and "500,000 т, " in head


def test_closed_lots_are_not_indexed(client, holder, owner, stocked):
    lot = offer(holder, owner, stocked, pricing_mode="sealed", price=None,
                ends_at=utcnow() + timedelta(days=1))
    close_lot(lot, now=lot.ends_at)
    assert '<meta name="robots" content="noindex">' in client.get(f"/lots/{lot.id}").text


# robots.txt and sitemaps -----------------------------------------------------------------------

def test_robots_txt_points_at_the_sitemap(client):
    r = client.get("/robots.txt")
    assert r.status_code == 200 and r.mimetype == "text/plain"
    assert "Sitemap: http://localhost/sitemap.xml" in r.text
    assert "Disallow: /registry/" in r.text and "Disallow: /lots/" not in r.text.replace(
        "Disallow: /lots/mine", "").replace("Disallow: /lots/new", "")


def _xml(client, url):
    r = client.get(url)
    assert r.status_code == 200 and r.mimetype == "application/xml", url
    return ET.fromstring(r.data)  # noqa: S314 (our own response, not untrusted input)


def test_sitemaps_list_published_lots_in_id_blocks(client, holder, owner, stocked, monkeypatch):
    monkeypatch.setattr(sitemap, "PAGE", 2)
    lots = [offer(holder, owner, stocked, title=f"Лот {i}") for i in range(5)]
    draft = offer(holder, owner, stocked, publish=False)
    withdrawn = lots.pop(1)
    withdraw_lot(withdrawn, actor=owner, reason="Передумали")
    db.session.flush()

    index = _xml(client, "/sitemap.xml")
    assert index.tag == f"{SM}sitemapindex"
    locs = [s.find(f"{SM}loc").text for s in index]
    assert locs[0] == "http://localhost/sitemap-pages.xml"
    blocks = sorted({(lot.id - 1) // 2 + 1 for lot in lots})
    assert locs[1:] == [f"http://localhost/sitemap-lots-{n}.xml" for n in blocks]
    assert all(s.find(f"{SM}lastmod") is not None for s in list(index)[1:])

    listed = {}
    for n in blocks:
        urlset = _xml(client, f"/sitemap-lots-{n}.xml")
        assert urlset.tag == f"{SM}urlset" and 0 < len(urlset) <= 2
        for u in urlset:
            listed[u.find(f"{SM}loc").text] = u.find(f"{SM}lastmod").text
    assert set(listed) == {f"http://localhost/lots/{lot.id}" for lot in lots}
    assert f"http://localhost/lots/{draft.id}" not in listed
    lastmod = listed[f"http://localhost/lots/{lots[0].id}"]
    assert lastmod == lots[0].updated_at.isoformat(timespec="seconds") and lastmod.endswith("+00:00")

    pages = _xml(client, "/sitemap-pages.xml")
    locs = [u.find(f"{SM}loc").text for u in pages]
    assert locs == ["http://localhost/", "http://localhost/lots/", "http://localhost/classifier/"]
    assert pages[1].find(f"{SM}lastmod") is not None


def test_sitemap_of_an_empty_block_is_a_404(client, holder, owner, stocked):
    lot = offer(holder, owner, stocked)
    db.session.execute(update(Lot).where(Lot.id == lot.id).values(state="closed"))
    assert client.get("/sitemap-lots-0.xml").status_code == 404
    assert client.get(f"/sitemap-lots-{(lot.id - 1) // sitemap.PAGE + 1}.xml").status_code == 404
    assert client.get("/sitemap-lots-2147483647.xml").status_code == 404
    index = _xml(client, "/sitemap.xml")
    assert len(index) == 1  # the public pages only
