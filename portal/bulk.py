"""Bulk INSERT of many rows inside the session's transaction: COPY on PostgreSQL, executemany elsewhere.

An import writes 12 personnel rows (and more) per certificate; through INSERT … VALUES that was the
largest cost of an import on PostgreSQL, through COPY it is a small one.
"""
import io
import json
from datetime import date, datetime

import sqlalchemy as sa

from portal.extensions import db

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value, column):
    if value is None:
        return "\\N"
    if isinstance(column.type, sa.JSON):
        value = json.dumps(value, ensure_ascii=False, default=str)
    elif isinstance(value, bool):
        return "t" if value else "f"
    elif isinstance(value, (date, datetime)):
        value = value.isoformat()
    return str(value).translate(_ESCAPES)


def insert_rows(table, rows):
    """Insert dicts (same keys) into a Table in the current transaction."""
    if not rows:
        return
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(sa.insert(table), rows)
        return
    columns = [table.c[name] for name in rows[0]]
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(_copy_text(row[c.name], c) for c in columns))
        buffer.write("\n")
    buffer.seek(0)
    names = ", ".join(connection.dialect.identifier_preparer.quote(c.name) for c in columns)
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.copy_expert(f"COPY {table.name} ({names}) FROM STDIN", buffer)
    finally:
        cursor.close()
