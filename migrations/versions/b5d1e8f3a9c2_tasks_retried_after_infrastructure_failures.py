"""tasks retried after an infrastructure failure (attempt count, next retry)

Revision ID: b5d1e8f3a9c2
Revises: a7e3c1f9b2d4
Create Date: 2026-12-02 05:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b5d1e8f3a9c2'
down_revision = 'a7e3c1f9b2d4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('retry_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_column('retry_at')
        batch_op.drop_column('attempts')
