"""Free transfer requests: who may request, revisions, withdrawal, the holder's decision (one
deal, the others declined, exactly once), notices; the requests card and its forms."""

from __future__ import annotations

import re
import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from market.accounts.licences import add_licence
from market.auctions.models import Bid, BidEvent
from market.auctions.requests import (
    accept_request,
    decline_request,
    request_transfer,
    withdraw_request,
)
from market.core.errors import DomainError, PermissionDenied
from market.core.models import AuditEvent, Notification, OutboxEmail
from market.core.timeutil import utcnow
from market.core.txn import commit, rollback
from market.deals.models import Deal
from market.extensions import db
from market.lots import closing
from market.lots.models import Lot
from market.registry import operations as reg
from market.registry.journal import record
from tests.auctions.helpers import plain, refused
from tests.conftest import is_postgres

PLAN = "Переплавка в индукционной печи на площадке в Темиртау, вывоз за неделю."


@pytest.fixture
def dust_stream(make_stream, owner):
    """A hazardous stream (10 02 07*) with its passport and stock."""
    stream = make_stream(code="100207", name="Пыль газоочистки", hps=["HP14"])
    reg.save_passport(stream, actor=owner, composition="Pb, Zn", handling="h", transport="t",
                      emergency="e", compiled_by="Эколог", compiled_on=date(2026, 1, 1),
                      hazard_properties=["HP14"])
    record(stream, actor=owner, kind="generated", quantity="50", event_date=date(2026, 1, 1))
    return stream


def ask(lot, who, *, plan=PLAN, op="R4", **kw):
    org, user = who
    return request_transfer(lot, actor=user, organization=org, plan=plan, operation_code=op, **kw)


def texts(user, kind) -> list[str]:
    return list(db.session.scalars(select(Notification.text).where(
        Notification.user_id == user.id, Notification.kind == kind)))


def mails(user) -> list[OutboxEmail]:
    return list(db.session.scalars(select(OutboxEmail).where(OutboxEmail.recipient == user.email)
                                   .order_by(OutboxEmail.id)))


def log_kinds(lot) -> list[str]:
    return list(db.session.scalars(select(BidEvent.kind).where(BidEvent.lot_id == lot.id)
                                   .order_by(BidEvent.id)))


# Who may request -------------------------------------------------------------------------------
@pytest.mark.parametrize(("case", "refusal"), [
    ("ok", None),
    ("manager", None),
    ("member", "Заявки от имени организации подают её владелец и менеджеры."),
    ("pending", "Подавать заявки могут только подтверждённые организации"),
    ("own_lot", "Нельзя подать заявку на лот своей организации."),
    ("not_free", "Заявки на передачу принимаются только по лотам безвозмездной передачи."),
    ("draft", "Лот не принимает заявок: он в состоянии «Черновик»."),
    ("hazardous", "Отход 10 02 07* опасный: ставку или заявку может подать только организация"),
    ("hazardous_other_op", "покрывает отход 10 02 07*, но не операцию D10."),
    ("hazardous_licensed", None),
    ("short_plan", "Опишите план переработки"),
    ("long_plan", "План переработки — не длиннее 4000 символов."),
    ("no_op", "Укажите операцию R/D"),
    ("bad_op", "Неизвестная операция R/D «X9»."),
])
def test_who_may_request(case, refusal, make_lot, bidder, create_org, create_user, add_member,
                         holder, owner, dust_stream):
    lot = make_lot("free")
    org, user = bidder()
    kw = {}
    if case == "manager":
        user = create_user()
        add_member(org, user, "manager")
    elif case == "member":
        user = create_user()
        add_member(org, user, "member")
    elif case == "pending":
        org = create_org(kinds=("processor",), state="pending")
        user = org.owners[0].user
    elif case == "own_lot":
        org, user = holder, owner
    elif case == "not_free":
        lot = make_lot("fixed")
    elif case == "draft":
        lot = make_lot("free", publish=False)
    elif case.startswith("hazardous"):
        lot = make_lot("free", stream=dust_stream)
        if case != "hazardous":
            add_licence(org, actor=user, number="KZ-1", valid_from=date(2024, 1, 1), scopes="10 02",
                        operations=["R4"])
        if case == "hazardous_other_op":
            kw["op"] = "D10"
    kw.update({"short_plan": {"plan": "Переплавим"}, "long_plan": {"plan": "ё" * 4001},
               "no_op": {"op": " "}, "bad_op": {"op": "x9"}}.get(case, {}))
    if refusal is None:
        bid = ask(lot, (org, user), **kw)
        assert (bid.mode, bid.amount, bid.state, bid.plan, bid.operation_code) == (
            "free", 0, "active", PLAN, "R4")
        assert log_kinds(lot) == ["placed"]
    else:
        with refused(refusal, PermissionDenied if case == "member" else DomainError):
            ask(lot, (org, user), **kw)
        assert db.session.scalar(select(func.count(Bid.id)).where(Bid.lot_id == lot.id)) == 0


