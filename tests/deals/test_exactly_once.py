"""PostgreSQL: two runs of the closing job and a viewer race to close an auction: one award, one deal."""

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from market.accounts.models import Membership, Organization, OrgRole, User
from market.auctions.bidding import place_bid
from market.auctions.models import Bid
from market.core.models import AuditEvent, Notification
from market.core.timeutil import utcnow
from market.core.txn import commit
from market.deals.models import Deal
from market.extensions import db
from market.lots.closing import close_expired_lots
from market.lots.models import Lot, LotEvent
from market.lots.operations import create_lot, publish_lot
from market.registry.journal import record
from market.registry.models import WasteStream
from tests.conftest import is_postgres
from tests.factories import seed_holder, valid_bin

pytestmark = pytest.mark.skipif(not is_postgres(), reason="parallel writers need PostgreSQL")


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def seed(app):
    uid, org_id, sid = seed_holder(app, 791)
    with app.app_context():
        user, org = db.session.get(User, uid), db.session.get(Organization, org_id)
        stream = db.session.get(WasteStream, sid)
        record(stream, actor=user, kind="generated", quantity="100", event_date=date(2026, 1, 1))
        start = utcnow() - timedelta(days=2)
        lot = create_lot(org, actor=user, stream=stream, title="Шлак", quantity="10",
                         pricing_mode="english", price=100_000, increment=10_000,
                         ends_at=start + timedelta(hours=1), now=start)
        publish_lot(lot, actor=user, now=start)
        bidders = []
        for i in range(2):
            person = User(email=f"buyer{i}@example.kz", full_name=f"Buyer {i}", password_hash="x")
            firm = Organization(bin=valid_bin(8100 + i), name=f"ТОО Покупатель {i}",
                                region_kato="350000000", address="x", state="verified")
            firm.kinds = ["processor"]
            db.session.add_all([person, firm])
            db.session.flush()
            db.session.add(Membership(user=person, organization=firm, role=OrgRole.owner.value))
            db.session.flush()
            db.session.refresh(person)
            place_bid(lot, actor=person, organization=firm, amount=100_000 + i * 10_000,
                      now=start + timedelta(minutes=10 + i))
            bidders.append(firm.id)
        commit()
        return lot.id, sid, bidders


def test_two_jobs_and_a_viewer_award_once(committed_app):
    app = committed_app
    lot_id, sid, (loser_id, winner_id) = seed(app)
    barrier = threading.Barrier(3)
    closed, statuses, errors = [], [], []

    def job():
        with app.app_context():
            try:
                barrier.wait()
                closed.append(close_expired_lots(utcnow()))
            except Exception as exc:  # reported below
                errors.append(exc)
            finally:
                db.session.remove()

    def viewer():
        try:
            barrier.wait()
            statuses.append(app.test_client().get(f"/lots/{lot_id}").status_code)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=job), threading.Thread(target=job),
               threading.Thread(target=viewer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and statuses == [200] and sum(closed) <= 1
    with app.app_context():
        lot = db.session.get(Lot, lot_id)
        assert lot.state == "awarded"
        deal = db.session.scalars(select(Deal).where(Deal.lot_id == lot_id)).one()
        assert deal.buyer_id == winner_id and deal.unit_price == 110_000 and deal.total == 1_100_000
        assert count(LotEvent, LotEvent.lot_id == lot_id, LotEvent.kind == "awarded") == 1
        assert count(AuditEvent, AuditEvent.action == "lot.awarded") == 1
        assert count(AuditEvent, AuditEvent.action == "deal.created") == 1
        assert count(Notification, Notification.kind == "deal.won") == 1
        assert count(Notification, Notification.kind == "auction.lost") == 1
        states = dict(db.session.execute(select(Bid.organization_id, Bid.state)
                                         .where(Bid.lot_id == lot_id)).all())
        assert states == {winner_id: "won", loser_id: "lost"}
        assert db.session.get(WasteStream, sid).reserved == 10  # kept for the buyer
