"""Signing the agreement: who may sign, re-authentication by password or TOTP, the hash, double
clicks, both signatures, invalidation by a new version, and a pluggable signer."""

from __future__ import annotations

from dataclasses import replace

import pytest
import time_machine
from sqlalchemy import func, select

from market.accounts import twofactor
from market.core.errors import DomainError, PermissionDenied
from market.core.models import AuditEvent, Notification
from market.core.timeutil import utcnow
from market.deals import agreements, signing
from market.deals.models_agreement import AgreementSignature
from market.extensions import db
from tests.conftest import is_postgres

PASSWORD = "correct-horse-9"
PLAN = "Переплавка в индукционной печи на площадке в Темиртау, вывоз за неделю."


@pytest.fixture
def ready(sealed_award, owner):
    """An agreed deal whose buyer stated its plan: (deal, seller owner, buyer user, other bidder)."""
    deal, ((_buyer, buyer_user), (_o, other_user), _c) = sealed_award
    agreements.set_plan(deal, actor=buyer_user, plan=PLAN, operation_code="R4")
    return deal, owner, buyer_user, other_user


def digest(deal) -> str:
    return agreements.agreement_of(deal).current.sha256


def sign(deal, user, **credentials):
    return signing.sign(deal, actor=user, digest=credentials.pop("digest", None) or digest(deal),
                        credentials=credentials or {"password": PASSWORD})


def count_signatures(deal) -> int:
    return db.session.scalar(select(func.count(AgreementSignature.id)).where(
        AgreementSignature.agreement_id == agreements.agreement_of(deal).id))


def notices(user, kind) -> list[str]:
    return list(db.session.scalars(select(Notification.text).where(
        Notification.user_id == user.id, Notification.kind == kind)))


def test_seller_signs_with_the_password(ready):
    deal, seller, buyer_user, _other = ready
    signature, made = sign(deal, seller)
    assert made and signature.party == "seller" and signature.method == "password"
    assert signature.sha256 == digest(deal) and signature.organization_id == deal.seller_id
    assert signature.user_id == seller.id and signature.signed_at is not None
    assert not signing.is_fully_signed(deal)
    assert notices(buyer_user, "agreement.signed_by_party")  # the other party hears it
    assert agreements.agreement_of(deal).state == "signing"


def test_both_signatures_make_it_signed(ready):
    deal, seller, buyer_user, _other = ready
    sign(deal, seller)
    sign(deal, buyer_user)
    db.session.expire_all()
    assert signing.is_fully_signed(deal)
    agreement = agreements.agreement_of(deal)
    assert agreement.state == "signed" and agreement.signed_at is not None
    assert set(signing.valid_signatures(agreement)) == {"seller", "buyer"}
    assert notices(seller, "agreement.signed") and notices(buyer_user, "agreement.signed")
    actions = list(db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == "Agreement",
        AuditEvent.object_id == str(agreements.agreement_of(deal).id))))
    assert actions.count("agreement.signed") == 2 and "agreement.fully_signed" in actions
    # frozen: no new plan, and a repeated signature is the one made
    with pytest.raises(DomainError):
        agreements.set_plan(deal, actor=buyer_user, plan=PLAN + " Иначе.", operation_code="R4")
    _again, made = sign(deal, seller)
    assert not made and count_signatures(deal) == 2


def test_wrong_password_signs_nothing(ready):
    deal, seller, _buyer, _other = ready
    with pytest.raises(signing.SignRefused):
        sign(deal, seller, password="wrong-password")
    with pytest.raises(signing.SignRefused):
        sign(deal, seller, password="")
    assert count_signatures(deal) == 0


def test_double_click_signs_once(ready):
    deal, seller, _buyer, _other = ready
    first, made = sign(deal, seller)
    second, made_again = sign(deal, seller)
    assert made and not made_again and first.id == second.id and count_signatures(deal) == 1


def test_who_may_sign(ready, create_user, add_member, holder):
    deal, _seller, _buyer, other_user = ready
    member = create_user()
    add_member(holder, member, "member")
    manager = create_user()
    add_member(holder, manager, "manager")
    with pytest.raises(PermissionDenied):
        sign(deal, member)
    with pytest.raises(PermissionDenied):
        sign(deal, other_user)  # a losing bidder's owner
    signature, made = sign(deal, manager)
    assert made and signature.party == "seller"


def test_only_an_agreed_deal_is_signed(ready):
    deal, seller, _buyer, _other = ready
    for state in ("lapsed", "withdrawn", "declined"):
        deal.state = state
        db.session.flush()
        with pytest.raises(DomainError, match="не ждёт подписания"):
            sign(deal, seller)
    assert count_signatures(deal) == 0


