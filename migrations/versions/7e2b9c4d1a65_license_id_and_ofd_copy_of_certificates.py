"""license id (GB/T 36904) and OFD copy of every certificate

Every certificate gets its 电子证照标识: existing rows get it here, computed from the stored 证书编号 and
the authority's USCC with the LICENSE_TYPE_CODE configured when this migration runs; new ones get it when
they are issued. Identifiers are stored, never recomputed: setting another LICENSE_TYPE_CODE later
changes the identifiers of certificates issued from then on, not of those issued before.

The OFD copy: existing rows start 待生成 (pending); `flask certs ofd-backfill` seals their OFDs.

Revision ID: 7e2b9c4d1a65
Revises: c2d9e4b7a1f0
Create Date: 2026-12-20 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
from flask import current_app

from portal.standard.license_id import LicenseId, serial_for_certificate_number


# revision identifiers, used by Alembic.
revision = '7e2b9c4d1a65'
down_revision = 'c2d9e4b7a1f0'
branch_labels = None
depends_on = None

CHUNK = 5000


def _fill_license_ids():
    connection = op.get_bind()
    certificates = sa.table('certificates', sa.column('id', sa.Integer), sa.column('number', sa.String),
                            sa.column('authority_uscc', sa.String), sa.column('license_id', sa.String))
    type_code = current_app.config["LICENSE_TYPE_CODE"]
    last_id = 0
    while True:
        rows = connection.execute(sa.select(certificates.c.id, certificates.c.number, certificates.c.authority_uscc)
                                  .where(certificates.c.id > last_id).order_by(certificates.c.id).limit(CHUNK)).all()
        if not rows:
            return
        # A stored number or USCC that is not valid stops the migration here, naming the certificate.
        values = [{"row_id": id_, "value": str(LicenseId.build(type_code, uscc, serial_for_certificate_number(number)))}
                  for id_, number, uscc in rows]
        connection.execute(certificates.update().where(certificates.c.id == sa.bindparam("row_id"))
                           .values(license_id=sa.bindparam("value")), values)
        last_id = rows[-1][0]


def upgrade():
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('license_id', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('ofd_state', sa.String(length=16), nullable=False, server_default='pending'))
        batch_op.add_column(sa.Column('ofd_path', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('ofd_error', sa.Text(), nullable=True))
    _fill_license_ids()
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.alter_column('license_id', existing_type=sa.String(length=100), nullable=False)
        batch_op.alter_column('ofd_state', existing_type=sa.String(length=16), server_default=None)
        batch_op.create_index(batch_op.f('ix_certificates_license_id'), ['license_id'], unique=True)


def downgrade():
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificates_license_id'))
        batch_op.drop_column('ofd_error')
        batch_op.drop_column('ofd_path')
        batch_op.drop_column('ofd_state')
        batch_op.drop_column('license_id')
