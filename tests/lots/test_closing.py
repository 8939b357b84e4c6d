"""Lots close at their end time exactly once; mandatory offers leave an "offered, no taker" record."""

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import func, select

from market.accounts.models import Organization, User
from market.core.models import AuditEvent, Notification
from market.core.timeutil import utcnow
from market.core.txn import commit
from market.extensions import db
from market.lots.closing import close_expired_lots, close_lot, closes_at, is_due
from market.lots.models import Lot, LotEvent, OfferReport
from market.lots.operations import create_lot, publish_lot, withdraw_lot
from market.registry.journal import record
from market.registry.limits import flag_overdue_streams
from market.registry.models import WasteStream
from tests.conftest import is_postgres
from tests.factories import seed_holder

D = Decimal


@pytest.fixture
def stocked(make_stream, owner):
    s = make_stream()
    record(s, actor=owner, kind="generated", quantity="100", event_date=date(2026, 1, 1))
    return s


@pytest.fixture
def overdue(make_stream, owner):
    """A stream stored past its limit: its lots are mandatory offers."""
    s = make_stream(purpose="generation", name="Зола")
    record(s, actor=owner, kind="generated", quantity="100", event_date=date(2025, 1, 1),
           today=date(2025, 1, 1))
    flag_overdue_streams()
    assert s.must_offer_since is not None
    return s


def auction(holder, owner, stream, *, days=2, qty="40", **kw):
    lot = create_lot(holder, actor=owner, stream=stream, title="Шлак на аукционе", quantity=qty,
                     pricing_mode="english", price=100_000, increment=10_000,
                     ends_at=utcnow() + timedelta(days=days), **kw)
    publish_lot(lot, actor=owner)
    return lot


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_job_closes_an_ended_lot_once(holder, owner, stocked):
    lot = auction(holder, owner, stocked)
    assert stocked.reserved == D("40")
    assert close_expired_lots(utcnow()) == 0  # not yet
    with time_machine.travel(lot.ends_at + timedelta(minutes=1)):
        assert close_expired_lots(utcnow()) == 1
        assert close_expired_lots(utcnow()) == 0  # the second run finds nothing
    db.session.expire_all()
    assert lot.state == "closed" and lot.closed_at is not None
    assert stocked.reserved == 0
    assert count(LotEvent, LotEvent.lot_id == lot.id, LotEvent.kind == "closed") == 1
    assert count(AuditEvent, AuditEvent.action == "lot.closed", AuditEvent.object_id == str(lot.id)) == 1
    assert count(OfferReport, OfferReport.lot_id == lot.id) == 0  # not a mandatory offer
    note = db.session.scalars(select(Notification).where(Notification.user_id == owner.id,
                                                          Notification.kind == "lot.closed")).one()
    assert "без покупателя" in note.text and note.url == f"/lots/{lot.id}"


def test_close_lot_twice_closes_once(holder, owner, stocked):
    lot = auction(holder, owner, stocked)
    later = lot.ends_at + timedelta(seconds=1)
    assert close_lot(lot, now=lot.ends_at - timedelta(seconds=1)) is None  # not due
    assert close_lot(lot, now=later).action == "close"
    assert close_lot(lot, now=later) is None
    assert stocked.reserved == 0
    assert count(LotEvent, LotEvent.lot_id == lot.id, LotEvent.kind == "closed") == 1


def test_lots_without_an_end_never_expire(holder, owner, stocked):
    lot = create_lot(holder, actor=owner, stream=stocked, title="Шлак", quantity="10",
                     pricing_mode="fixed", price=100_000)
    publish_lot(lot, actor=owner)
    assert closes_at(lot) is None
    assert close_expired_lots(utcnow() + timedelta(days=3650)) == 0
    assert lot.state == "published"


def test_lazy_close_when_the_page_is_viewed(client, holder, owner, stocked):
    lot = auction(holder, owner, stocked)
    with time_machine.travel(lot.ends_at + timedelta(minutes=5)):
        page = client.get(f"/lots/{lot.id}")
        assert page.status_code == 200
        assert "Закрыт без победителя" in page.text
        assert close_expired_lots(utcnow()) == 0  # already closed by the view
    assert lot.state == "closed" and stocked.reserved == 0
    assert count(LotEvent, LotEvent.lot_id == lot.id, LotEvent.kind == "closed") == 1


def test_mandatory_offer_report_with_the_right_numbers(app, client, auth, holder, owner, overdue):
    lot = auction(holder, owner, overdue, days=2)
    assert lot.mandatory
    for _ in range(2):  # two visitors; the second views twice in one session
        visitor = app.test_client()
        assert visitor.get(f"/lots/{lot.id}").status_code == 200
    assert visitor.get(f"/lots/{lot.id}").status_code == 200
    auth.login(owner.email)  # the holder's own views do not count
    client.get(f"/lots/{lot.id}")
    days = app.config["MANDATORY_OFFER_DAYS"]
    with time_machine.travel(lot.ends_at + timedelta(hours=1)):
        # The auction has ended, but a mandatory offer stays published for its minimum period.
        assert not is_due(lot, utcnow())
        assert close_expired_lots(utcnow()) == 0
    closing_time = lot.published_at + timedelta(days=days, minutes=1)
    assert closes_at(lot) == lot.published_at + timedelta(days=days)
    with time_machine.travel(closing_time):
        assert close_expired_lots(utcnow()) == 1
    report = db.session.scalars(select(OfferReport).where(OfferReport.lot_id == lot.id)).one()
    assert report.how_closed == "expired"
    assert (report.views, report.requests, report.bids) == (2, 0, 0)
    assert report.quantity == D("40") and report.pricing_mode == "english" and report.price == 100_000
    assert report.organization_id == holder.id and report.stream_id == overdue.id
    assert report.region_kato == lot.region_kato and report.waste_code == lot.waste_code
    assert report.published_at == lot.published_at
    assert abs(report.closed_at - closing_time) < timedelta(seconds=5)
    assert report.days_offered == days
    assert overdue.reserved == 0
    note = db.session.scalars(select(Notification).where(Notification.user_id == owner.id,
                                                          Notification.kind == "lot.closed")).one()
    assert note.url == f"/offer-reports/{report.id}"


