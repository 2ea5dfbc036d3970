"""Bulk INSERT of many rows inside the session's transaction: COPY on PostgreSQL, executemany elsewhere.

An import writes 12 personnel rows (and more) per certificate; through INSERT … VALUES that was the
largest cost of an import on PostgreSQL, through COPY it is a small one.
"""
import io
import json
import re
from datetime import date, datetime

import sqlalchemy as sa

from portal.extensions import db

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_SPECIAL = re.compile(r"[\\\t\n\r]")  # str.translate is slow on Chinese text: used only when needed


def _escaped(text):
    return text.translate(_ESCAPES) if _SPECIAL.search(text) else text


def _copy_text(value, column):
    if value is None:
        return "\\N"
    if isinstance(column.type, sa.JSON):
        value = json.dumps(value, ensure_ascii=False, default=str)
    elif isinstance(value, bool):
        return "t" if value else "f"
    elif isinstance(value, (date, datetime)):
        value = value.isoformat()
    return _escaped(value if type(value) is str else str(value))


def _copy_line(row, columns):
    """One COPY text line (``columns``: (column, is JSON)); a text value, most of them, takes the short way."""
    fields = []
    for column, is_json in columns:
        value = row[column.name]
        fields.append(_escaped(value) if type(value) is str and not is_json else _copy_text(value, column))
    return "\t".join(fields) + "\n"


def insert_rows(table, rows):
    """Insert dicts (same keys) into a Table in the current transaction."""
    if not rows:
        return
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(sa.insert(table), rows)
        return
    columns = [table.c[name] for name in rows[0]]
    typed = [(c, isinstance(c.type, sa.JSON)) for c in columns]
    buffer = io.StringIO("".join(_copy_line(row, typed) for row in rows))
    names = ", ".join(connection.dialect.identifier_preparer.quote(c.name) for c in columns)
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.copy_expert(f"COPY {table.name} ({names}) FROM STDIN", buffer)
    finally:
        cursor.close()
