"""ledger entries: the deal they name, indexed (the deal page's timeline)

Revision ID: e4b7c2d9a1f3
Revises: d3f8b1c6e9a2
Create Date: 2026-11-25 14:50:00.000000

``ledger_entry.deal_id``: the top-level ``"deal"`` of the payload, written with the entry (not
part of the leaf, so verification is unchanged). Added by ALTER TABLE on both databases (no
table rebuild: the triggers refusing UPDATE/DELETE stay in place). Rows written before this
revision keep NULL.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e4b7c2d9a1f3'
down_revision = 'd3f8b1c6e9a2'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('ledger_entry', sa.Column('deal_id', sa.BigInteger(), nullable=True))
    op.create_index(op.f('ix_ledger_entry_deal_id'), 'ledger_entry', ['deal_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_ledger_entry_deal_id'), table_name='ledger_entry')
    op.drop_column('ledger_entry', 'deal_id')
