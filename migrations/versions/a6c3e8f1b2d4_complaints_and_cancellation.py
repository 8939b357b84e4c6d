"""complaints and cancellation of registered transfers

Revision ID: a6c3e8f1b2d4
Revises: e4b7c2d9a1f3
Create Date: 2026-11-25 14:55:00.000000

"""
from alembic import op
import sqlalchemy as sa

import market.core.types


# revision identifiers, used by Alembic.
revision = 'a6c3e8f1b2d4'
down_revision = 'e4b7c2d9a1f3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('complaint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('deal_id', sa.Integer(), nullable=False),
    sa.Column('region_kato', sa.String(length=9), nullable=False),
    sa.Column('complainant_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=8), nullable=False),
    sa.Column('subject', sa.String(length=12), nullable=False),
    sa.Column('grounds', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('filed_at', market.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deadline', market.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('official_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', market.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('paused_seconds', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['complainant_id'], ['user.id'],
        name=op.f('fk_complaint_complainant_id_user')),
    sa.ForeignKeyConstraint(['deal_id'], ['deal.id'], name=op.f('fk_complaint_deal_id_deal')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'],
        name=op.f('fk_complaint_decided_by_id_user')),
    sa.ForeignKeyConstraint(['official_id'], ['user.id'], name=op.f('fk_complaint_official_id_user')),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'],
        name=op.f('fk_complaint_organization_id_organization')),
    sa.ForeignKeyConstraint(['region_kato'], ['region.kato'],
        name=op.f('fk_complaint_region_kato_region')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint'))
    )
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_deal_id'), ['deal_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaint_region_kato'), ['region_kato'], unique=False)
        batch_op.create_index('ix_complaint_state_deadline', ['state', 'deadline'], unique=False)


def downgrade():
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_index('ix_complaint_state_deadline')
        batch_op.drop_index(batch_op.f('ix_complaint_region_kato'))
        batch_op.drop_index(batch_op.f('ix_complaint_deal_id'))

    op.drop_table('complaint')
