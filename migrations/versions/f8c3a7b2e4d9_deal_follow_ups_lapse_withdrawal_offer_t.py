"""deal follow-ups: lapse, withdrawal, offer to the next-best bidder

Revision ID: f8c3a7b2e4d9
Revises: b1e5c9d4a6f1
Create Date: 2026-11-25 13:40:00.000000

"""
from alembic import op
import sqlalchemy as sa

import market.core.types


# revision identifiers, used by Alembic.
revision = 'f8c3a7b2e4d9'
down_revision = 'b1e5c9d4a6f1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('deal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('updated_at', market.core.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('ended_at', market.core.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('ended_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('end_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('follow_up', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('offered_after_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_deal_state_sign_by', ['state', 'sign_by'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_deal_ended_by_id_user'), 'user', ['ended_by_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_deal_offered_after_id_deal'), 'deal', ['offered_after_id'], ['id'])


def downgrade():
    with op.batch_alter_table('deal', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_deal_offered_after_id_deal'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_deal_ended_by_id_user'), type_='foreignkey')
        batch_op.drop_index('ix_deal_state_sign_by')
        batch_op.drop_column('offered_after_id')
        batch_op.drop_column('follow_up')
        batch_op.drop_column('end_reason')
        batch_op.drop_column('ended_by_id')
        batch_op.drop_column('ended_at')
        batch_op.drop_column('updated_at')
