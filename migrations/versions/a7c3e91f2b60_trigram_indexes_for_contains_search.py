"""trigram indexes for contains-search on 证书编号, 使用单位 and 工程名称; an index on 上报状态

Revision ID: a7c3e91f2b60
Revises: 7e2b9c4d1a65
Create Date: 2026-12-02 02:55:00

On PostgreSQL: pg_trgm GIN indexes (the extension is trusted, so the database owner creates it).
On SQLite the same indexes are plain B-trees the LIKE '%x%' does not use; they keep the schema the same.
"""
from alembic import op


revision = 'a7c3e91f2b60'
down_revision = '7e2b9c4d1a65'
branch_labels = None
depends_on = None

COLUMNS = ("number", "holder_name", "project_name")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        for column in COLUMNS:
            batch_op.create_index(f'ix_certificates_{column}_trgm', [column], unique=False,
                                  postgresql_using='gin', postgresql_ops={column: 'gin_trgm_ops'})
        batch_op.create_index('ix_certificates_report_state', ['report_state'], unique=False)


def downgrade():
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_index('ix_certificates_report_state')
        for column in COLUMNS:
            batch_op.drop_index(f'ix_certificates_{column}_trgm', postgresql_using='gin',
                                postgresql_ops={column: 'gin_trgm_ops'})
