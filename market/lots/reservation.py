"""Reserving a lot's quantity against the registry, atomically.

One conditional UPDATE (`reserved + q <= balance`) per reservation: two lots published at the
same moment against one balance can never together exceed it (the second waits for the
first's row lock on PostgreSQL and re-checks; SQLite serialises writers). The journal's own
update (`balance + delta >= reserved`) keeps records from eating into what lots offer.
"""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from market.core.errors import DomainError
from market.core.locking import lock_for_update
from market.extensions import db
from market.registry import journal
from market.registry.journal import fmt_t
from market.registry.models import WasteStream


class ReservationError(DomainError):
    """The registry does not hold enough to offer this quantity."""


def reserve(stream: WasteStream, quantity: Decimal) -> None:
    table = WasteStream.__table__
    row = db.session.execute(
        update(table)
        .where(table.c.id == stream.id, table.c.reserved + quantity <= table.c.balance)
        .values(reserved=table.c.reserved + quantity)
        .returning(table.c.balance, table.c.reserved)).first()
    if row is None:
        balance, reserved = db.session.execute(
            select(table.c.balance, table.c.reserved).where(table.c.id == stream.id)).one()
        raise ReservationError(
            _l("Можно предложить не больше %(free)s т: в реестре %(balance)s т, из них %(reserved)s т "
               "уже в открытых лотах."),
            free=fmt_t(balance - reserved), balance=fmt_t(balance), reserved=fmt_t(reserved))
    set_committed_value(stream, "balance", row.balance)
    set_committed_value(stream, "reserved", row.reserved)


def release(stream: WasteStream, quantity: Decimal) -> None:
    table = WasteStream.__table__
    row = db.session.execute(
        update(table).where(table.c.id == stream.id)
        .values(reserved=table.c.reserved - quantity)
        .returning(table.c.balance, table.c.reserved)).one()
    set_committed_value(stream, "balance", row.balance)
    set_committed_value(stream, "reserved", row.reserved)


def check_formation(formation, quantity: Decimal, *, exclude_lot_id: int | None = None) -> None:
    """Open lots of a formation never offer more than its recorded tonnage."""
    from market.lots.models import Lot

    lock_for_update(formation)
    if formation.tonnage is None:
        raise ReservationError(_l("Укажите тоннаж объекта ТМО в кадастре, прежде чем предлагать его."))
    q = select(func.coalesce(func.sum(Lot.quantity), 0)).where(
        Lot.formation_id == formation.id, Lot.state == "published")
    if exclude_lot_id:
        q = q.where(Lot.id != exclude_lot_id)
    offered = Decimal(db.session.scalar(q))
    if offered + quantity > formation.tonnage:
        raise ReservationError(
            _l("Можно предложить не больше %(free)s т из %(total)s т объекта ТМО."),
            free=fmt_t(max(formation.tonnage - offered, Decimal(0))), total=fmt_t(formation.tonnage))


def open_lots_note(stream: WasteStream) -> str:
    """For the journal's refusal: which open lots hold the reserve."""
    from market.lots.models import Lot

    titles = db.session.scalars(select(Lot.title).where(
        Lot.stream_id == stream.id, Lot.state == "published").order_by(Lot.id)).all()
    return ", ".join(f"«{t}»" for t in titles)


def install() -> None:
    """Let the journal name the open lots when a record would eat into their reserve."""
    if open_lots_note not in journal.RESERVATION_NOTES:
        journal.RESERVATION_NOTES.append(open_lots_note)
