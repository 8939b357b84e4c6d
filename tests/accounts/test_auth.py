"""Registration, confirmation, login, lockout, rate limits, password reset, sessions."""

import re

import time_machine

from market.accounts.models import User
from market.accounts.operations import find_user
from market.core.models import AuditEvent
from market.core.timeutil import utcnow
from market.extensions import db
from tests.factories import PASSWORD


def _link(mailbox, path):
    body = mailbox[-1].get_content()
    match = re.search(rf"http://[^\s]+({path}/[^\s]+)", body)
    assert match, body
    return match.group(1)


def _actions(user=None):
    q = db.select(AuditEvent.action).order_by(AuditEvent.id)
    if user:
        q = q.where(AuditEvent.object_id == str(user.id), AuditEvent.object_type == "User")
    return db.session.scalars(q).all()


def test_register_confirm_and_login(client, mailbox):
    r = client.post("/register", data={"full_name": "Айгерим Сейтова", "email": "Aigerim@Example.kz",
                                       "password": "steppe-wind-42", "password2": "steppe-wind-42"})
    assert r.status_code == 302
    user = find_user("aigerim@example.kz")
    assert user.email == "aigerim@example.kz" and not user.email_confirmed
    assert user.password_hash.startswith("$argon2")
    r = client.get(_link(mailbox, "/confirm"))
    assert r.status_code == 302
    assert find_user("aigerim@example.kz").email_confirmed
    client.post("/logout")
    r = client.post("/login", data={"email": "aigerim@example.kz", "password": "steppe-wind-42"})
    assert r.status_code == 302 and r.location.endswith("/orgs")


def test_register_errors_are_shown_next_to_fields(client):
    r = client.post("/register", data={"full_name": "", "email": "bad", "password": "short",
                                       "password2": "other"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert html.count("invalid-feedback") >= 3
    assert "Пароль должен быть не короче 10 символов." in html


def test_duplicate_email_refused(client, create_user):
    create_user("taken@example.kz")
    r = client.post("/register", data={"full_name": "X", "email": "TAKEN@example.kz",
                                       "password": "steppe-wind-42", "password2": "steppe-wind-42"})
    assert "уже зарегистрирован" in r.get_data(as_text=True)


def test_wrong_password_is_refused_and_audited(client, auth, create_user):
    user = create_user()
    r = auth.login(user.email, "wrong-password-1", follow=True)
    assert "Неверный e-mail или пароль." in r.get_data(as_text=True)
    assert "login.failed" in _actions(user)


def test_lockout_after_repeated_failures(app, client, auth, create_user):
    user = create_user()
    threshold = app.config["LOCKOUT_THRESHOLD"]
    for _ in range(threshold):
        auth.login(user.email, "wrong-password-1")
    db.session.refresh(user)
    assert user.locked_until is not None
    r = auth.login(user.email, PASSWORD, follow=True)  # the right password is refused too
    assert "заблокирована" in r.get_data(as_text=True)
    assert "account.locked" in _actions(user)
    with time_machine.travel(utcnow().timestamp() + app.config["LOCKOUT_MINUTES"] * 60 + 5):
        r = auth.login(user.email, PASSWORD)
        assert r.status_code == 302 and r.location.endswith("/orgs")


def test_rate_limit_per_account(app, client, create_user):
    user = create_user()
    limit = int(app.config["LOGIN_LIMIT_PER_ACCOUNT"].split()[0])
    codes = [client.post("/login", data={"email": user.email, "password": "x"},
                         environ_base={"REMOTE_ADDR": f"10.0.0.{i}"}).status_code
             for i in range(limit + 1)]
    assert codes[-1] == 429 and 429 not in codes[:-1]


def test_rate_limit_per_ip(app, client):
    limit = int(app.config["LOGIN_LIMIT_PER_IP"].split()[0])
    codes = [client.post("/login", data={"email": f"u{i}@example.kz", "password": "x"}).status_code
             for i in range(limit + 1)]
    assert codes[-1] == 429 and 429 not in codes[:-1]
    assert "Слишком много" in client.post("/login", data={"email": "z@x.kz"}).get_data(as_text=True)


def test_session_renewed_at_login(client, auth, create_user):
    user = create_user()
    with client.session_transaction() as s:
        s["planted"] = "attacker"
    auth.login(user.email)
    with client.session_transaction() as s:
        assert "planted" not in s
        assert s["_user_id"] == user.get_id()


def test_remember_me_sets_cookie(client, auth, create_user):
    user = create_user()
    r = client.post("/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
    assert any(h.startswith("remember_token=") for h in r.headers.getlist("Set-Cookie"))
    r = client.post("/logout")
    client2_cookie = [h for h in r.headers.getlist("Set-Cookie") if h.startswith("remember_token=")]
    assert client2_cookie, "logout clears the remember-me cookie"


def test_password_reset_works_once(client, create_user, mailbox):
    user = create_user("reset@example.kz")
    r = client.post("/password/forgot", data={"email": "reset@example.kz"})
    assert r.status_code == 302
    link = _link(mailbox, "/password/reset")
    old_nonce = user.session_nonce
    r = client.post(link, data={"password": "new-steppe-77", "password2": "new-steppe-77"})
    assert r.status_code == 302
    db.session.refresh(user)
    assert user.session_nonce != old_nonce  # other sessions are logged out
    r = client.get(link)
    assert r.status_code == 302 and "forgot" in r.location  # used links are refused
    assert client.post("/login", data={"email": user.email, "password": "new-steppe-77"}
                       ).status_code == 302


def test_forgot_password_does_not_reveal_accounts(client, mailbox):
    r = client.post("/password/forgot", data={"email": "nobody@example.kz"}, follow_redirects=True)
    assert "Если такой адрес зарегистрирован" in r.get_data(as_text=True)
    assert mailbox == []


def test_logout_needs_post_and_ends_session(client, auth, create_user):
    user = create_user()
    auth.login(user.email)
    assert client.get("/logout").status_code == 405
    auth.logout()
    assert client.get("/orgs").status_code == 302


def test_disabled_account_cannot_login(client, auth, create_user):
    user = create_user(active=False)
    r = auth.login(user.email, follow=True)
    assert "отключена" in r.get_data(as_text=True)


def test_language_choice_is_remembered(client, auth, create_user):
    user = create_user()
    auth.login(user.email)
    client.post("/language", data={"lang": "kk", "next": "/orgs"})
    assert db.session.get(User, user.id).locale == "kk"
    with client.session_transaction() as s:
        assert s["lang"] == "kk"
    assert client.post("/language", data={"lang": "xx"}).status_code == 400


def test_open_redirect_refused_after_login(client, create_user):
    user = create_user()
    r = client.post("/login", data={"email": user.email, "password": PASSWORD,
                                    "next": "https://evil.example/"})
    assert r.location.endswith("/orgs")