def test_one_open_request_per_organisation_is_revised(make_lot, bidder):
    lot = make_lot("free")
    who = bidder()
    first = ask(lot, who)
    again = ask(lot, who, plan=PLAN + " Остатки — на полигон.", op="R5")
    assert again.id == first.id and (again.plan.endswith("полигон."), again.operation_code) == (True, "R5")
    with refused("Ваша заявка уже такая"):
        ask(lot, who, plan=PLAN + " Остатки — на полигон.", op="R5")
    assert db.session.scalar(select(func.count(Bid.id)).where(Bid.lot_id == lot.id)) == 1
    assert log_kinds(lot) == ["placed", "revised"]
    actions = list(db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.action.like("transfer_request.%")).order_by(AuditEvent.id)))
    assert actions == ["transfer_request.placed", "transfer_request.revised"]


def test_a_double_submission_makes_one_request(make_lot, bidder):
    lot, other = make_lot("free"), make_lot("free")
    who = bidder()
    first = ask(lot, who, idempotency_key="k-1")
    assert ask(lot, who, idempotency_key="k-1").id == first.id
    assert log_kinds(lot) == ["placed"]
    with refused("Ключ повторной отправки «k-1» уже использован"):
        ask(other, who, idempotency_key="k-1")


def test_withdrawal_needs_a_reason_and_is_logged(make_lot, bidder, owner):
    lot = make_lot("free")
    org, user = bidder()
    bid = ask(lot, (org, user))
    with refused("Укажите причину отзыва заявки."):
        withdraw_request(bid, actor=user, reason="  ")
    withdraw_request(bid, actor=user, reason="Нашли другой источник")
    assert (bid.state, bid.withdraw_reason) == ("withdrawn", "Нашли другой источник")
    assert log_kinds(lot) == ["placed", "withdrawn"]
    assert any("отозвала заявку" in t for t in texts(owner, "transfer_request.withdrawn"))
    with refused("Отозвать можно только рассматриваемую заявку, а эта — «Отозвана»."):
        withdraw_request(bid, actor=user, reason="Ещё раз")
    assert ask(lot, (org, user)).id != bid.id  # a new request after the withdrawal


