"""The schema built by the migrations equals the models; every revision goes down and up."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade

from market import create_app
from market.extensions import db
from tests.conftest import create_database, make_config


@pytest.fixture(scope="module")
def fresh_app():
    url, drop = create_database("migr")
    app = create_app(make_config(url))
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    drop()


def _not_raw_search_ddl(name, type_, parent_names):
    """The search structures made by raw DDL in a migration (see market.lots.search)."""
    if type_ == "table":
        return not (name or "").startswith("lot_fts")
    if type_ == "index":
        return not (name or "").startswith("ix_lot_search_")
    if type_ == "column":
        return name != "search_vector"
    return True


def _diff(app):
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": _not_raw_search_ddl})
        return compare_metadata(ctx, db.metadata)


def _revisions(app):
    script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def test_upgrade_head_equals_models(fresh_app):
    upgrade()
    assert _diff(fresh_app) == []


def test_every_revision_goes_down_and_up(fresh_app):
    upgrade()
    revisions = _revisions(fresh_app)
    assert revisions
    for _rev in reversed(revisions):  # step down one at a time to base
        downgrade(revision="-1")
    with db.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() is None
    for rev in revisions:  # and up again one at a time
        upgrade(revision=rev)
    assert _diff(fresh_app) == []
