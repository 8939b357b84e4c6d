"""JSON API v1 (flask-smorest): registered on the app by init_api()."""

from __future__ import annotations

import copy

from flask import Flask, has_request_context, request
from flask_smorest import Api

from market.api.errors import is_api_request, json_for_api_paths

API_CONFIG = {
    "API_TITLE": "Qaldyq API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
    # No Swagger UI / ReDoc: they would load scripts from a CDN.
    "API_RATE_LIMIT": "600 per minute",
}

SPEC_OPTIONS = {
    "info": {"description": (
        "Registry of waste of one organisation, for its own systems. Authenticate with "
        "`Authorization: Bearer qdq_…` (tokens are issued by the organisation's owner or managers "
        "on its API tokens page). Reading needs the scope `registry:read`, writing "
        "`registry:write`. Published lots of the exchange are read and searched without a token "
        "(with one, each lot names its holder); creating, publishing and withdrawing the "
        "organisation's lots needs `lots:write`; placing and withdrawing its bids `bids:write`. "
        "Errors are JSON `{code, status, message[, errors]}`, "
        "the message in the language of `Accept-Language` (ru, kk, en). Quantities are decimal "
        "strings in tonnes, money integers in tiyn (1 ₸ = 100 tiyn), times ISO 8601 in UTC.")},
    "security": [{"bearerAuth": []}],
}


TAGS = (
    ("Sites", "Places where the organisation generates, stores, processes or disposes of waste."),
    ("Streams", "One kind of waste at one site, with its balance and storage-time flags."),
    ("Balances", "Balances summed per stream, per site and per organisation."),
    ("Records", "The append-only waste journal of a stream."),
    ("Lots", "Lots of the exchange: public search and reading; drafts, publication and withdrawal "
             "of the token organisation's lots."),
    ("Bids", "Bids on lots of the exchange: the bids of a lot as its page shows them; placing, "
             "buying at a fixed price and withdrawing for the token organisation (scope "
             "`bids:write`); its own bids."),
    ("Agreements", "The agreement of a deal of the token's organisation (any scope): status, "
                   "current version and its SHA-256, signatures; the PDF."),
    ("Ledger", "The public ledger (no token): entries with inclusion proofs, the latest signed "
               "tree head, consistency proofs."),
)


class QaldyqApi(Api):
    """flask-smorest's Api without its app-wide HTTPException handler.

    That handler would turn every error page of the web interface into JSON; the API's
    blueprint has its own handlers instead (market.api.errors).
    """

    def _register_error_handlers(self):
        pass


def init_api(app: Flask) -> None:
    """Register the API blueprints and serve the OpenAPI document at /api/v1/openapi.json."""
    from market.api.agreements import bp as agreements_bp
    from market.api.bids import bp as bids_bp
    from market.api.ledger import bp as ledger_bp
    from market.api.lots import bp as lots_bp
    from market.api.views import bp
    from market.api.views_tokens import bp as tokens_bp

    for key, value in API_CONFIG.items():
        app.config.setdefault(key, value)
    app.config.setdefault("API_SPEC_OPTIONS", copy.deepcopy(SPEC_OPTIONS))

    api = QaldyqApi(app)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "qdq_…"})

    for name, description in TAGS:
        api.spec.tag({"name": name, "description": description})
    api.register_blueprint(bp)
    api.register_blueprint(lots_bp)
    api.register_blueprint(bids_bp)
    api.register_blueprint(agreements_bp)
    api.register_blueprint(ledger_bp)
    app.register_blueprint(tokens_bp)

    json_for_api_paths(app)
    _api_locale(app)


def _api_locale(app: Flask) -> None:
    """API requests speak the language of Accept-Language (ru by default), nothing else.

    The web pages' selector also looks at ?lang=, the session and the logged-in user; the
    API has no session, and must not start one by remembering ?lang= in a cookie.
    """
    babel = app.extensions["babel"]
    web_selector = babel.locale_selector

    def selector():
        if has_request_context() and is_api_request():
            return (request.accept_languages.best_match(app.config["LANGUAGES"])
                    or app.config["BABEL_DEFAULT_LOCALE"])
        return web_selector() if web_selector else None

    babel.locale_selector = selector
