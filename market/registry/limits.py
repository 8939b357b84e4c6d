"""Storage-time limits: stock stored too long must be offered for transfer."""

from __future__ import annotations

from datetime import date

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from market.accounts.models import Membership, OrgRole
from market.core import audit
from market.core.notify import notify, queue_email
from market.extensions import db
from market.registry.models import WasteStream


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise ValueError(day)


def limit_months(stream: WasteStream) -> int:
    return current_app.config["STORAGE_LIMIT_MONTHS"][stream.storage_purpose]


def deadline(stream: WasteStream) -> date | None:
    """The day from which the oldest stock is over its storage limit."""
    if stream.oldest_stock_date is None:
        return None
    return add_months(stream.oldest_stock_date, limit_months(stream))


def stored_days(stream: WasteStream, today: date | None = None) -> int | None:
    if stream.oldest_stock_date is None:
        return None
    return ((today or date.today()) - stream.oldest_stock_date).days


def flag_overdue_streams(today: date | None = None) -> list[WasteStream]:
    """Set or clear the "must be offered" flag on every stream; returns the newly flagged."""
    today = today or date.today()
    newly = []
    streams = db.session.scalars(select(WasteStream).where(
        (WasteStream.oldest_stock_date.is_not(None)) | (WasteStream.must_offer_since.is_not(None))))
    for stream in streams:
        due = deadline(stream)
        overdue = due is not None and due <= today and stream.balance > 0
        if overdue and stream.must_offer_since is None:
            stream.must_offer_since = due
            newly.append(stream)
            audit.record("stream.must_offer", stream, organization=stream.organization,
                         since=due.isoformat(), oldest=stream.oldest_stock_date.isoformat())
        elif not overdue and stream.must_offer_since is not None:
            stream.must_offer_since = None
            audit.record("stream.must_offer_cleared", stream, organization=stream.organization)
    db.session.flush()
    return newly


def send_digest(streams: list[WasteStream]) -> int:
    """One in-app notification per stream and one e-mail digest per organisation owner/manager."""
    by_org: dict[int, list[WasteStream]] = {}
    for s in streams:
        by_org.setdefault(s.organization_id, []).append(s)
    sent = 0
    for org_id, items in by_org.items():
        people = db.session.scalars(select(Membership).where(
            Membership.organization_id == org_id,
            Membership.role.in_([OrgRole.owner.value, OrgRole.manager.value]))).all()
        for m in people:
            for s in items:
                notify(m.user, "stream.must_offer",
                       str(_l("Срок хранения превышен: «%(name)s» нужно предложить к передаче.",
                              name=s.name)), url=f"/registry/streams/{s.id}")
            queue_email(m.user.email, _l("Отходы, которые нужно предложить к передаче"),
                        "email/must_offer.txt", streams=items, org=items[0].organization)
            sent += 1
    return sent
