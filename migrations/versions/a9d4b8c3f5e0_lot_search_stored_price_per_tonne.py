"""lot search: stored price per tonne

Revision ID: a9d4b8c3f5e0
Revises: c4d1a7e9b2f3
Create Date: 2026-11-25 13:40:00.000000

``lot.price_per_t``: the price per tonne whatever the lot's basis, a generated column (STORED
on PostgreSQL, which rewrites the table once; VIRTUAL on SQLite, which cannot add a stored
one), and two indexes for the price sort and price filters (partial on PostgreSQL: published
lots only). Before, every price sort computed a CASE per matching row and read them all.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a9d4b8c3f5e0'
down_revision = 'c4d1a7e9b2f3'
branch_labels = None
depends_on = None

PRICE_PER_T = ("CAST(CASE WHEN price_basis = 'per_lot' THEN price / quantity ELSE price END"
               " AS BIGINT)")
PUBLISHED = sa.text("state = 'published'")


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("SET LOCAL maintenance_work_mem = '512MB'")
    op.add_column('lot', sa.Column('price_per_t', sa.BigInteger(),
                                   sa.Computed(PRICE_PER_T, persisted=postgres), nullable=True))
    op.create_index('ix_lot_price', 'lot', ['price_per_t'], unique=False,
                    postgresql_where=PUBLISHED)
    op.create_index('ix_lot_region_price', 'lot', ['region_kato', 'price_per_t'], unique=False,
                    postgresql_where=PUBLISHED)


def downgrade():
    op.drop_index('ix_lot_region_price', table_name='lot')
    op.drop_index('ix_lot_price', table_name='lot')
    with op.batch_alter_table('lot') as batch_op:
        batch_op.drop_column('price_per_t')
