"""One commit at the edge; side effects run only after it succeeded."""

from __future__ import annotations

from collections.abc import Callable

from market.extensions import db

_KEY = "after_commit"


def after_commit(fn: Callable, *args, **kwargs) -> None:
    """Run fn(*args, **kwargs) once the current transaction has committed."""
    db.session.info.setdefault(_KEY, []).append((fn, args, kwargs))


def commit() -> None:
    """Commit the session, then run the callbacks queued during the transaction."""
    db.session.commit()
    callbacks = db.session.info.pop(_KEY, [])
    for fn, args, kwargs in callbacks:
        fn(*args, **kwargs)


def rollback() -> None:
    """Roll back and forget the side effects queued during the transaction."""
    db.session.rollback()
    db.session.info.pop(_KEY, None)
