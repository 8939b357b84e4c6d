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
    """A GET by a visitor who is not logged in (nor about to be, by a remember-me cookie) and
    has no message waiting. Reads the session only: loading the user costs more."""
    return (request.method == "GET" and "_user_id" not in session
            and not session.get("_flashes")
            and current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
            not in request.cookies)


def _key() -> tuple:
    return request.endpoint, request.full_path, str(get_locale())


def _ttl() -> float:
    return current_app.config.get("PAGE_CACHE_SECONDS") or 0


def serve_cached():
    """First of the app's before-request hooks: a cached page is answered at once (the rate
    limiter and the other hooks have nothing to do for it)."""
    view = current_app.view_functions.get(request.endpoint)
    if _ttl() <= 0 or not getattr(view, "anonymous_page", False) or not _cacheable():
        return None
    page = PAGES.get(_key())
    if page is None:
        return None
    response = make_response(page.replace(TOKEN_SLOT, generate_csrf()))
    response.headers["X-Page-Cache"] = "hit"
    return response


def anonymous_page(view):
    """Mark `view` as served from the cache for anonymous visitors (see the module docstring):
    a miss renders the page and stores it."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        ttl = _ttl()
        if ttl <= 0 or not _cacheable():
            return view(*args, **kwargs)
        response = make_response(view(*args, **kwargs))
        if response.status_code != 200 or response.mimetype != "text/html" \
                or session.get("_flashes"):
            return response
        page = response.get_data(as_text=True).replace(generate_csrf(), TOKEN_SLOT)
        PAGES.put(_key(), page, ttl, current_app.config.get("PAGE_CACHE_SIZE", 256))
        return response

    wrapper.anonymous_page = True
    return wrapper


def install(app) -> None:
    """Put serve_cached before every other before-request hook (call after the extensions)."""
    app.before_request_funcs.setdefault(None, []).insert(0, serve_cached)
