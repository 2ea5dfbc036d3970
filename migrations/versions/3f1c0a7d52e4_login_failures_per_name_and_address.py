"""login failures counted per user name and source address

Revision ID: 3f1c0a7d52e4
Revises: 3c1f7a2d9e40
Create Date: 2026-12-10 09:00:00.000000

The table only holds short-lived counters, so it is recreated rather than converted.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3f1c0a7d52e4'
down_revision = '3c1f7a2d9e40'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_table('login_failures')
    op.create_table('login_failures',
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.Column('last_attempt_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('username', 'source', name=op.f('pk_login_failures'))
    )


def downgrade():
    op.drop_table('login_failures')
    op.create_table('login_failures',
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.Column('last_failure_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('username', name=op.f('pk_login_failures'))
    )
