"""R1 serials: per issuing authority per year, 0000001…9999999, never reused.

The counter row is updated first in the issuing transaction: on PostgreSQL the row lock, on SQLite
the database write lock, makes concurrent issuers wait for each other instead of colliding; the
number is taken in the same transaction that stores the certificate, so a rollback gives it back
before anyone could see it, and a cancelled certificate keeps its number forever.

The 电子证照标识 (GB/T 36904) is made from the number when the certificate is issued, and stored.
"""
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from portal.certificates.models import NumberCounter
from portal.extensions import db
from portal.standard.license_id import LicenseId, serial_for_certificate_number

MAX_SERIAL = 9_999_999


class SerialsExhausted(Exception):
    """The authority used every serial of the year."""


def take_serial(authority_id, year, count=1):
    """Reserve the next `count` serials for the authority and year in the current transaction; returns
    the last of them (the block is last - count + 1 … last, consecutive)."""
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    db.session.execute(insert(NumberCounter).values(authority_id=authority_id, year=year, last_serial=0)
                       .on_conflict_do_nothing(index_elements=["authority_id", "year"]))
    serial = db.session.execute(
        sa.update(NumberCounter)
        .where(NumberCounter.authority_id == authority_id, NumberCounter.year == year)
        .values(last_serial=NumberCounter.last_serial + count)
        .returning(NumberCounter.last_serial)
    ).scalar_one()
    if serial > MAX_SERIAL:
        raise SerialsExhausted(f"{year} 年的证书流水号已用完（0000001～9999999）")
    return serial


def license_id_for(authority_uscc, number):
    """The 电子证照标识 of a certificate being issued: 流水号 from its number, version 001, and the
    LICENSE_TYPE_CODE configured now (stored with the certificate, so a later code leaves it alone)."""
    return str(LicenseId.build(current_app.config["LICENSE_TYPE_CODE"], authority_uscc,
                               serial_for_certificate_number(str(number))))