def test_past_the_deadline_nothing_is_signed(ready):
    deal, seller, _buyer, _other = ready
    with time_machine.travel(deal.sign_by, tick=False), pytest.raises(DomainError, match="Срок"):
        sign(deal, seller)


def test_the_hash_must_be_the_current_one(ready, sealed_award):
    deal, seller, buyer_user, _other = ready
    old = digest(deal)
    with pytest.raises(DomainError, match="хэш"):
        sign(deal, seller, digest="0" * 64, password=PASSWORD)
    agreements.set_plan(deal, actor=buyer_user, plan=PLAN + " Дополнение.", operation_code="R4")
    with pytest.raises(DomainError, match="хэш"):
        sign(deal, seller, digest=old, password=PASSWORD)


def test_no_signature_before_the_buyers_plan(sealed_award, owner):
    deal, _ = sealed_award
    agreements.sync_agreement(deal)
    with pytest.raises(DomainError, match="план"):
        sign(deal, owner)


def test_a_new_version_voids_earlier_signatures(ready):
    deal, seller, buyer_user, _other = ready
    sign(deal, seller)
    agreements.set_plan(deal, actor=buyer_user, plan=PLAN + " Новый срок.", operation_code="R4")
    agreement = agreements.agreement_of(deal)
    assert signing.valid_signatures(agreement) == {}
    assert notices(seller, "agreement.changed")
    sign(deal, buyer_user)
    assert not signing.is_fully_signed(deal)  # the seller signed the old version only
    _signature, made = sign(deal, seller)
    assert made and signing.is_fully_signed(deal)


def test_an_unverified_organisation_does_not_sign(ready, holder):
    deal, seller, _buyer, _other = ready
    holder.state = "suspended"
    db.session.flush()
    with pytest.raises(DomainError, match="подтверждённые"):
        sign(deal, seller)


def test_a_tampered_signature_does_not_count(ready):
    deal, seller, buyer_user, _other = ready
    sign(deal, seller)
    signature, _ = sign(deal, buyer_user)
    assert signing.is_fully_signed(deal)
    signature.user_id = seller.id  # somebody rewrote the row
    db.session.flush()
    assert not signing.is_fully_signed(deal)


def _enable_totp(user):
    secret = twofactor.start_enrolment(user)
    twofactor.confirm_enrolment(user, twofactor.current_code(secret, utcnow()))
    return secret


def test_two_factor_users_sign_with_a_code(ready):
    deal, seller, _buyer, _other = ready
    with time_machine.travel(utcnow(), tick=False) as traveller:
        secret = _enable_totp(seller)
        traveller.shift(60)
        with pytest.raises(signing.SignRefused):
            sign(deal, seller, password=PASSWORD)  # the password alone is not enough now
        with pytest.raises(signing.SignRefused):
            sign(deal, seller, code="000000" if twofactor.current_code(secret, utcnow()) != "000000"
                 else "111111")
        code = twofactor.current_code(secret, utcnow())
        signature, made = sign(deal, seller, code=code)
        assert made and signature.method == "totp"
        assert signing.signer_for(seller).method == "totp"


def test_a_qualified_signer_plugs_in(ready, monkeypatch):
    """A CMS signer (as NCALayer would give) registered by method, used by the same workflow."""
    deal, seller, buyer_user, _other = ready

    class FakeCms:
        method = "ncalayer"

        def available_for(self, user):
            return True

        def sign(self, user, org, digest_, credentials):
            if credentials.get("cms") != f"CMS({digest_})":
                raise signing.SignRefused("bad CMS")
            return signing.SignatureData("ncalayer", digest_, utcnow(), credentials["cms"])

        def verify(self, signature):
            return signature.evidence == f"CMS({signature.sha256})"

    monkeypatch.setitem(signing.SIGNERS, "ncalayer", FakeCms())
    assert isinstance(signing.SIGNERS["ncalayer"], signing.Signer)
    d = digest(deal)
    with pytest.raises(signing.SignRefused):
        signing.sign(deal, actor=seller, digest=d, credentials={"cms": "forged"}, method="ncalayer")
    signature, made = signing.sign(deal, actor=seller, digest=d, credentials={"cms": f"CMS({d})"},
                                   method="ncalayer")
    assert made and signature.method == "ncalayer" and signature.method_label
    sign(deal, buyer_user)
    assert signing.is_fully_signed(deal)
    data = signing.SignatureData("password", d, utcnow(), "x")
    assert replace(data, evidence="y").evidence == "y"


def test_unknown_method_is_refused(ready):
    deal, seller, _buyer, _other = ready
    with pytest.raises(DomainError):
        signing.sign(deal, actor=seller, digest=digest(deal), credentials={}, method="nope")


