"""PostgreSQL: the holder's choice after a failed deal made twice at once (two managers, or a
double click) gives one outcome; the lapse job racing the buyer's withdrawal gives one end."""

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from market.accounts.models import Membership, Organization, OrgRole, User
from market.auctions.bidding import place_bid
from market.core.errors import DomainError
from market.core.models import AuditEvent
from market.core.timeutil import utcnow
from market.core.txn import commit, rollback
from market.deals import lifecycle, nextbest
from market.deals.models import Deal
from market.extensions import db
from market.lots.closing import close_lot
from market.lots.models import Lot
from market.lots.operations import create_lot, publish_lot
from market.registry.journal import record
from market.registry.models import WasteStream
from tests.conftest import is_postgres
from tests.factories import seed_holder, valid_bin

pytestmark = pytest.mark.skipif(not is_postgres(), reason="parallel writers need PostgreSQL")


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def seed(app, *, withdraw: bool = True):
    """A sealed lot of a holder with an owner and a manager, three bidders, closed and awarded;
    the winner's deal withdrawn (or left agreed). Returns (deal id, holder user ids, buyer id)."""
    uid, org_id, sid = seed_holder(app, 792)
    with app.app_context():
        owner, holder = db.session.get(User, uid), db.session.get(Organization, org_id)
        manager = User(email="manager@example.kz", full_name="Manager", password_hash="x")
        db.session.add(manager)
        db.session.flush()
        db.session.add(Membership(user=manager, organization=holder, role=OrgRole.manager.value))
        stream = db.session.get(WasteStream, sid)
        record(stream, actor=owner, kind="generated", quantity="100", event_date=date(2026, 1, 1))
        start = utcnow() - timedelta(days=2)
        lot = create_lot(holder, actor=owner, stream=stream, title="Шлак", quantity="10",
                         pricing_mode="sealed", price=100_000, ends_at=start + timedelta(hours=1),
                         now=start)
        publish_lot(lot, actor=owner, now=start)
        buyers = []
        for i in range(3):
            person = User(email=f"bidder{i}@example.kz", full_name=f"Bidder {i}", password_hash="x")
            firm = Organization(bin=valid_bin(8200 + i), name=f"ТОО Участник {i}",
                                region_kato="350000000", address="x", state="verified")
            firm.kinds = ["processor"]
            db.session.add_all([person, firm])
            db.session.flush()
            db.session.add(Membership(user=person, organization=firm, role=OrgRole.owner.value))
            db.session.flush()
            db.session.refresh(person)
            place_bid(lot, actor=person, organization=firm, amount=200_000 - i * 10_000,
                      now=start + timedelta(minutes=10 + i))
            buyers.append(person)
        close_lot(lot, now=start + timedelta(hours=1, seconds=1))
        deal = db.session.scalars(select(Deal).where(Deal.lot_id == lot.id)).one()
        if withdraw:
            lifecycle.withdraw_deal(deal, actor=buyers[0], reason="Передумали")
        commit()
        return deal.id, (owner.id, manager.id), buyers[0].id


def race(app, *calls):
    """Run each call in its own thread and app context at once; returns (results, errors), a
    deal as its id."""
    barrier = threading.Barrier(len(calls))
    results, errors = [], []

    def run(call):
        with app.app_context():
            try:
                barrier.wait()
                result = call()
                results.append(result.id if isinstance(result, Deal) else result)
                commit()
            except DomainError as exc:
                rollback()
                errors.append(exc)
            except Exception as exc:  # reported below
                rollback()
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results, errors


def _as(user_id, op, deal_id, **kw):
    return lambda: op(db.session.get(Deal, deal_id), actor=db.session.get(User, user_id), **kw)


@pytest.mark.parametrize("clicks", [2, 4])
def test_two_holders_offering_at_once_make_one_offer(committed_app, clicks):
    app = committed_app
    deal_id, (owner_id, manager_id), _ = seed(app)
    users = [owner_id, manager_id] * (clicks // 2)
    results, errors = race(app, *(_as(u, nextbest.offer_next, deal_id) for u in users))
    assert not errors, errors
    assert len(results) == clicks and len(set(results)) == 1  # every click sees the one offer
    with app.app_context():
        offers = db.session.scalars(select(Deal).where(Deal.offered_after_id == deal_id)).all()
        assert len(offers) == 1 and offers[0].state == "offered" and offers[0].unit_price == 190_000
        assert count(AuditEvent, AuditEvent.action == "deal.offered_next") == 1
        assert db.session.get(Deal, deal_id).follow_up == "offered"


def test_offer_and_close_at_once_give_one_outcome(committed_app):
    app = committed_app
    deal_id, (owner_id, manager_id), _ = seed(app)
    results, errors = race(app, _as(owner_id, nextbest.offer_next, deal_id),
                           _as(manager_id, nextbest.close_after, deal_id))
    assert len(results) == 1 and len(errors) == 1
    assert isinstance(errors[0], DomainError) and "уже принято решение" in str(errors[0])
    with app.app_context():
        deal = db.session.get(Deal, deal_id)
        lot = db.session.get(Lot, deal.lot_id)
        offers = count(Deal, Deal.offered_after_id == deal_id)
        if deal.follow_up == "offered":
            assert offers == 1 and lot.state == "awarded"
            assert db.session.get(WasteStream, lot.stream_id).reserved == 10
        else:
            assert deal.follow_up == "closed" and offers == 0 and lot.state == "closed"
            assert db.session.get(WasteStream, lot.stream_id).reserved == 0


def test_the_lapse_job_and_the_withdrawal_end_the_deal_once(committed_app):
    app = committed_app
    deal_id, _, buyer_id = seed(app, withdraw=False)
    with app.app_context():
        late = db.session.get(Deal, deal_id).sign_by - timedelta(seconds=1)
        due = late + timedelta(seconds=2)
    results, errors = race(
        app, lambda: lifecycle.lapse_overdue_deals(due),
        _as(buyer_id, lifecycle.withdraw_deal, deal_id, reason="Передумали", now=late))
    with app.app_context():
        deal = db.session.get(Deal, deal_id)
        ended = count(AuditEvent, AuditEvent.action.in_(("deal.lapsed", "deal.withdrawn")),
                      AuditEvent.object_id == str(deal_id))
        assert ended == 1
        if deal.state == "withdrawn":  # the buyer first: the job finds nothing to lapse
            assert sorted(map(str, results)) == ["0", "withdrawn"] and not errors
        else:  # the job first: the withdrawal is refused with a message
            assert deal.state == "lapsed" and results == [1]
            assert len(errors) == 1 and isinstance(errors[0], DomainError)