def test_withdrawn_mandatory_offer_after_minimum_gets_a_report(app, holder, owner, overdue):
    lot = create_lot(holder, actor=owner, stream=overdue, title="Зола", quantity="30",
                     pricing_mode="free")
    publish_lot(lot, actor=owner)
    assert overdue.reserved == D("30")
    after = lot.published_at + timedelta(days=app.config["MANDATORY_OFFER_DAYS"], hours=2)
    withdraw_lot(lot, actor=owner, reason="Никто не взял", now=after)
    report = db.session.scalars(select(OfferReport).where(OfferReport.lot_id == lot.id)).one()
    assert report.how_closed == "withdrawn" and report.closed_at == after
    assert report.quantity == D("30") and report.price is None
    assert lot.state == "withdrawn" and overdue.reserved == 0


def test_withdrawn_ordinary_lot_gets_no_report(holder, owner, stocked):
    lot = create_lot(holder, actor=owner, stream=stocked, title="Шлак", quantity="30",
                     pricing_mode="free")
    publish_lot(lot, actor=owner)
    withdraw_lot(lot, actor=owner, reason="Передумали")
    assert count(OfferReport) == 0 and stocked.reserved == 0


def test_withdrawn_mandatory_draft_gets_no_report(holder, owner, overdue):
    lot = create_lot(holder, actor=owner, stream=overdue, title="Зола", quantity="30",
                     pricing_mode="free")
    withdraw_lot(lot, actor=owner, reason="Черновик не нужен")
    assert count(OfferReport) == 0


def test_formation_lot_closes_without_touching_streams(holder, owner):
    from market.cadastre.operations import create_formation

    f = create_formation(holder, actor=owner, name="Отвал", kind="slag_heap",
                         region_kato="350000000", lat=49.8, lon=73.1, tonnage=1000)
    lot = create_lot(holder, actor=owner, formation=f, title="Отвал", quantity="500",
                     pricing_mode="sealed", ends_at=utcnow() + timedelta(hours=1))
    publish_lot(lot, actor=owner)
    assert close_lot(lot, now=lot.ends_at) is not None
    assert lot.state == "closed"


# PostgreSQL: the periodic job and viewers close the same lots at the same moment -------------

@pytest.mark.skipif(not is_postgres(), reason="parallel writers need PostgreSQL")
def test_job_and_viewers_racing_close_each_lot_once(committed_app):
    app = committed_app
    uid, org_id, sid = seed_holder(app, 781)
    n = 6
    with app.app_context():
        user, org = db.session.get(User, uid), db.session.get(Organization, org_id)
        stream = db.session.get(WasteStream, sid)
        record(stream, actor=user, kind="generated", quantity="100", event_date=date(2026, 1, 1))
        stream.must_offer_since = date(2026, 1, 1)  # mandatory: each lot leaves a report
        start = utcnow() - timedelta(days=app.config["MANDATORY_OFFER_DAYS"] + 1)
        lot_ids = []
        for i in range(n):
            lot = create_lot(org, actor=user, stream=stream, title=f"Лот {i}", quantity="10",
                             pricing_mode="sealed", ends_at=start + timedelta(hours=1), now=start)
            publish_lot(lot, actor=user, now=start)
            lot_ids.append(lot.id)
        commit()
        assert db.session.get(WasteStream, sid).reserved == D("60")
    barrier = threading.Barrier(n + 1)
    job_closed, statuses, errors = [], [], []

    def job():
        with app.app_context():
            try:
                barrier.wait()
                job_closed.append(close_expired_lots(utcnow()))
            except Exception as exc:  # reported below
                errors.append(exc)
            finally:
                db.session.remove()

    def viewer(lot_id):
        try:
            barrier.wait()
            statuses.append(app.test_client().get(f"/lots/{lot_id}").status_code)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=job)] + [threading.Thread(target=viewer, args=(i,))
                                                 for i in lot_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and statuses == [200] * n and len(job_closed) == 1
    with app.app_context():
        assert db.session.get(WasteStream, sid).reserved == 0  # released once per lot, not twice
        for lot_id in lot_ids:
            assert db.session.get(Lot, lot_id).state == "closed"
            assert count(LotEvent, LotEvent.lot_id == lot_id, LotEvent.kind == "closed") == 1
            assert count(OfferReport, OfferReport.lot_id == lot_id) == 1
        assert count(AuditEvent, AuditEvent.action == "lot.closed") == n
        assert count(Notification, Notification.kind == "lot.closed") == n


def test_a_decider_plugged_in_by_a_higher_domain_awards_the_lot(holder, owner, stocked, monkeypatch):
    from market.lots import closing

    finished = []
    monkeypatch.setattr(closing, "DECIDERS", [lambda lot, now: None,
                                              lambda lot, now: closing.Outcome("award", winner="bid")])
    monkeypatch.setitem(closing.FINISH, "award",
                        lambda lot, outcome, *, now, actor: finished.append((lot.id, outcome.winner)))
    lot = auction(holder, owner, stocked)
    assert close_lot(lot, now=lot.ends_at).action == "award"
    assert lot.state == "awarded" and finished == [(lot.id, "bid")]
    assert stocked.reserved == D("40")  # the award branch decides what happens to the reserve
