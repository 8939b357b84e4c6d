"""Qaldyq: the national registry and marketplace for industrial waste and TMO."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import event
from werkzeug.routing import IntegerConverter

from config import INSTANCE_DIR, Config, config_from_env
from market.extensions import babel, csrf, db, huey, limiter, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent


class BoundedIntConverter(IntegerConverter):
    def __init__(self, url_map, fixed_digits=0, min=None, max=2**31 - 1, signed=False):
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def create_app(config_class: type[Config] | None = None) -> Flask:
    """Build the application: config, extensions, blueprints, CLI commands."""
    config_class = config_class or config_from_env()
    if hasattr(config_class, "check"):
        config_class.check()
    app = Flask(
        __name__,
        instance_path=str(INSTANCE_DIR),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_object(config_class)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    if app.config["PROXY_HOPS"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    _init_database(app)
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)

    from market.core.web import locale_selector, register_web_hooks

    babel.init_app(app, locale_selector=locale_selector)
    huey.immediate = bool(app.config.get("HUEY_IMMEDIATE"))
    register_web_hooks(app)
    # Ids in URLs never exceed PostgreSQL's INTEGER: a larger number is a 404, not a 500.
    app.url_map.converters["int"] = BoundedIntConverter
    _register_blueprints(app)
    _register_cli(app)
    from market.core import pagecache

    pagecache.install(app)  # last: its hook must run before the others
    return app


def _init_database(app: Flask) -> None:
    from market import models  # noqa: F401  (every table known to metadata and Alembic)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), compare_type=True)
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine)


def _configure_sqlite(engine) -> None:
    """Foreign keys on, WAL, a busy timeout; SAVEPOINTs work (pysqlite's own BEGIN is off)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN")


def _register_blueprints(app: Flask) -> None:
    from market.accounts.views_admin import bp as admin_bp
    from market.accounts.views_auth import bp as auth_bp
    from market.accounts.views_licences import bp as licences_bp
    from market.accounts.views_official import bp as official_bp
    from market.accounts.views_orgs import bp as orgs_bp
    from market.accounts.views_twofactor import bp as twofactor_bp
    from market.api.setup import init_api
    from market.auctions.views import bp as auctions_bp
    from market.auctions.views_protocol import bp as auction_protocol_bp
    from market.auctions.views_requests import bp as transfers_bp
    from market.cadastre.views import bp as cadastre_bp
    from market.core.views import bp as main_bp
    from market.deals.views import bp as deals_bp
    from market.deals.views_agreements import bp as agreements_bp
    from market.deals.views_complaints import bp as complaints_bp
    from market.deals.views_review import bp as review_bp
    from market.ledger.views import bp as ledger_bp
    from market.lots.sitemap import bp as sitemap_bp
    from market.lots.views import bp as lots_bp
    from market.lots.views_files import bp as lot_files_bp
    from market.lots.views_reports import bp as offer_reports_bp
    from market.lots.views_saved import bp as saved_bp
    from market.lots.views_wanted import bp as wanted_bp
    from market.refdata.views import bp as refdata_bp
    from market.registry.views import bp as registry_bp
    from market.registry.views_io import bp as registry_io_bp
    from market.registry.views_official import bp as registry_official_bp
    from market.registry.views_passport import bp as passport_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(twofactor_bp)
    app.register_blueprint(orgs_bp)
    app.register_blueprint(official_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(refdata_bp)
    app.register_blueprint(registry_bp)
    app.register_blueprint(registry_official_bp)
    app.register_blueprint(registry_io_bp)
    app.register_blueprint(passport_bp)
    app.register_blueprint(cadastre_bp)
    app.register_blueprint(lots_bp)
    app.register_blueprint(auctions_bp)
    app.register_blueprint(deals_bp)
    app.register_blueprint(agreements_bp)
    app.register_blueprint(review_bp)
    app.register_blueprint(complaints_bp)
    app.register_blueprint(transfers_bp)
    app.register_blueprint(auction_protocol_bp)
    app.register_blueprint(lot_files_bp)
    app.register_blueprint(saved_bp)
    app.register_blueprint(wanted_bp)
    app.register_blueprint(offer_reports_bp)
    app.register_blueprint(sitemap_bp)
    app.register_blueprint(licences_bp)
    app.register_blueprint(ledger_bp)
    init_api(app)
    import market.auctions.bid_notices
    import market.ledger.jobs
    import market.lots.jobs
    import market.registry.jobs  # noqa: F401  (periodic tasks known to web and consumer)
    from market.lots.reservation import install as install_lot_notes

    install_lot_notes()
    from market.deals.operations import install as install_deals

    install_deals()  # auction closing (due time, winner, bid counts) and the award's deal


def _register_cli(app: Flask) -> None:
    from market.accounts.cli import users_cli
    from market.demo.cli import demo_command
    from market.ledger.cli import ledger_cli
    from market.refdata.cli import refdata_cli
    from market.registry.cli import registry_cli

    app.cli.add_command(refdata_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_command)
    app.cli.add_command(registry_cli)
    app.cli.add_command(ledger_cli)
