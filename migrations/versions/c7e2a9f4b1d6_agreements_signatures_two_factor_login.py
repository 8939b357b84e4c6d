"""agreements, signatures, two-factor login

Revision ID: c7e2a9f4b1d6
Revises: f8c3a7b2e4d9
Create Date: 2026-11-25 14:05:00.000000

"""
from alembic import op
import sqlalchemy as sa

import market.core.types


# revision identifiers, used by Alembic.
revision = 'c7e2a9f4b1d6'
down_revision = 'f8c3a7b2e4d9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('user_two_factor',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('secret_encrypted', sa.Text(), nullable=False),
    sa.Column('created_at', market.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', market.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_step', sa.BigInteger(), nullable=True),
    sa.Column('recovery_hashes', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'],
        name=op.f('fk_user_two_factor_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_two_factor')),
    sa.UniqueConstraint('user_id', name=op.f('uq_user_two_factor_user_id'))
    )
    op.create_table('agreement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('deal_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('plan', sa.Text(), nullable=True),
    sa.Column('operation_code', sa.String(length=4), nullable=True),
    sa.Column('created_at', market.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', market.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('signed_at', market.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['deal_id'], ['deal.id'], name=op.f('fk_agreement_deal_id_deal')),
    sa.ForeignKeyConstraint(['operation_code'], ['operation.code'],
        name=op.f('fk_agreement_operation_code_operation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agreement')),
    sa.UniqueConstraint('deal_id', name=op.f('uq_agreement_deal_id'))
    )
    op.create_table('agreement_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=24), nullable=False),
    sa.Column('created_at', market.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreement.id'],
        name=op.f('fk_agreement_version_agreement_id_agreement')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'],
        name=op.f('fk_agreement_version_created_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agreement_version')),
    sa.UniqueConstraint('agreement_id', 'number', name=op.f('uq_agreement_version_agreement_id'))
    )
    with op.batch_alter_table('agreement_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agreement_version_agreement_id'), ['agreement_id'], unique=False)

    op.create_table('agreement_signature',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('party', sa.String(length=8), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('signed_at', market.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreement.id'],
        name=op.f('fk_agreement_signature_agreement_id_agreement')),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'],
        name=op.f('fk_agreement_signature_organization_id_organization')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_agreement_signature_user_id_user')),
    sa.ForeignKeyConstraint(['version_id'], ['agreement_version.id'],
        name=op.f('fk_agreement_signature_version_id_agreement_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agreement_signature')),
    sa.UniqueConstraint('version_id', 'organization_id', name=op.f('uq_agreement_signature_version_id'))
    )
    with op.batch_alter_table('agreement_signature', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agreement_signature_agreement_id'),
                              ['agreement_id'], unique=False)



def downgrade():
    with op.batch_alter_table('agreement_signature', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agreement_signature_agreement_id'))

    op.drop_table('agreement_signature')
    with op.batch_alter_table('agreement_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agreement_version_agreement_id'))

    op.drop_table('agreement_version')
    op.drop_table('agreement')
    op.drop_table('user_two_factor')
