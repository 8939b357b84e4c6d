"""Reminders about overdue review cases: the region's officials hear of each case once a day."""

from __future__ import annotations

import logging
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from huey import crontab
from sqlalchemy import or_, select, update

from market.core.jobs import periodic
from market.core.notify import notify, queue_email
from market.core.timeutil import to_almaty, utcnow
from market.core.txn import commit, rollback
from market.deals.models_review import Review
from market.extensions import db

log = logging.getLogger("qaldyq.deals")
BATCH = 500


def _due(table, today):
    return (table.c.state == "submitted",
            or_(table.c.reminded_on.is_(None), table.c.reminded_on < today))


def remind_overdue(now: datetime, *, limit: int = BATCH) -> int:
    """Remind the officials of every overdue case not reminded today (Almaty); each case in its
    own transaction, claimed by a conditional UPDATE so two runs remind it once."""
    from market.deals import review

    today = to_almaty(now).date()
    table = Review.__table__
    ids = list(db.session.scalars(select(Review.id).where(
        Review.deadline <= now, *_due(table, today)).order_by(Review.deadline, Review.id).limit(limit)))
    reminded = 0
    for review_id in ids:
        try:
            claimed = db.session.execute(update(table).where(
                table.c.id == review_id, table.c.deadline <= now, *_due(table, today))
                .values(reminded_on=today).returning(table.c.id)).first()
            if claimed is None:
                rollback()
                continue
            case = db.session.get(Review, review_id)
            deal = case.deal
            text = str(_l("Просрочена проверка договора по сделке №%(id)s: срок решения истёк "
                          "%(by)s.", id=deal.id, by=to_almaty(case.deadline).strftime("%d.%m.%Y")))
            link = current_app.config["PUBLIC_URL"].rstrip("/") + review.case_url(deal)
            for user in review.region_officials(deal.region_kato):
                if review.may_review(deal, user):
                    notify(user, "review.overdue", text, review.case_url(deal))
                    queue_email(user.email, _l("Просрочена проверка договора по сделке №%(id)s",
                                               id=deal.id),
                                "email/review_decision.txt", user=user, text=text, link=link)
            commit()
            reminded += 1
        except Exception:
            rollback()
            log.exception("reminding of review %s failed", review_id)
    return reminded


@periodic(crontab(minute="15"))
def remind_overdue_reviews() -> int:
    """Every hour: remind officials of overdue cases (once per case per Almaty day)."""
    return remind_overdue(utcnow())