# The holder's decision -------------------------------------------------------------------------
def test_accept_makes_one_deal_and_declines_the_others(make_lot, bidder, owner):
    lot = make_lot("free")
    a, b, c = bidder(), bidder(), bidder()
    ra, rb, rc = ask(lot, a), ask(lot, b), ask(lot, c)
    withdraw_request(rc, actor=c[1], reason="Передумали")
    deal = accept_request(lot, rb, actor=owner)
    assert lot.state == "awarded" and lot.closed_at is not None
    assert (deal.buyer_id, deal.seller_id, deal.unit_price, deal.total, deal.quantity, deal.bid_id) == (
        b[0].id, lot.organization_id, 0, 0, lot.quantity, rb.id)
    assert (ra.state, rb.state, rc.state) == ("declined", "won", "withdrawn")
    assert db.session.scalar(select(func.count(Deal.id)).where(Deal.lot_id == lot.id)) == 1
    assert log_kinds(lot) == ["placed", "placed", "placed", "withdrawn", "accepted", "declined"]
    (accepted,) = texts(b[1], "transfer_request.accepted")
    assert accepted.startswith("Ваша заявка на лот «Лот (free)» принята")
    (declined,) = texts(a[1], "transfer_request.declined")
    assert "Держатель передал лот по другой заявке." in declined
    assert not texts(c[1], "transfer_request.declined")
    assert [m.subject for m in mails(b[1])] == ["Заявка на лот «Лот (free)» принята"]
    assert [m.subject for m in mails(a[1])] == ["Заявка на лот «Лот (free)» не принята"]
    assert "Держатель передал лот по другой заявке." in mails(a[1])[0].body
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"transfer_request.accepted", "transfer_request.declined", "lot.awarded",
            "deal.created"} <= actions
    from market.ledger.models import LedgerEntry

    (entry,) = db.session.scalars(select(LedgerEntry).where(LedgerEntry.kind == "lot.awarded"))
    assert f'"deal":{deal.id}' in entry.payload and deal.bid_log_sha256 in entry.payload
    # accepting again, the same or another request: refused, still one deal
    for again in (rb, ra):
        with refused("Лот уже не принимает заявок: он в состоянии"):
            accept_request(lot, again, actor=owner)
    with refused("Лот не принимает заявок"):
        ask(lot, bidder())
    assert db.session.scalar(select(func.count(Deal.id)).where(Deal.lot_id == lot.id)) == 1


def test_only_the_holders_managers_decide(make_lot, bidder, holder, create_user, add_member):
    lot = make_lot("free")
    who = bidder()
    bid = ask(lot, who)
    clerk = create_user()
    add_member(holder, clerk, "member")
    for actor in (clerk, who[1]):
        with refused("Заявки на лот рассматривают владелец и менеджеры", PermissionDenied):
            accept_request(lot, bid, actor=actor)
        with refused("Заявки на лот рассматривают владелец и менеджеры", PermissionDenied):
            decline_request(lot, bid, actor=actor, reason="Нет")
    other = make_lot("free")
    with refused("Это не заявка на передачу этого лота."):
        accept_request(other, bid, actor=holder.owners[0].user)
    assert bid.state == "active" and lot.state == "published"


def test_accept_rechecks_the_licence(make_lot, bidder, owner, dust_stream):
    lot = make_lot("free", stream=dust_stream)
    org, user = bidder()
    licence = add_licence(org, actor=user, number="KZ-7", valid_from=date(2024, 1, 1),
                          scopes="10 02", operations=["R4"])
    bid = ask(lot, (org, user))
    licence.revoked_at = utcnow()
    db.session.flush()
    with refused(f"Организация «{org.name}» сейчас не может принять лот"):
        accept_request(lot, bid, actor=owner)
    assert lot.state == "published" and bid.state == "active"


def test_decline_with_a_reason(make_lot, bidder, owner):
    lot = make_lot("free")
    who = bidder()
    bid = ask(lot, who)
    with refused("Укажите причину отказа"):
        decline_request(lot, bid, actor=owner, reason="")
    decline_request(lot, bid, actor=owner, reason="Нужна переработка в регионе")
    assert bid.state == "declined" and lot.state == "published"
    (text,) = texts(who[1], "transfer_request.declined")
    assert text.endswith("отклонена: Нужна переработка в регионе")
    assert "Причина: Нужна переработка в регионе" in mails(who[1])[0].body
    events = db.session.scalars(select(BidEvent).where(BidEvent.bid_id == bid.id)
                                .order_by(BidEvent.id)).all()
    assert [(e.kind, e.state, e.reason) for e in events][-1] == (
        "declined", "declined", "Нужна переработка в регионе")
    with refused("Отклонить можно только рассматриваемую заявку"):
        decline_request(lot, bid, actor=owner, reason="Ещё раз")
    with refused("Принять можно только рассматриваемую заявку"):
        accept_request(lot, bid, actor=owner)
    assert ask(lot, who).id != bid.id  # the organisation may ask again


