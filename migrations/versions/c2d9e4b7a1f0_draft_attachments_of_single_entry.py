"""draft attachments of single entry, per user

Revision ID: c2d9e4b7a1f0
Revises: 3f1c0a7d52e4
Create Date: 2026-12-10 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c2d9e4b7a1f0'
down_revision = '3f1c0a7d52e4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('draft_attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=200), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_draft_attachments_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_draft_attachments'))
    )
    with op.batch_alter_table('draft_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_draft_attachments_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_draft_attachments_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('draft_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_draft_attachments_user_id'))
        batch_op.drop_index(batch_op.f('ix_draft_attachments_created_at'))
    op.drop_table('draft_attachments')
