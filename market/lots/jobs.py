"""Background work of the exchange."""

from __future__ import annotations

from huey import crontab

from market.core.jobs import job, periodic
from market.core.timeutil import utcnow
from market.extensions import db
from market.lots.models import Lot


@job()
def lot_published(lot_id: int) -> None:
    """After a lot's publication is committed: tell the wanted posts and saved searches it fits."""
    from market.lots import saved, wanted

    lot = db.session.get(Lot, lot_id)
    if lot is None or lot.state != "published":
        return
    wanted.match_new_lot(lot)
    saved.match_new_lot(lot)


@periodic(crontab(minute="*"))
def close_expired() -> int:
    """Every minute: close the lots whose end time has passed (each in its own transaction)."""
    from market.lots.closing import close_expired_lots

    return close_expired_lots(utcnow())


def _digest_hour() -> str:
    from market.lots.saved import digest_hour_utc

    return str(digest_hour_utc())


# Huey's crontab reads UTC (the huey instance keeps utc=True): 03:00 UTC is 08:00 in Kazakhstan.
@periodic(crontab(minute="0", hour=_digest_hour()))
def saved_search_digest() -> int:
    """Daily at 08:00 Asia/Almaty: e-mail each user the new lots of their saved searches."""
    from market.lots.saved import send_digests

    return send_digests()
