"""Web-layer glue: locale, request origin, template helpers, error pages."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from flask import (
    Flask,
    flash,
    has_request_context,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_datetime, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from market.core import audit
from market.core.errors import DomainError, NotFound, PermissionDenied
from market.core.timeutil import aware
from market.extensions import login_manager


def locale_selector() -> str:
    """?lang= (remembered) > the user's saved choice > session > browser > Russian."""
    from flask import current_app, has_request_context

    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    langs = current_app.config["LANGUAGES"]
    asked = request.args.get("lang")
    if asked in langs:
        session["lang"] = asked
        return asked
    if current_user and current_user.is_authenticated and current_user.locale in langs:
        return current_user.locale
    if session.get("lang") in langs:
        return session["lang"]
    return request.accept_languages.best_match(langs) or current_app.config["BABEL_DEFAULT_LOCALE"]


def safe_next(target: str | None, fallback: str) -> str:
    """Only same-site relative paths are followed after login or a POST."""
    if not target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    return target


def back(fallback_endpoint: str = "main.index", **values):
    """Redirect to the page the form came from (same site only)."""
    return redirect(safe_next(request.form.get("next") or (request.referrer and
                              urlsplit(request.referrer).path), url_for(fallback_endpoint, **values)))


# The same numeric patterns in every language (Babel's kk "short" has a two-digit year).
DATETIME_PATTERNS = {"short": "dd.MM.yyyy HH:mm", "medium": "d MMMM yyyy, HH:mm"}


def dt_filter(value: datetime | None, fmt: str = "medium") -> str:
    if value is None:
        return "—"
    return format_datetime(aware(value), DATETIME_PATTERNS.get(fmt, fmt))


def tonnes_filter(value) -> str:
    """Tonnes with a thin space between thousands and a comma before the 3 decimals."""
    if value is None:
        return "—"
    from market.core.numfmt import grouped

    return grouped(value, 3)


def map_regions() -> list[dict]:
    """Region centres, drawn as reference points on maps (works without map tiles)."""
    from sqlalchemy import select

    from market.extensions import db
    from market.refdata.models import Region

    return [{"name": r.name, "lat": r.lat, "lon": r.lon}
            for r in db.session.scalars(select(Region)) if r.lat is not None]


def register_web_hooks(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Войдите, чтобы открыть эту страницу.")
    login_manager.login_message_category = "warning"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(user_id: str):
        from market.accounts.models import User
        from market.extensions import db

        uid, _, nonce = user_id.partition(":")
        if not uid.isdigit():
            return None
        user = db.session.get(User, int(uid))
        if user is None or user.session_nonce != nonce:
            return None
        return user

    @app.before_request
    def _origin():
        audit.current_origin.set(request.remote_addr)

    app.jinja_env.filters["dt"] = dt_filter
    app.jinja_env.filters["t"] = tonnes_filter
    app.jinja_env.globals["map_regions"] = map_regions
    app.jinja_env.globals["safe_next"] = safe_next
    app.jinja_env.filters["reject_page"] = lambda d: {k: v for k, v in d.items() if k != "page"}

    @app.context_processor
    def _globals():
        from market.core.notify import unread_count

        user = current_user if has_request_context() else None
        unread = unread_count(user) if getattr(user, "is_authenticated", False) else 0
        return {
            "current_locale": str(get_locale()),
            "languages": (("ru", "Русский"), ("kk", "Қазақша"), ("en", "English")),
            "unread_notifications": unread,
        }

    def _page(code: int, title, text):
        return render_template("errors/page.html", code=code, title=title, text=text), code

    @app.before_request
    def _strip_nul():
        """A NUL character in a parameter is never meant and PostgreSQL text cannot hold it:
        it is removed from the query string and the form before any view sees them."""
        if "%00" in request.query_string.decode("latin-1"):
            request.args = _without_nul(request.args)
        is_form = request.method in ("POST", "PUT", "PATCH") and request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data")
        if is_form and any("\x00" in v for _, vs in request.form.lists() for v in vs):
            request.form = _without_nul(request.form)
        return None

    @app.errorhandler(403)
    @app.errorhandler(PermissionDenied)
    def _forbidden(exc):
        text = str(exc) if isinstance(exc, PermissionDenied) else _l(
            "У вас нет прав на это действие.")
        return _page(403, _l("Доступ запрещён"), text)

    @app.errorhandler(404)
    @app.errorhandler(NotFound)
    def _not_found(_exc):
        return _page(404, _l("Страница не найдена"), _l(
            "Такой страницы нет или она была удалена. Проверьте адрес."))

    @app.errorhandler(405)
    def _not_allowed(_exc):
        return _page(405, _l("Метод не поддерживается"), _l("Этот адрес так не вызывается."))

    @app.errorhandler(429)
    def _too_many(_exc):
        return _page(429, _l("Слишком много запросов"), _l(
            "Слишком много попыток за короткое время. Подождите минуту и попробуйте снова."))

    @app.errorhandler(CSRFError)
    def _csrf(_exc):
        return _page(400, _l("Форма устарела"), _l(
            "Страница с формой была открыта слишком давно. Обновите её и отправьте снова."))

    @app.errorhandler(DomainError)
    def _domain(exc):
        from market.core.txn import rollback

        rollback()
        flash(str(exc), "danger")
        return back()

    @app.errorhandler(500)
    def _server_error(_exc):
        from market.core.txn import rollback

        rollback()
        return _page(500, _l("Ошибка на сервере"), _l(
            "Что-то пошло не так. Мы уже знаем об ошибке; попробуйте позже."))


def _without_nul(data):
    from werkzeug.datastructures import ImmutableMultiDict

    return ImmutableMultiDict([(k.replace("\x00", ""), v.replace("\x00", ""))
                               for k, vs in data.lists() for v in vs])


def db_int(value) -> int:
    """int() for ids, pages and cursors from a request: refuses what no INTEGER column holds,
    so `request.args.get("before", type=db_int)` gives the default instead of an overflow."""
    number = int(value)
    if not -(2**31) < number < 2**31:
        raise ValueError("out of range")
    return number