def test_new_request_tells_the_holder_in_app_and_by_mail(make_lot, bidder, owner, holder,
                                                          create_user, add_member):
    manager, clerk = create_user(), create_user()
    add_member(holder, manager, "manager")
    add_member(holder, clerk, "member")
    lot = make_lot("free")
    org, _ = who = bidder()
    ask(lot, who)
    for user in (owner, manager):
        (text,) = texts(user, "transfer_request.placed")
        assert org.name in text and "операция R4" in text
        (mail,) = mails(user)
        assert mail.subject == "Новая заявка на лот «Лот (free)»" and PLAN in mail.body
    assert not texts(clerk, "transfer_request.placed") and not mails(clerk)


def test_a_free_lot_that_runs_out_of_time_closes_its_requests(make_lot, bidder, owner):
    lot = make_lot("free", ends_at=utcnow() + timedelta(days=1))
    who = bidder()
    bid = ask(lot, who)
    later = utcnow() + timedelta(days=2)
    with refused("Срок лота истёк"):
        accept_request(lot, bid, actor=owner, now=later)
    assert closing.close_lot(lot, now=later) is not None
    assert lot.state == "closed" and bid.state == "lost" and bid.state_label == "Не принята"
    (text,) = texts(who[1], "transfer_request.declined")
    assert "закрыт без передачи" in text
    report = closing.record_no_taker(lot, how_closed="expired", now=later)
    assert (report.requests, report.bids) == (1, 0)


# Concurrency (PostgreSQL) ------------------------------------------------------------------------
@pytest.mark.skipif(not is_postgres(), reason="parallel writers need PostgreSQL")
def test_concurrent_accepts_award_once(committed_app):
    from market.accounts.models import Membership, Organization, OrgRole, User
    from market.lots.operations import create_lot, publish_lot
    from market.registry.models import WasteStream
    from tests.factories import seed_holder, valid_bin

    app = committed_app
    uid, org_id, sid = seed_holder(app, 881)
    with app.app_context():
        user, org = db.session.get(User, uid), db.session.get(Organization, org_id)
        stream = db.session.get(WasteStream, sid)
        record(stream, actor=user, kind="generated", quantity="100", event_date=date(2026, 1, 1))
        lot = create_lot(org, actor=user, stream=stream, title="Даром", quantity="10",
                         pricing_mode="free")
        publish_lot(lot, actor=user)
        bid_ids = []
        for i in range(2):
            person = User(email=f"taker{i}@example.kz", full_name=f"Taker {i}", password_hash="x")
            firm = Organization(bin=valid_bin(8800 + i), name=f"ТОО Приёмщик {i}",
                                region_kato="350000000", address="x", state="verified")
            firm.kinds = ["processor"]
            db.session.add_all([person, firm])
            db.session.flush()
            db.session.add(Membership(user=person, organization=firm, role=OrgRole.owner.value))
            db.session.flush()
            db.session.refresh(person)
            bid_ids.append(ask(lot, (firm, person)).id)
        lot_id = lot.id
        commit()
    attempts = [bid_ids[0], bid_ids[1], bid_ids[0], bid_ids[1]]
    barrier = threading.Barrier(len(attempts))
    results = []

    def accept(bid_id):
        with app.app_context():
            lot, holder_user = db.session.get(Lot, lot_id), db.session.get(User, uid)
            bid = db.session.get(Bid, bid_id)
            _ = holder_user.memberships, lot.organization, bid.organization
            barrier.wait()
            try:
                accept_request(lot, bid, actor=holder_user)
                commit()
                results.append(bid_id)
            except DomainError:
                rollback()
                results.append(None)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=accept, args=(b,)) for b in attempts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    winners = [r for r in results if r is not None]
    assert len(results) == 4 and len(winners) == 1
    with app.app_context():
        assert db.session.get(Lot, lot_id).state == "awarded"
        (deal,) = db.session.scalars(select(Deal).where(Deal.lot_id == lot_id)).all()
        states = {b.id: b.state for b in db.session.scalars(select(Bid).where(Bid.lot_id == lot_id))}
        assert deal.bid_id == winners[0] and states[winners[0]] == "won"
        assert sorted(states.values()) == ["declined", "won"]
        assert db.session.scalar(select(func.count(BidEvent.id)).where(
            BidEvent.lot_id == lot_id, BidEvent.kind == "accepted")) == 1


