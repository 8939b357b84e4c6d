"""Storage-time limits: flags with time travel, digest, compliance lists."""

from datetime import date

import time_machine

from market.core.models import Notification, OutboxEmail
from market.core.txn import commit
from market.extensions import db
from market.registry.journal import record
from market.registry.limits import add_months, flag_overdue_streams, send_digest


def test_add_months_handles_month_ends():
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2026, 1, 15), 36) == date(2029, 1, 15)


def test_generation_stock_flagged_after_six_months(make_stream, owner):
    s = make_stream(purpose="generation")
    record(s, actor=owner, kind="generated", quantity="40", event_date=date(2026, 1, 10),
           today=date(2026, 1, 10))
    assert flag_overdue_streams(today=date(2026, 7, 9)) == []
    assert flag_overdue_streams(today=date(2026, 7, 10)) == [s]
    assert s.must_offer_since == date(2026, 7, 10)
    assert flag_overdue_streams(today=date(2026, 7, 11)) == []  # flagged once
    record(s, actor=owner, kind="transferred_out", quantity="40", event_date=date(2026, 7, 20),
           today=date(2026, 7, 20))
    assert s.must_offer_since is None  # no stock left: the flag goes


def test_limits_by_purpose(make_stream, owner):
    rec_day = date(2025, 1, 1)
    streams = {p: make_stream(purpose=p, name=p) for p in ("generation", "recovery", "disposal")}
    for s in streams.values():
        record(s, actor=owner, kind="generated", quantity="1", event_date=rec_day, today=rec_day)
    flagged = {s.storage_purpose for s in flag_overdue_streams(today=date(2026, 1, 1))}
    assert flagged == {"generation", "disposal"}  # 6 and 12 months passed, 36 not yet
    assert {s.storage_purpose for s in flag_overdue_streams(today=date(2028, 1, 1))} == {"recovery"}


def test_periodic_job_flags_and_sends_digest_with_time_travel(app, make_stream, owner, mailbox):
    from market.registry.jobs import flag_storage_limits

    s = make_stream(purpose="generation", name="Кек")
    record(s, actor=owner, kind="generated", quantity="12.5", event_date=date(2026, 1, 5),
           today=date(2026, 1, 5))
    commit()
    with time_machine.travel(date(2026, 8, 1)):
        flag_storage_limits.call_local()
    assert s.must_offer_since == date(2026, 7, 5)
    assert db.session.scalars(db.select(Notification).where(
        Notification.user_id == owner.id, Notification.kind == "stream.must_offer")).first()
    mails = db.session.scalars(db.select(OutboxEmail).where(OutboxEmail.recipient == owner.email)).all()
    assert any("Кек" in m.body for m in mails)


def test_digest_goes_to_owners_and_managers_only(make_stream, owner, holder, create_user, add_member):
    viewer = create_user()
    add_member(holder, viewer, "viewer")
    s = make_stream(purpose="generation")
    record(s, actor=owner, kind="generated", quantity="1", event_date=date(2025, 1, 1),
           today=date(2025, 1, 1))
    assert send_digest(flag_overdue_streams(today=date(2026, 1, 1))) == 1


def test_holder_and_official_see_the_flag(client, auth, make_stream, owner, holder, create_official):
    s = make_stream(purpose="generation", name="Огарки")
    record(s, actor=owner, kind="generated", quantity="3", event_date=date(2025, 1, 1),
           today=date(2025, 1, 1))
    flag_overdue_streams(today=date(2026, 1, 1))
    auth.login(owner.email)
    page = client.get(f"/registry/orgs/{holder.id}/compliance").get_data(as_text=True)
    assert "Огарки" in page
    auth.logout()
    official = create_official(regions=["350000000"])
    auth.login(official.email)
    page = client.get("/official/registry/compliance").get_data(as_text=True)
    assert "Огарки" in page
    auth.logout()
    other = create_official(regions=["550000000"])  # another region sees nothing
    auth.login(other.email)
    assert "Огарки" not in client.get("/official/registry/compliance").get_data(as_text=True)
