"""lot search

Revision ID: 85cf7ad9ebbe
Revises: 5524fd305524
Create Date: 2026-11-25 09:11:02.273169

Adds ``lot.search_text`` (see ``market.lots.search``) and the dialect-specific search
structures, created by raw DDL (they are not in the models):

- PostgreSQL: extension pg_trgm; GIN indexes on to_tsvector('russian', search_text),
  to_tsvector('simple', search_text) and a trigram GIN index on search_text.
- SQLite: FTS5 external-content table ``lot_fts`` (content='lot') kept in step by
  AFTER INSERT / UPDATE / DELETE triggers on ``lot``. A future batch migration that
  recreates ``lot`` on SQLite drops these triggers: re-create them there.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '85cf7ad9ebbe'
down_revision = '5524fd305524'
branch_labels = None
depends_on = None

PG_INDEXES = {
    "ix_lot_search_ru": "gin (to_tsvector('russian', search_text))",
    "ix_lot_search_simple": "gin (to_tsvector('simple', search_text))",
    "ix_lot_search_trgm": "gin (search_text gin_trgm_ops)",
}

SQLITE_DDL = (
    "CREATE VIRTUAL TABLE lot_fts USING fts5(search_text, content='lot', content_rowid='id',"
    " tokenize='unicode61')",
    "CREATE TRIGGER lot_fts_ai AFTER INSERT ON lot BEGIN"
    " INSERT INTO lot_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER lot_fts_ad AFTER DELETE ON lot BEGIN"
    " INSERT INTO lot_fts(lot_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);"
    " END",
    "CREATE TRIGGER lot_fts_au AFTER UPDATE OF search_text ON lot BEGIN"
    " INSERT INTO lot_fts(lot_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);"
    " INSERT INTO lot_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
)


def _backfill(bind):
    """search_text of existing lots (a frozen copy of market.lots.search.build_search_text)."""
    rows = bind.execute(sa.text(
        "SELECT lot.id, lot.title, lot.description, lot.waste_code, wc.code, wc.description_en,"
        " wc.description_ru, wc.description_kk FROM lot"
        " LEFT JOIN waste_code wc ON wc.code6 = lot.waste_code")).all()
    for row in rows:
        parts = [row.title, row.description, row.code, row.waste_code, row.description_en,
                 row.description_ru, row.description_kk]
        text = " ".join(p for p in parts if p).lower()
        bind.execute(sa.text("UPDATE lot SET search_text = :t WHERE id = :id"),
                     {"t": text, "id": row.id})


def upgrade():
    with op.batch_alter_table('lot', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_text', sa.Text(), nullable=False,
                                      server_default=''))
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, using in PG_INDEXES.items():
            op.execute(f"CREATE INDEX {name} ON lot USING {using}")
    elif bind.dialect.name == "sqlite":
        for ddl in SQLITE_DDL:
            op.execute(ddl)
    _backfill(bind)
    if bind.dialect.name == "sqlite":
        op.execute("INSERT INTO lot_fts(lot_fts) VALUES ('rebuild')")


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for name in PG_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    elif bind.dialect.name == "sqlite":
        for trigger in ("lot_fts_ai", "lot_fts_ad", "lot_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS lot_fts")
    with op.batch_alter_table('lot', schema=None) as batch_op:
        batch_op.drop_column('search_text')