# The requests card and its forms ---------------------------------------------------------------
def _key(html: str) -> str:
    return re.search(r'name="key" type="hidden" value="([0-9a-f]{32})"', html).group(1)


def test_request_form_and_double_click(client, auth, make_lot, bidder):
    lot = make_lot("free")
    _org, user = bidder()
    page = client.get(f"/lots/{lot.id}").get_data(as_text=True)
    assert 'id="transfer-requests"' in page and 'data-testid="request-login"' in page
    auth.login(user.email)
    page = client.get(f"/lots/{lot.id}").get_data(as_text=True)
    assert 'data-testid="request-form"' in page and "R4 —" in page
    data = {"plan": PLAN, "operation_code": "R4", "key": _key(page)}
    for _ in range(2):
        response = client.post(f"/lots/{lot.id}/transfer-requests", data=data)
        assert response.status_code == 302 and response.location.endswith("#transfer-requests")
    assert db.session.scalar(select(func.count(Bid.id)).where(Bid.lot_id == lot.id)) == 1
    page = plain(client.get(f"/lots/{lot.id}").get_data(as_text=True))
    assert "Ваша заявка" in page and "Изменить заявку" in page and PLAN in page
    bad = client.post(f"/lots/{lot.id}/transfer-requests",
                      data={"plan": "коротко", "operation_code": "R4", "key": "x1"}, follow_redirects=True)
    assert "Опишите план переработки" in plain(bad.get_data(as_text=True))


def test_requesters_see_only_their_own_and_the_holder_decides(client, auth, make_lot, bidder,
                                                              owner):
    lot = make_lot("free")
    a, b = bidder(name="ТОО «Альфа»"), bidder(name="ТОО «Бета»")
    ra, rb = ask(lot, a), ask(lot, b, plan=PLAN + " Бета.")
    auth.login(a[1].email)
    page = plain(client.get(f"/lots/{lot.id}").get_data(as_text=True))
    assert f'data-request="{ra.id}"' in page and f'data-request="{rb.id}"' not in page
    assert "Бета." not in page and 'data-testid="accept-form"' not in page
    auth.logout()
    auth.login(owner.email)
    page = plain(client.get(f"/lots/{lot.id}").get_data(as_text=True))
    assert "ТОО «Альфа»" in page and "ТОО «Бета»" in page and "Бета." in page
    assert page.count('data-testid="accept-form"') == 2 and "не нужна (отход неопасный)" in page
    assert 'data-testid="request-form"' not in page and "confirm(&#34;" in page
    response = client.post(f"/transfer-requests/{ra.id}/decline", data={"reason": ""})
    assert response.status_code == 302 and ra.state == "active"
    client.post(f"/transfer-requests/{ra.id}/decline", data={"reason": "Далеко везти"})
    assert db.session.get(Bid, ra.id).state == "declined"
    for _ in range(2):  # a double click accepts once
        response = client.post(f"/transfer-requests/{rb.id}/accept")
        assert response.status_code == 302
    assert db.session.get(Lot, lot.id).state == "awarded"
    assert db.session.scalar(select(func.count(Deal.id)).where(Deal.lot_id == lot.id)) == 1
    auth.logout()
    auth.login(a[1].email)
    page = plain(client.get(f"/lots/{lot.id}").get_data(as_text=True))
    assert "Причина отказа: Далеко везти" in page and "Отклонена" in page
    activity = plain(client.get("/activity").get_data(as_text=True))
    assert 'data-testid="activity-request"' in activity and "операция R4" in activity
    assert "Отклонена" in activity


def test_requester_withdraws_through_the_page(client, auth, make_lot, bidder, owner):
    lot = make_lot("free")
    org, user = bidder()
    bid = ask(lot, (org, user))
    auth.login(owner.email)  # the holder may not withdraw someone else's request
    assert client.post(f"/transfer-requests/{bid.id}/withdraw", data={"reason": "x"}).status_code == 404
    auth.logout()
    auth.login(user.email)
    client.post(f"/transfer-requests/{bid.id}/withdraw", data={"reason": "Передумали"})
    assert db.session.get(Bid, bid.id).state == "withdrawn"
    assert client.post(f"/transfer-requests/{bid.id}/accept").status_code == 404
