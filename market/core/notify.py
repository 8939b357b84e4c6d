"""In-app notifications and the e-mail outbox (sent by a job after commit)."""

from __future__ import annotations

from flask import current_app, render_template
from sqlalchemy import func, select

from market.core.models import Notification, OutboxEmail
from market.core.txn import after_commit
from market.extensions import db


def notify(user, kind: str, text: str, url: str | None = None) -> Notification:
    n = Notification(user_id=user.id, kind=kind, text=str(text), url=url)
    db.session.add(n)
    return n


def unread_count(user) -> int:
    return db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == user.id, Notification.read_at.is_(None)
        )
    )


def queue_email(recipient: str, subject: str, template: str, **context) -> OutboxEmail:
    """Write the message to the outbox in this transaction; a job sends it after commit."""
    body = render_template(template, **context)
    mail = OutboxEmail(recipient=recipient, subject=str(subject), body=body)
    db.session.add(mail)
    db.session.flush()
    after_commit(_enqueue_delivery, mail.id)
    return mail


def _enqueue_delivery(mail_id: int) -> None:
    from market.core.jobs import deliver_outbox

    if current_app.config.get("OUTBOX_ENQUEUE", True):
        deliver_outbox(mail_id)
