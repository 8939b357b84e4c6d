"""Background work of the exchange."""

from __future__ import annotations

from market.core.jobs import job
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
