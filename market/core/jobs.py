"""Huey tasks that run inside an application context and commit at their edge."""

from __future__ import annotations

import functools
import logging

from flask import has_app_context
from huey import crontab
from sqlalchemy import select

from market.core import mail
from market.core.models import OutboxEmail
from market.core.timeutil import utcnow
from market.core.txn import commit, rollback
from market.extensions import db, huey

log = logging.getLogger("qaldyq.jobs")
_worker_app = None
MAX_ATTEMPTS = 5


def _app():
    global _worker_app
    if _worker_app is None:
        from market import create_app

        _worker_app = create_app()
    return _worker_app


def use_app(app) -> None:
    """The consumer's application (set by market.worker)."""
    global _worker_app
    _worker_app = app


def run_in_app(fn):
    """Run fn in the current app context (immediate mode) or the worker's own app."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if has_app_context():
            result = fn(*args, **kwargs)
            if huey.immediate:  # tests and inline runs: the task is its own edge
                commit()
            return result
        with _app().app_context():
            try:
                result = fn(*args, **kwargs)
                commit()
                return result
            except Exception:
                rollback()
                raise
            finally:
                db.session.remove()

    return wrapper


def job(**options):
    """Declare a background task: `@job()` then `task(args)` enqueues it."""
    return lambda fn: huey.task(**options)(run_in_app(fn))


def periodic(schedule):
    return lambda fn: huey.periodic_task(schedule)(run_in_app(fn))


def send_pending(ids: list[int] | None = None, limit: int = 100) -> int:
    """Send pending outbox mail (all of it, or the given ids); returns how many went out."""
    query = select(OutboxEmail).where(
        OutboxEmail.status == "pending", OutboxEmail.attempts < MAX_ATTEMPTS
    )
    if ids:
        query = query.where(OutboxEmail.id.in_(ids))
    query = query.order_by(OutboxEmail.id).limit(limit)
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    sent = 0
    for message in db.session.scalars(query).all():
        message.attempts += 1
        try:
            mail.send(message)
        except Exception as exc:  # a failed send is retried by the sweep
            message.last_error = str(exc)[:2000]
            if message.attempts >= MAX_ATTEMPTS:
                message.status = "failed"
            log.warning("sending outbox mail %s failed: %s", message.id, exc)
            continue
        message.status = "sent"
        message.sent_at = utcnow()
        sent += 1
    db.session.flush()
    return sent


@job(retries=2, retry_delay=5)
def deliver_outbox(mail_id: int) -> int:
    """Send one message just committed to the outbox."""
    return send_pending([mail_id])


@periodic(crontab(minute="*"))
def sweep_outbox() -> int:
    """Every minute: send whatever is still pending (retries after failures)."""
    return send_pending()
