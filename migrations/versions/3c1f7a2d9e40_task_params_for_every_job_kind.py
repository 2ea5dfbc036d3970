"""tasks.params: the job's arguments beyond the task id (a PDF chunk's certificate ids)

Revision ID: 3c1f7a2d9e40
Revises: 9b8f6a4b1c36
Create Date: 2026-12-10 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3c1f7a2d9e40'
down_revision = '9b8f6a4b1c36'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('params', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_column('params')
