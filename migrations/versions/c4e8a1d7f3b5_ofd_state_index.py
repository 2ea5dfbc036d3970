"""index on certificates.ofd_state: the reconciler finds the OFD copies still to be made among many

Revision ID: c4e8a1d7f3b5
Revises: b5d1e8f3a9c2
Create Date: 2026-12-02 07:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c4e8a1d7f3b5'
down_revision = 'b5d1e8f3a9c2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.create_index('ix_certificates_ofd_state', ['ofd_state'], unique=False)


def downgrade():
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_index('ix_certificates_ofd_state')