# Through the pages --------------------------------------------------------------------------------
def test_sign_through_the_page(client, auth, ready):
    deal, seller, buyer_user, other_user = ready
    auth.login(seller.email)
    page = client.get(f"/deals/{deal.id}/agreement")
    assert 'data-testid="agreement-sign"' in page.text
    url = f"/deals/{deal.id}/agreement/sign"
    r = client.post(url, data={"digest": digest(deal), "confirm": "y", "password": "nope"},
                    follow_redirects=True)
    assert "Пароль указан неверно" in r.text and count_signatures(deal) == 0
    refused = db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.action == "agreement.sign_refused", AuditEvent.actor_id == seller.id))
    assert refused == 1
    r = client.post(url, data={"digest": digest(deal), "password": PASSWORD}, follow_redirects=True)
    assert "Подтвердите хэш" in r.text and count_signatures(deal) == 0
    data = {"digest": digest(deal), "confirm": "y", "password": PASSWORD}
    r = client.post(url, data=data, follow_redirects=True)
    assert "Ждём подписи другой стороны" in r.text and count_signatures(deal) == 1
    r = client.post(url, data=data, follow_redirects=True)
    assert "уже подписали" in r.text and count_signatures(deal) == 1
    auth.logout()
    auth.login(other_user.email)
    assert client.post(url, data=data).status_code == 404
    auth.logout()
    auth.login(buyer_user.email)
    r = client.post(url, data=data, follow_redirects=True)
    assert "подписан обеими сторонами" in r.text and signing.is_fully_signed(deal)
    assert 'data-state="signed"' in r.text


def test_hostile_values_as_the_buyer(client, auth, ready):
    from tests.test_bad_input import HOSTILE

    deal, _seller, buyer_user, _other = ready
    auth.login(buyer_user.email)
    for value in HOSTILE:
        for path, fields in (("sign", ("digest", "confirm", "password", "code")),
                             ("plan", ("plan", "operation_code"))):
            r = client.post(f"/deals/{deal.id}/agreement/{path}", data={f: value for f in fields})
            assert r.status_code in (302, 429), (path, value[:20], r.status_code)  # 429: limit
    assert count_signatures(deal) == 0
    assert agreements.agreement_of(deal).plan == PLAN


# PostgreSQL: parallel writers ---------------------------------------------------------------------
@pytest.mark.skipif(not is_postgres(), reason="parallel writers need PostgreSQL")
def test_parallel_signatures_count_once(committed_app):
    """A double click of the buyer and the seller's signature at the same moment: two signatures,
    the agreement signed once."""
    import threading

    from market.accounts.models import User
    from market.core.txn import commit
    from market.deals.models import Deal
    from market.lots.closing import close_expired_lots
    from tests.deals.test_exactly_once import seed
    from tests.factories import _password_hash

    app = committed_app
    lot_id, _sid, (_loser, _winner_id) = seed(app)
    with app.app_context():
        close_expired_lots(utcnow())
        commit()
        deal = db.session.scalar(select(Deal).where(Deal.lot_id == lot_id))
        seller = deal.seller.owners[0].user
        buyer = deal.buyer.owners[0].user
        seller.password_hash = buyer.password_hash = _password_hash()
        agreements.set_plan(deal, actor=buyer, plan=PLAN, operation_code="R4")
        commit()
        deal_id, ids = deal.id, (buyer.id, buyer.id, seller.id)
        d = digest(deal)
        db.session.remove()
    barrier = threading.Barrier(len(ids))
    made, errors = [], []

    def signer(user_id):
        with app.app_context():
            try:
                user, deal_ = db.session.get(User, user_id), db.session.get(Deal, deal_id)
                barrier.wait()
                made.append(signing.sign(deal_, actor=user, digest=d,
                                         credentials={"password": PASSWORD})[1])
                commit()
            except Exception as exc:  # reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=signer, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(made) == [False, True, True]
    with app.app_context():
        deal = db.session.get(Deal, deal_id)
        assert count_signatures(deal) == 2 and signing.is_fully_signed(deal)
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "agreement.fully_signed")) == 1


def test_a_fully_signed_deal_does_not_lapse_waiting_for_its_submission(ready):
    from market.deals import lifecycle

    deal, seller, buyer_user, _other = ready
    sign(deal, seller)
    assert lifecycle.overdue_deal_ids(deal.sign_by) == [deal.id]  # half signed: it would lapse
    sign(deal, buyer_user)
    db.session.expire_all()
    assert lifecycle.overdue_deal_ids(deal.sign_by) == []
    assert not lifecycle.lapse_deal(deal, now=deal.sign_by)
    assert lifecycle.lapse_overdue_deals(deal.sign_by) == 0
    db.session.expire_all()
    assert deal.state in lifecycle.OPEN_STATES
