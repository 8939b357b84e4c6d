"""A short-lived cache of public pages as anonymous visitors see them.

The public search page is what crawlers and first-time visitors hit most, and the same
searches repeat: an anonymous visitor gets the page another anonymous visitor got (same path,
query string and language) at most ``PAGE_CACHE_SECONDS`` ago. Logged-in users, visitors
with a message waiting for them (flash), and non-GET requests always get a fresh page.

The only per-visitor part of an anonymous page is its CSRF token (the language switch is a
POST form): it is cut out before the page is stored and the visitor's own token put in when it
is served. Each web worker keeps its own LRU of at most ``PAGE_CACHE_SIZE`` pages; nothing is
shared, so there is nothing to invalidate: a page is never older than the time to live.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict

from flask import current_app, make_response, request, session
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

TOKEN_SLOT = "\x00csrf-token\x00"  # noqa: S105 (a placeholder; NUL never reaches a page)


class _LRU:
    def __init__(self):
        self._pages: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            entry = self._pages.get(key)
            if entry is None:
                return None
            if entry[0] < time.monotonic():
                del self._pages[key]
                return None
            self._pages.move_to_end(key)
            return entry[1]

    def put(self, key, page: str, ttl: float, size: int) -> None:
        with self._lock:
            self._pages[key] = (time.monotonic() + ttl, page)
            self._pages.move_to_end(key)
            while len(self._pages) > size:
                self._pages.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()


PAGES = _LRU()


def _cacheable() -> bool:
    return (request.method == "GET" and not current_user.is_authenticated
            and not session.get("_flashes"))


def anonymous_page(view):
    """Serve `view`'s HTML from the cache for anonymous visitors (see the module docstring)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        ttl = current_app.config.get("PAGE_CACHE_SECONDS") or 0
        if ttl <= 0 or not _cacheable():
            return view(*args, **kwargs)
        key = (request.endpoint, request.full_path, str(get_locale()))
        page = PAGES.get(key)
        if page is None:
            response = make_response(view(*args, **kwargs))
            if response.status_code != 200 or response.mimetype != "text/html" \
                    or session.get("_flashes"):
                return response
            token = generate_csrf()
            page = response.get_data(as_text=True).replace(token, TOKEN_SLOT)
            PAGES.put(key, page, ttl, current_app.config.get("PAGE_CACHE_SIZE", 256))
            return response
        response = make_response(page.replace(TOKEN_SLOT, generate_csrf()))
        response.headers["X-Page-Cache"] = "hit"
        return response

    return wrapper
