"""official review of agreements and registration of the transfer

Revision ID: d3f8b1c6e9a2
Revises: c7e2a9f4b1d6
Create Date: 2026-11-25 14:15:00.000000

"""
from alembic import op
import sqlalchemy as sa

import market.core.types


# revision identifiers, used by Alembic.
revision = 'd3f8b1c6e9a2'
down_revision = 'c7e2a9f4b1d6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('deal_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('receiving_site_id', sa.Integer(), nullable=True),
    sa.Column('region_kato', sa.String(length=9), nullable=False),
    sa.Column('submitted_at', market.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.Column('deadline', market.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('rounds', sa.Integer(), nullable=False),
    sa.Column('official_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', market.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('reminded_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['deal_id'], ['deal.id'], name=op.f('fk_review_deal_id_deal')),
    sa.ForeignKeyConstraint(['official_id'], ['user.id'], name=op.f('fk_review_official_id_user')),
    sa.ForeignKeyConstraint(['receiving_site_id'], ['site.id'],
        name=op.f('fk_review_receiving_site_id_site')),
    sa.ForeignKeyConstraint(['region_kato'], ['region.kato'],
        name=op.f('fk_review_region_kato_region')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['user.id'],
        name=op.f('fk_review_submitted_by_id_user')),
    sa.ForeignKeyConstraint(['version_id'], ['agreement_version.id'],
        name=op.f('fk_review_version_id_agreement_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review')),
    sa.UniqueConstraint('deal_id', name=op.f('uq_review_deal_id'))
    )
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.create_index('ix_review_state_deadline', ['state', 'deadline'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_region_kato'), ['region_kato'], unique=False)

    op.create_table('review_step',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=12), nullable=False),
    sa.Column('at', market.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_review_step_actor_id_user')),
    sa.ForeignKeyConstraint(['review_id'], ['review.id'],
        name=op.f('fk_review_step_review_id_review')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_step'))
    )
    with op.batch_alter_table('review_step', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_step_review_id'), ['review_id'], unique=False)


def downgrade():
    with op.batch_alter_table('review_step', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_step_review_id'))

    op.drop_table('review_step')
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_region_kato'))
        batch_op.drop_index('ix_review_state_deadline')

    op.drop_table('review')
