"""The watch list: lots a user follows, and the in-app messages their watchers get.

Watching is personal (any logged-in user, any published lot). Watchers hear about what
changes a lot they may bid on: an edit after publication, its withdrawal, its closing —
the operations doing those call :func:`notify_watchers`. The actor is never told about
their own action.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from market.accounts.models import User
from market.core import audit
from market.core.errors import DomainError
from market.core.notify import notify
from market.core.timeutil import utcnow
from market.extensions import db
from market.lots.models import Lot
from market.lots.models_interest import Watch

MAX_WATCHES = 200

# What an edit changed, as watchers read it (market.lots.operations.EDITABLE).
FIELD_LABELS = {
    "title": _l("название"),
    "description": _l("описание"),
    "quantity": _l("количество"),
    "min_take": _l("минимальная партия"),
    "delivery": _l("условия поставки"),
    "available_from": _l("доступно с"),
    "available_to": _l("доступно до"),
    "monthly_quantity": _l("объём в месяц"),
    "supply_from": _l("начало поставок"),
    "supply_to": _l("конец поставок"),
}


def watch_lot(lot: Lot, *, actor: User) -> bool:
    """Put a published lot on the user's watch list; False when it was there already."""
    if lot.state != "published":
        raise DomainError(_l("Следить можно только за лотом, который сейчас на торгах."))
    if is_watching(actor, lot):
        return False
    count = db.session.scalar(select(func.count(Watch.id)).where(Watch.user_id == actor.id))
    if count >= MAX_WATCHES:
        raise DomainError(_l("В избранном уже %(n)s лотов — это предел. Уберите лоты, торги по "
                             "которым закончились, и добавьте снова."), n=MAX_WATCHES)
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    # Two clicks at once: the unique (user, lot) pair keeps one row, the other insert is a no-op.
    added = db.session.execute(
        insert(Watch).values(user_id=actor.id, lot_id=lot.id, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["user_id", "lot_id"]).returning(Watch.id)).first()
    if added is None:
        return False
    audit.record("lot.watched", lot, actor=actor)
    db.session.flush()
    return True


def unwatch_lot(lot: Lot, *, actor: User) -> bool:
    """Take the lot off the user's watch list (whatever its state); False if it was not there."""
    removed = db.session.execute(
        delete(Watch).where(Watch.user_id == actor.id, Watch.lot_id == lot.id)
        .execution_options(synchronize_session=False)).rowcount
    if removed:
        audit.record("lot.unwatched", lot, actor=actor)
    db.session.flush()
    return bool(removed)


def is_watching(user, lot: Lot) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return db.session.scalar(select(Watch.id).where(Watch.user_id == user.id,
                                                    Watch.lot_id == lot.id)) is not None


def watcher_count(lot: Lot) -> int:
    return db.session.scalar(select(func.count(Watch.id)).where(Watch.lot_id == lot.id)) or 0


def watched_lots(user: User) -> list[tuple[Watch, Lot]]:
    """The user's watch list, most recently added first (at most MAX_WATCHES rows)."""
    return list(db.session.execute(
        select(Watch, Lot).join(Lot, Lot.id == Watch.lot_id).where(Watch.user_id == user.id)
        .order_by(Watch.id.desc()).limit(MAX_WATCHES)).all())


def notify_watchers(lot: Lot, text, *, actor: User | None = None, kind: str = "lot.watched") -> int:
    """Tell every active watcher of the lot (except the actor) in-app; returns how many."""
    stmt = (select(User).join(Watch, Watch.user_id == User.id)
            .where(Watch.lot_id == lot.id, User.active.is_(True)).order_by(User.id))
    if actor is not None:
        stmt = stmt.where(User.id != actor.id)
    users = db.session.scalars(stmt).all()
    for user in users:
        notify(user, kind, str(text), url=f"/lots/{lot.id}")
    return len(users)


def edited_text(lot: Lot, fields) -> str:
    labels = ", ".join(str(FIELD_LABELS.get(f, f)) for f in fields)
    return str(_l("Лот «%(lot)s», за которым вы следите, изменён: %(fields)s.",
                  lot=lot.title, fields=labels))


def withdrawn_text(lot: Lot) -> str:
    return str(_l("Лот «%(lot)s», за которым вы следите, снят с торгов: %(reason)s",
                  lot=lot.title, reason=lot.state_reason or ""))


def closed_text(lot: Lot) -> str:
    return str(_l("Торги по лоту «%(lot)s», за которым вы следите, завершены: %(state)s.",
                  lot=lot.title, state=lot.state_label.lower()))
