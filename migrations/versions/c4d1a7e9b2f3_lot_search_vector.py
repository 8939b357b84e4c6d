"""lot search: a stored tsvector and a lexicon for typos (PostgreSQL only)

Revision ID: c4d1a7e9b2f3
Revises: 3b7d2c9e41a6
Create Date: 2026-11-25 12:30:00.000000

PostgreSQL only, by raw DDL (not in the models; migrations/env.py leaves them out of
autogenerate), see ``market.lots.search``:

- ``lot.search_vector`` (tsvector): the lower-cased title with weight A in the 'russian' and
  'simple' configurations, then ``search_text`` in both; a BEFORE INSERT / UPDATE trigger
  (``lot_search_vector``) keeps it, and puts its lexemes into ``lot_fts_words``.
- ``ix_lot_search_vector``: GIN on it, partial (published lots: the only ones searched);
  ``ix_lot_search_region``: GIN on (region_kato, search_vector) (extension btree_gin), so
  that a search within a region is one exact bitmap, without testing the vectors row by row.
- ``lot_fts_words``: the distinct lexemes of every lot ever written (words as written and
  Russian stems), with a trigram GIN index: a query word missing from it is corrected to
  its most similar words (typo tolerance).
- The per-row expression indexes of 85cf7ad9ebbe (``ix_lot_search_ru``, ``_simple``,
  ``_trgm``) are dropped: nothing queries them any more. The downgrade re-creates them.

SQLite keeps the FTS5 table of 85cf7ad9ebbe unchanged.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c4d1a7e9b2f3'
down_revision = '3b7d2c9e41a6'
branch_labels = None
depends_on = None

OLD_INDEXES = {
    "ix_lot_search_ru": "gin (to_tsvector('russian', search_text))",
    "ix_lot_search_simple": "gin (to_tsvector('simple', search_text))",
    "ix_lot_search_trgm": "gin (search_text gin_trgm_ops)",
}

VECTOR = (
    "setweight(to_tsvector('russian', replace(lower({row}title), 'ё', 'е')), 'A')"
    " || setweight(to_tsvector('simple', replace(lower({row}title), 'ё', 'е')), 'A')"
    " || to_tsvector('russian', {row}search_text) || to_tsvector('simple', {row}search_text)"
)

TRIGGER_FUNCTION = f"""
CREATE FUNCTION lot_search_vector() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.title IS DISTINCT FROM OLD.title
       OR NEW.search_text IS DISTINCT FROM OLD.search_text OR NEW.search_vector IS NULL THEN
        NEW.search_vector := {VECTOR.format(row="NEW.")};
        INSERT INTO lot_fts_words (word)
            SELECT unnest(tsvector_to_array(NEW.search_vector)) ON CONFLICT DO NOTHING;
    END IF;
    RETURN NEW;
END
$$
"""


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("SET LOCAL maintenance_work_mem = '512MB'")
    for name in OLD_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.execute("ALTER TABLE lot ADD COLUMN search_vector tsvector")
    op.execute(f"UPDATE lot SET search_vector = {VECTOR.format(row='')}")  # noqa: S608 (constant)
    op.execute("CREATE INDEX ix_lot_search_vector ON lot USING gin (search_vector)"
               " WHERE state = 'published'")
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    op.execute("CREATE INDEX ix_lot_search_region ON lot USING gin (region_kato, search_vector)"
               " WHERE state = 'published'")
    op.execute("CREATE TABLE lot_fts_words (word text PRIMARY KEY)")
    op.execute("INSERT INTO lot_fts_words (word)"
               " SELECT word FROM ts_stat('SELECT search_vector FROM lot')")
    op.execute("CREATE INDEX ix_lot_search_words_trgm ON lot_fts_words USING gin (word gin_trgm_ops)")
    op.execute(TRIGGER_FUNCTION)
    op.execute("CREATE TRIGGER lot_search_vector BEFORE INSERT OR UPDATE ON lot"
               " FOR EACH ROW EXECUTE FUNCTION lot_search_vector()")
    op.execute("ANALYZE lot_fts_words")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS lot_search_vector ON lot")
    op.execute("DROP FUNCTION IF EXISTS lot_search_vector()")
    op.execute("DROP TABLE IF EXISTS lot_fts_words")
    op.execute("DROP INDEX IF EXISTS ix_lot_search_region")
    op.execute("DROP INDEX IF EXISTS ix_lot_search_vector")
    op.execute("ALTER TABLE lot DROP COLUMN IF EXISTS search_vector")
    for name, using in OLD_INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON lot USING {using}")
