"""E-mail goes through the outbox: written in the transaction, sent only after commit."""

from flask import render_template_string

from market.core.jobs import send_pending
from market.core.models import OutboxEmail
from market.core.notify import queue_email
from market.core.txn import commit, rollback
from market.extensions import db


def _queue(to="a@example.kz"):
    return queue_email(to, "Тема", "email/join_request.txt",
                       org=type("O", (), {"name": "ТОО Тест"})(),
                       requester=type("U", (), {"full_name": "Имя", "email": "x@y.kz"})())


def test_nothing_sent_when_transaction_rolls_back(app, session, mailbox):
    _queue()
    assert mailbox == []  # not before commit
    rollback()
    assert db.session.scalar(db.select(db.func.count(OutboxEmail.id))) == 0
    assert send_pending() == 0
    assert mailbox == []


def test_sent_after_commit_by_the_job(app, session, mailbox):
    mail = _queue("b@example.kz")
    assert mailbox == []
    commit()  # immediate-mode Huey runs the delivery job right after the commit
    assert [m["To"] for m in mailbox] == ["b@example.kz"]
    db.session.refresh(mail)
    assert mail.status == "sent" and mail.sent_at is not None


def test_failed_send_is_retried_by_the_sweep(app, session, mailbox, monkeypatch):
    from market.core import mail as mail_module

    calls = []

    def flaky(message):
        calls.append(message.id)
        if len(calls) == 1:
            raise OSError("smtp down")
        mailbox.append(message)

    monkeypatch.setattr(mail_module, "send", flaky)
    mail = _queue()
    commit()
    db.session.refresh(mail)
    assert mail.status == "pending" and mail.attempts == 1 and "smtp down" in mail.last_error
    assert send_pending() == 1
    assert mail.status == "sent"


def test_gives_up_after_max_attempts(app, session, monkeypatch):
    from market.core import jobs
    from market.core import mail as mail_module

    def broken(_m):
        raise OSError("down")

    monkeypatch.setattr(mail_module, "send", broken)
    mail = _queue()
    for _ in range(jobs.MAX_ATTEMPTS + 2):
        send_pending()
    assert mail.status == "failed" and mail.attempts == jobs.MAX_ATTEMPTS


def test_console_backend_prints(app, session, capsys):
    app.config["MAIL_BACKEND"] = "console"
    try:
        _queue("c@example.kz")
        commit()
    finally:
        app.config["MAIL_BACKEND"] = "memory"
    assert "c@example.kz" in capsys.readouterr().out


def test_email_template_renders_in_language(app):
    with app.test_request_context("/?lang=en"):
        text = render_template_string("{{ _('Здравствуйте!') }}")
    assert text
