"""The schema comes from Alembic: upgrading an empty database gives exactly the models' schema."""
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from portal import create_app
from portal.extensions import db
from tests.conftest import TEST_DATABASE_URL, _test_config


def test_migrations_match_the_models(tmp_path):
    config = _test_config(tmp_path)
    if TEST_DATABASE_URL and TEST_DATABASE_URL.startswith("postgresql"):
        config.SQLALCHEMY_DATABASE_URI = TEST_DATABASE_URL
    else:
        config.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
    app = create_app(config)
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        upgrade()
        with db.engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
        assert diff == [], diff
        downgrade(revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()


def _row(table, **values):
    """Values for every required column of a reflected table (plain fillers), overridden by `values`."""
    import datetime
    fillers = {sa.Integer: 1, sa.Date: datetime.date(2025, 6, 1), sa.DateTime: datetime.datetime(2025, 6, 1),
               sa.JSON: {}, sa.Boolean: False, sa.String: "x", sa.Text: "x"}
    row = {}
    for column in table.columns:
        if column.nullable or column.primary_key or column.server_default is not None:
            continue
        row[column.name] = next(v for t, v in fillers.items() if isinstance(column.type, t))
    row.update(values)
    return row


def test_the_migration_gives_existing_certificates_their_identifier_with_the_configured_type_code(tmp_path):
    from portal.standard.license_id import LicenseId
    config = _test_config(tmp_path, LICENSE_TYPE_CODE="TESTCODE7")
    config.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'older.sqlite3'}"
    app = create_app(config)
    uscc = "11140100MB0000002K"
    numbers = [f"140105T（2025）{n:07d}" for n in (1, 2, 3)]
    with app.app_context():
        upgrade(revision="c2d9e4b7a1f0")  # the schema before the identifier
        meta = sa.MetaData()
        meta.reflect(db.engine, only=["authorities", "certificates"])
        authorities, certificates = meta.tables["authorities"], meta.tables["certificates"]
        with db.engine.begin() as connection:
            connection.execute(authorities.insert().values(_row(authorities, id=1, uscc=uscc, division_code="140100")))
            for n, number in enumerate(numbers, 1):
                connection.execute(certificates.insert().values(_row(
                    certificates, id=n, number=number, serial=n, ecert_id=f"E{n}", verify_token=f"T{n}",
                    authority_id=1, authority_uscc=uscc, pdf_state="signed")))
        upgrade()
        with db.engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT number, license_id, ofd_state FROM certificates ORDER BY id")).all()
        db.engine.dispose()
    assert [(number, state) for number, _, state in rows] == [(number, "pending") for number in numbers]
    for number, license_id, _ in rows:
        parsed = LicenseId.parse(license_id)  # a valid check character, or this raises
        assert (parsed.type_code, parsed.authority_uscc, parsed.version) == ("TESTCODE7", uscc, 1)
        assert parsed.serial == number.replace("（", "").replace("）", "")
