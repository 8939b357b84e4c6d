"""Bidding notifications: outbid, lost (with e-mail), and "the auction ends soon".

Outbid: bidding._apply calls :func:`outbid` under the auction's lock when an English or reverse
bid takes the lead from another organisation's bid, or when a new bid is overtaken at once by
the leader's proxy limit. Nothing is written there: after the commit a job tells the
overtaken organisation's managers in-app and by e-mail (a rolled-back bid tells nobody, and
the lock is not held while mails are rendered). Sealed bids never pass through _apply; a
leader raising its own limit is not an overtaking bid. One notice per overtaking bid.

Ending soon: every minute the job looks for published auctions within
AUCTION_ENDING_SOON_MINUTES of their (extended) end and reminds the lot's watchers and the
managers of organisations with a live bid, in-app and by e-mail. Each (lot, user) pair gets
one reminder ever: a row in ``auction_reminder`` with a unique pair, inserted with ON CONFLICT
DO NOTHING before anything is sent, so two consumers running the job at once remind once (on
PostgreSQL the second insert waits for the first transaction and then finds the row).
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from huey import crontab
from sqlalchemy import ForeignKey, UniqueConstraint, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from market.accounts.models import User
from market.core.jobs import job, periodic
from market.core.notify import notify, queue_email
from market.core.timeutil import to_almaty, utcnow
from market.core.txn import after_commit, commit, rollback
from market.core.types import UTCDateTime
from market.extensions import db
from market.lots.models import Lot
from market.lots.money import format_kzt

log = logging.getLogger("qaldyq.auctions")

AUCTION_MODES = ("english", "sealed", "reverse")
DEFAULT_ENDING_SOON_MINUTES = 60
BATCH = 500  # lots looked at per run of the job (it runs every minute)


class AuctionReminder(db.Model):
    """An "auction ends soon" reminder sent to a user about a lot: at most one per pair."""

    __tablename__ = "auction_reminder"
    __table_args__ = (UniqueConstraint("lot_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the end the reminder announced
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def _link(lot_id: int) -> str:
    return current_app.config["PUBLIC_URL"].rstrip("/") + f"/lots/{lot_id}"


def _at(moment: datetime) -> str:
    return to_almaty(moment).strftime("%d.%m.%Y %H:%M")


def _managers(org_id: int) -> list[User]:
    from market.lots.wanted import managers

    return managers(org_id)


# Outbid --------------------------------------------------------------------------------------
def outbid(lot: Lot, overtaken, *, price: int | None, by_proxy: bool) -> None:
    """Under the auction's lock: ``overtaken`` (a bid) lost the lead, or was overtaken at once
    by the leader's proxy limit (``by_proxy``); its organisation hears it after the commit."""
    if lot.pricing_mode not in ("english", "reverse") or overtaken is None:
        return
    after_commit(_enqueue_outbid, lot.id, overtaken.id, price, by_proxy)


def _enqueue_outbid(lot_id: int, bid_id: int, price: int | None, by_proxy: bool) -> None:
    try:
        tell_outbid(lot_id, bid_id, price, by_proxy)
    except Exception:  # the bid is committed: a failed notice must not turn into an error page
        log.exception("queueing the outbid notice of bid %s failed", bid_id)


@job(retries=2, retry_delay=5)
def tell_outbid(lot_id: int, bid_id: int, price: int | None, by_proxy: bool) -> int:
    """The overtaken bid's organisation managers: in-app and e-mail. Returns how many users."""
    from market.auctions.models import Bid

    lot, bid = db.session.get(Lot, lot_id), db.session.get(Bid, bid_id)
    if lot is None or bid is None:
        return 0
    shown = format_kzt(price) if price is not None else "—"
    if by_proxy:
        text = _l("Ставку вашей организации по лоту «%(title)s» сразу перебила автоставка другого "
                  "участника: текущая цена %(price)s.", title=lot.title, price=shown)
    else:
        text = _l("Ставку вашей организации по лоту «%(title)s» перебили: текущая цена "
                  "%(price)s.", title=lot.title, price=shown)
    users = _managers(bid.organization_id)
    for user in users:
        notify(user, "auction.outbid", str(text), f"/lots/{lot.id}")
        queue_email(user.email, _l("Вашу ставку перебили: «%(title)s»", title=lot.title),
                    "email/auction_outbid.txt", user=user, lot=lot, price=shown,
                    by_proxy=by_proxy, reverse=lot.pricing_mode == "reverse",
                    ends_at=_ends_at(lot), link=_link(lot.id))
    db.session.flush()
    return len(users)


def _ends_at(lot: Lot) -> str | None:
    from market.auctions.auction import ends_at

    end = ends_at(lot)
    return _at(end) if end is not None else None


