"""complaint documents

Revision ID: b8d5f2a7c3e9
Revises: a6c3e8f1b2d4
Create Date: 2026-11-25 15:20:00.000000

"""
from alembic import op
import sqlalchemy as sa

import market.core.types


# revision identifiers, used by Alembic.
revision = 'b8d5f2a7c3e9'
down_revision = 'a6c3e8f1b2d4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('complaint_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('storage_key', sa.String(length=200), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', market.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], name=op.f('fk_complaint_file_complaint_id_complaint')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user.id'], name=op.f('fk_complaint_file_uploaded_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_file')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_complaint_file_storage_key'))
    )
    with op.batch_alter_table('complaint_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_file_complaint_id'), ['complaint_id'], unique=False)


def downgrade():
    with op.batch_alter_table('complaint_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_file_complaint_id'))

    op.drop_table('complaint_file')
