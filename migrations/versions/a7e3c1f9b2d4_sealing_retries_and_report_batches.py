"""sealing retries (attempt count, next retry) and report batches (one idempotency key per batch)

Revision ID: a7e3c1f9b2d4
Revises: a7c3e91f2b60
Create Date: 2026-12-02 02:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7e3c1f9b2d4'
down_revision = 'a7c3e91f2b60'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pdf_attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('pdf_retry_at', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_certificates_pdf_state', ['pdf_state'], unique=False)
    with op.batch_alter_table('report_outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('batch_key', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_report_outbox_batch_key'), ['batch_key'], unique=False)


def downgrade():
    with op.batch_alter_table('report_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_outbox_batch_key'))
        batch_op.drop_column('batch_key')
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_index('ix_certificates_pdf_state')
        batch_op.drop_column('pdf_retry_at')
        batch_op.drop_column('pdf_attempts')