# Lost ----------------------------------------------------------------------------------------
def tell_lost(lot: Lot, org_ids, text) -> int:
    """The managers of organisations whose bids lost at the close: in-app and e-mail (the
    outbox sends after the commit). Returns how many users were told."""
    told = 0
    for org_id in sorted(set(org_ids)):
        for user in _managers(org_id):
            notify(user, "auction.lost", str(text), f"/lots/{lot.id}")
            queue_email(user.email, _l("Торги по лоту «%(title)s» завершены", title=lot.title),
                        "email/auction_lost.txt", user=user, lot=lot, text=str(text),
                        link=_link(lot.id))
            told += 1
    return told


# Ending soon ---------------------------------------------------------------------------------
def ending_soon_minutes() -> int:
    return int(current_app.config.get("AUCTION_ENDING_SOON_MINUTES", DEFAULT_ENDING_SOON_MINUTES))


def _end_column():
    from market.auctions.models import Auction

    return func.coalesce(Auction.ends_at, Lot.ends_at, type_=UTCDateTime)


def ending_lot_ids(now: datetime, limit: int = BATCH) -> list[int]:
    """Published auctions whose (extended) end is after ``now`` and within the window."""
    from market.auctions.models import Auction

    end = _end_column()
    window = now + timedelta(minutes=ending_soon_minutes())
    return list(db.session.scalars(
        select(Lot.id).outerjoin(Auction, Auction.lot_id == Lot.id)
        .where(Lot.state == "published", Lot.pricing_mode.in_(AUCTION_MODES),
               Lot.ends_at.is_not(None), end > now, end <= window)
        .order_by(end, Lot.id).limit(limit)))


def recipients(lot: Lot) -> list[User]:
    """Active watchers of the lot and the managers of organisations with a live bid on it,
    each once, in id order, without those already reminded."""
    from market.auctions.models import Bid
    from market.lots.models_interest import Watch

    users = {u.id: u for u in db.session.scalars(
        select(User).join(Watch, Watch.user_id == User.id)
        .where(Watch.lot_id == lot.id, User.active.is_(True)))}
    for org_id in db.session.scalars(select(Bid.organization_id).distinct().where(
            Bid.lot_id == lot.id, Bid.state.in_(("pending_deposit", "active", "outbid")))):
        users.update((u.id, u) for u in _managers(org_id))
    done = set(db.session.scalars(select(AuctionReminder.user_id).where(
        AuctionReminder.lot_id == lot.id)))
    return [users[uid] for uid in sorted(users) if uid not in done]


def _claim(lot: Lot, user: User, ends_at: datetime, now: datetime) -> bool:
    """Record the reminder of (lot, user); False when another run recorded it first."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    row = db.session.execute(
        insert(AuctionReminder).values(lot_id=lot.id, user_id=user.id, ends_at=ends_at,
                                       created_at=now)
        .on_conflict_do_nothing(index_elements=["lot_id", "user_id"])
        .returning(AuctionReminder.id)).first()
    return row is not None


def remind_lot(lot: Lot, now: datetime) -> int:
    """Remind whoever has not heard yet that the lot's auction ends soon; returns how many."""
    from market.auctions.auction import ends_at as auction_end

    end = auction_end(lot)
    if lot.state != "published" or end is None or not now < end:
        return 0
    minutes = max(1, math.ceil((end - now).total_seconds() / 60))
    text = _l("Торги по лоту «%(title)s» завершатся через %(minutes)s мин. — %(at)s (время "
              "Алматы).", title=lot.title, minutes=minutes, at=_at(end))
    told = 0
    for user in recipients(lot):
        if not _claim(lot, user, end, now):
            continue
        notify(user, "auction.ending_soon", str(text), f"/lots/{lot.id}")
        queue_email(user.email, _l("Торги скоро завершатся: «%(title)s»", title=lot.title),
                    "email/auction_ending_soon.txt", user=user, lot=lot, minutes=minutes,
                    ends_at=_at(end), link=_link(lot.id))
        told += 1
    db.session.flush()
    return told


def remind_ending_soon(now: datetime | None = None, *, limit: int = BATCH) -> int:
    """The job's body: remind about every auction ending soon, committing after each lot (a
    lot that fails is logged and retried on the next run). Returns how many users were told."""
    now = now or utcnow()
    told = 0
    for lot_id in ending_lot_ids(now, limit):
        lot = db.session.get(Lot, lot_id)
        try:
            told += remind_lot(lot, now) if lot is not None else 0
            commit()
        except Exception:
            rollback()
            log.exception("ending-soon reminders of lot %s failed", lot_id)
    return told


@periodic(crontab(minute="*"))
def auction_ending_soon() -> int:
    """Every minute: remind watchers and bidders of the auctions that end soon."""
    return remind_ending_soon(utcnow())
