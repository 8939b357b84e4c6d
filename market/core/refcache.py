"""Reference lists (regions, waste chapters) as select options, built once per language.

They change only when `flask refdata load` runs; a page that offers them as filters would
otherwise query and translate them on every request. Kept per process for ``REFCACHE_SECONDS``
(default 300), per language and database.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from flask import current_app
from flask_babel import get_locale

_CACHE: dict[tuple, tuple[float, object]] = {}


def per_locale(name: str, build: Callable[[], object]):
    """`build()`'s result for the current language, at most REFCACHE_SECONDS old."""
    ttl = current_app.config.get("REFCACHE_SECONDS", 300)
    key = (name, str(get_locale()), current_app.config["SQLALCHEMY_DATABASE_URI"])
    now = time.monotonic()
    hit = _CACHE.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    value = build()
    _CACHE[key] = (now + ttl, value)
    return value


def clear() -> None:
    _CACHE.clear()
