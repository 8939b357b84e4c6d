"""deals: the agreement an award or a fixed-price purchase makes

Revision ID: 3b7d2c9e41a6
Revises: 6aced89a9d40
Create Date: 2026-11-25 12:15:00.000000

"""
from alembic import op
import sqlalchemy as sa

import market.core.types


# revision identifiers, used by Alembic.
revision = '3b7d2c9e41a6'
down_revision = '6aced89a9d40'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('deal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('seller_id', sa.Integer(), nullable=False),
    sa.Column('buyer_id', sa.Integer(), nullable=False),
    sa.Column('bid_id', sa.Integer(), nullable=False),
    sa.Column('unit_price', sa.BigInteger(), nullable=False),
    sa.Column('price_basis', sa.String(length=8), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=18, scale=3), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('delivery', sa.String(length=12), nullable=False),
    sa.Column('waste_code', sa.String(length=6), nullable=True),
    sa.Column('region_kato', sa.String(length=9), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('sign_by', market.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('bid_log_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', market.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('unit_price >= 0', name=op.f('ck_deal_unit_price_not_negative')),
    sa.CheckConstraint('total >= 0', name=op.f('ck_deal_total_not_negative')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_deal_quantity_positive')),
    sa.ForeignKeyConstraint(['lot_id'], ['lot.id'], name=op.f('fk_deal_lot_id_lot')),
    sa.ForeignKeyConstraint(['seller_id'], ['organization.id'], name=op.f('fk_deal_seller_id_organization')),
    sa.ForeignKeyConstraint(['buyer_id'], ['organization.id'], name=op.f('fk_deal_buyer_id_organization')),
    sa.ForeignKeyConstraint(['bid_id'], ['bid.id'], name=op.f('fk_deal_bid_id_bid')),
    sa.ForeignKeyConstraint(['region_kato'], ['region.kato'], name=op.f('fk_deal_region_kato_region')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deal')),
    sa.UniqueConstraint('bid_id', name=op.f('uq_deal_bid_id'))
    )
    with op.batch_alter_table('deal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deal_lot_id'), ['lot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deal_seller_id'), ['seller_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deal_buyer_id'), ['buyer_id'], unique=False)


def downgrade():
    with op.batch_alter_table('deal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deal_buyer_id'))
        batch_op.drop_index(batch_op.f('ix_deal_seller_id'))
        batch_op.drop_index(batch_op.f('ix_deal_lot_id'))

    op.drop_table('deal')
