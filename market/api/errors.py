"""JSON errors of the API: {"code", "status", "message"[, "errors"]}, never an HTML page.

The message is in the language of the request's Accept-Language (see setup._api_locale):
domain rules refused → 422, the actor may not → 403, unknown or foreign object → 404,
missing or bad token → 401 with WWW-Authenticate: Bearer, missing scope → 403.
"""

from __future__ import annotations

from flask import Response, current_app, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.http import HTTP_STATUS_CODES

from market.core.errors import DomainError, NotFound, PermissionDenied
from market.core.txn import rollback

API_PREFIX = "/api/v1"

MESSAGES = {
    400: _l("Некорректный запрос: проверьте JSON в теле запроса."),
    401: _l("Нужен API-токен: заголовок «Authorization: Bearer <токен>»."),
    403: _l("У вас нет прав на это действие."),
    404: _l("Объект не найден."),
    405: _l("Метод не поддерживается"),
    413: _l("Запрос слишком большой."),
    415: _l("Тело запроса должно быть в формате JSON."),
    422: _l("Проверьте поля запроса."),
    429: _l("Слишком много запросов с этим токеном. Подождите минуту и повторите."),
    500: _l("Ошибка на сервере"),
}
DEFAULT_MESSAGE = _l("Запрос не выполнен.")


def is_api_request() -> bool:
    path = request.path
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def plain(value):
    """Lazy strings (messages) become text in the request's language; keys become strings."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return str(value)


def field_errors(value):
    """Marshmallow's messages as {location: {field: [text, ...]}}: every leaf a list of texts.

    (Marshmallow wraps a plain-string message in a list but keeps a lazy one bare.)
    """
    if isinstance(value, dict):
        return {str(k): field_errors(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return [str(value)]


def json_error(code: int, message, *, errors=None, headers=None) -> Response:
    payload = {"code": code, "status": HTTP_STATUS_CODES.get(code, "Error"), "message": str(message)}
    if errors:
        payload["errors"] = field_errors(errors)
    response = current_app.json.response(payload)
    response.status_code = code
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def handle_http_exception(exc: HTTPException) -> Response:
    """abort() in the API (with message=/errors=/headers= kwargs), webargs' 422, 404, 405, 429..."""
    code = exc.code or 500
    if code >= 500:
        rollback()
    data = getattr(exc, "data", None) or {}
    message = data.get("message") or MESSAGES.get(code) or DEFAULT_MESSAGE
    errors = data.get("errors") or data.get("messages")
    headers = dict(data.get("headers") or {})
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        headers["Allow"] = ", ".join(exc.valid_methods)
    return json_error(code, message, errors=errors, headers=headers)


def handle_domain_error(exc: DomainError) -> Response:
    """A rule of the domain refused the request: nothing of it is kept."""
    rollback()
    if isinstance(exc, PermissionDenied):
        code = 403
    elif isinstance(exc, NotFound):
        code = 404
    else:
        code = 422
    return json_error(code, str(exc))


def register_error_handlers(blueprint) -> None:
    """Flask looks for a handler by status code first (the app's HTML pages for 403, 404, 405,
    429, 500), then by class: so the API's JSON handler is registered for every code too."""
    from werkzeug.exceptions import default_exceptions

    for code in default_exceptions:
        blueprint.register_error_handler(code, handle_http_exception)
    blueprint.register_error_handler(HTTPException, handle_http_exception)
    blueprint.register_error_handler(DomainError, handle_domain_error)


def json_for_api_paths(app) -> None:
    """404/405 raised by routing (no view, so no blueprint handler) are JSON under /api/v1 too.

    Wraps the application's own handlers, which keep serving the HTML pages elsewhere.
    """
    from werkzeug.exceptions import default_exceptions

    for code in (404, 405):
        exc_class = default_exceptions[code]
        previous = app.error_handler_spec[None][code].get(exc_class)

        def handler(exc, previous=previous):
            if is_api_request():
                return handle_http_exception(exc)
            return previous(exc) if previous is not None else exc

        app.register_error_handler(code, handler)
