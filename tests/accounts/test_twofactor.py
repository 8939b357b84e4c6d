"""Two-factor login (TOTP): enrolment, the login's second step, replay, lockout, recovery codes,
switching it off; with time travel."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from market.accounts import twofactor
from market.core.models import AuditEvent
from market.core.timeutil import utcnow
from market.extensions import db

PASSWORD = "correct-horse-9"


@pytest.fixture
def clock():
    with time_machine.travel(utcnow().replace(microsecond=0), tick=False) as traveller:
        yield traveller


def actions(user) -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == "User", AuditEvent.object_id == str(user.id))
        .order_by(AuditEvent.id)))


def enrol(client, auth, user):
    """Enrol through the pages; returns (secret, recovery codes) and logs out."""
    auth.login(user.email)
    client.post("/profile/two-factor/start")
    secret = twofactor.pending_secret(user)
    r = client.post("/profile/two-factor/confirm",
                    data={"code": twofactor.current_code(secret, utcnow())})
    codes = re.findall(r"<li>([0-9a-f]{5}-[0-9a-f]{5})</li>", r.text)
    auth.logout()
    return secret, codes


def test_enrolment(client, auth, create_user, clock):
    user = create_user()
    auth.login(user.email)
    r = client.get("/profile/two-factor")
    assert r.status_code == 200 and 'data-state="disabled"' in r.text
    assert "/profile/two-factor" in client.get("/profile").text
    client.post("/profile/two-factor/start")
    record = twofactor.record_of(user)
    secret = twofactor.pending_secret(user)
    assert record is not None and not record.enabled and len(secret) == 32
    assert secret not in record.secret_encrypted  # stored encrypted
    r = client.get("/profile/two-factor")
    assert "qr-code" in r.text and secret in r.text  # QR code and the key as text while enrolling
    r = client.post("/profile/two-factor/confirm", data={"code": "123"}, follow_redirects=True)
    assert "Код не подходит" in r.text and not twofactor.is_enabled(user)
    r = client.post("/profile/two-factor/confirm", data={"code": ""}, follow_redirects=True)
    assert "Обязательное поле" in r.text
    clock.shift(timedelta(minutes=3))
    stale = twofactor.current_code(secret, utcnow() - timedelta(minutes=3))
    r = client.post("/profile/two-factor/confirm", data={"code": stale}, follow_redirects=True)
    assert "Код не подходит" in r.text and not twofactor.is_enabled(user)
    r = client.post("/profile/two-factor/confirm",
                    data={"code": twofactor.current_code(secret, utcnow())})
    assert r.status_code == 200 and twofactor.is_enabled(user)
    codes = re.findall(r"<li>([0-9a-f]{5}-[0-9a-f]{5})</li>", r.text)
    assert len(codes) == twofactor.RECOVERY_CODES
    page = client.get("/profile/two-factor").text
    assert 'data-state="enabled"' in page and secret not in page and "qr-code" not in page
    assert twofactor.pending_secret(user) is None  # never shown again
    assert {"2fa.enrolment_started", "2fa.enrolment_refused", "2fa.enabled"} <= set(actions(user))
    r = client.post("/profile/two-factor/start", follow_redirects=True)
    assert "уже включён" in r.text


def test_login_asks_for_the_code(client, auth, create_user, clock):
    user = create_user()
    secret, _codes = enrol(client, auth, user)
    clock.shift(60)
    r = client.post("/login?next=/profile", data={"email": user.email, "password": PASSWORD,
                                                   "next": "/profile"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/login/code")
    assert client.get("/profile").status_code == 302  # not logged in yet
    r = client.post("/login/code", data={"code": "000000" if twofactor.current_code(
        secret, utcnow()) != "000000" else "111111"}, follow_redirects=True)
    assert r.status_code == 200 and "Неверный или уже использованный код" in r.text
    code = twofactor.current_code(secret, utcnow())
    r = client.post("/login/code", data={"code": code[:3] + " " + code[3:]})
    assert r.status_code == 302 and r.headers["Location"].endswith("/profile")
    assert client.get("/profile").status_code == 200
    assert {"login.code_failed", "login.code_accepted"} <= set(actions(user))
    auth.logout()
    # the same code again (same time step) is refused: no replay
    auth.login(user.email)
    r = client.post("/login/code", data={"code": code}, follow_redirects=True)
    assert "Неверный или уже использованный код" in r.text
    assert client.get("/profile").status_code == 302
    # one step later the next code works; a code from two minutes ago does not
    clock.shift(30)
    r = client.post("/login/code",
                    data={"code": twofactor.current_code(secret, utcnow() - timedelta(minutes=2))},
                    follow_redirects=True)
    assert "Неверный" in r.text
    r = client.post("/login/code", data={"code": twofactor.current_code(secret, utcnow())})
    assert r.status_code == 302 and client.get("/profile").status_code == 200


def test_the_code_must_follow_the_password_soon(client, auth, create_user, clock):
    user = create_user()
    secret, _ = enrol(client, auth, user)
    auth.login(user.email)
    clock.shift(timedelta(minutes=6))
    r = client.post("/login/code", data={"code": twofactor.current_code(secret, utcnow())},
                    follow_redirects=True)
    assert "Время ввода кода истекло" in r.text and client.get("/profile").status_code == 302


def test_second_step_without_a_password_goes_to_login(client):
    r = client.get("/login/code")
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    r = client.post("/login/code", data={"code": "123456"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")


def test_wrong_codes_lock_the_account(app, client, auth, create_user, clock):
    user = create_user()
    secret, _ = enrol(client, auth, user)
    clock.shift(60)
    auth.login(user.email)
    wrong = "000000" if twofactor.current_code(secret, utcnow()) != "000000" else "111111"
    for _ in range(app.config["LOCKOUT_THRESHOLD"]):
        client.post("/login/code", data={"code": wrong})
    db.session.refresh(user)
    assert user.locked_until is not None and user.locked_until > utcnow()
    assert "account.locked" in actions(user)
    r = client.post("/login/code", data={"code": twofactor.current_code(secret, utcnow())})
    assert r.headers["Location"].endswith("/login")  # the pending step is gone
    r = auth.login(user.email)
    assert r.status_code == 200 and client.get("/profile").status_code == 302


def test_recovery_code_works_once(client, auth, create_user, clock):
    user = create_user()
    _secret, codes = enrol(client, auth, user)
    auth.login(user.email)
    r = client.post("/login/code", data={"code": codes[0].upper()})
    assert r.status_code == 302 and client.get("/profile").status_code == 200
    assert "2fa.recovery_used" in actions(user)
    auth.logout()
    auth.login(user.email)
    r = client.post("/login/code", data={"code": codes[0]}, follow_redirects=True)
    assert "Неверный" in r.text
    assert len(twofactor.record_of(user).recovery_hashes) == twofactor.RECOVERY_CODES - 1


def test_disable_needs_password_and_code(client, auth, create_user, clock):
    user = create_user()
    secret, _ = enrol(client, auth, user)
    clock.shift(60)
    auth.login(user.email)
    client.post("/login/code", data={"code": twofactor.current_code(secret, utcnow())})
    clock.shift(30)
    code = twofactor.current_code(secret, utcnow())
    r = client.post("/profile/two-factor/disable", data={"password": "wrong", "code": code},
                    follow_redirects=True)
    assert "Пароль указан неверно" in r.text and twofactor.is_enabled(user)
    r = client.post("/profile/two-factor/disable", data={"password": PASSWORD, "code": "12"},
                    follow_redirects=True)
    assert "Неверный" in r.text and twofactor.is_enabled(user)
    r = client.post("/profile/two-factor/disable", data={"password": "", "code": ""},
                    follow_redirects=True)
    assert "Обязательное поле" in r.text and twofactor.is_enabled(user)
    r = client.post("/profile/two-factor/disable", data={"password": PASSWORD, "code": code},
                    follow_redirects=True)
    assert "выключен" in r.text and not twofactor.is_enabled(user)
    assert twofactor.record_of(user) is None
    assert actions(user).count("2fa.disable_refused") == 2 and "2fa.disabled" in actions(user)
    auth.logout()
    r = auth.login(user.email)
    assert r.status_code == 302 and not r.headers["Location"].endswith("/login/code")


def test_login_without_two_factor_is_unchanged(client, auth, create_user):
    user = create_user()
    r = auth.login(user.email)
    assert r.status_code == 302 and "/login" not in r.headers["Location"]
    assert client.get("/profile").status_code == 200


def test_hostile_codes(client, auth, create_user, clock):
    from tests.test_bad_input import HOSTILE

    user = create_user()
    enrol(client, auth, user)
    auth.login(user.email)
    for value in HOSTILE[:4]:  # fewer than the lockout threshold
        r = client.post("/login/code", data={"code": value})
        assert r.status_code == 200, (value[:20], r.status_code)
    assert client.get("/profile").status_code == 302
