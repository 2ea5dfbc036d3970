"""Bulk INSERT of many rows inside the session's transaction: COPY on PostgreSQL, executemany elsewhere.

An import writes 12 personnel rows (and more) per certificate; through INSERT … VALUES that was the
largest cost of an import on PostgreSQL, through COPY it is a small one.
"""
import io
import json
import re
from datetime import date, datetime
from operator import itemgetter

import sqlalchemy as sa

from portal.extensions import db

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_SPECIAL = re.compile(r"[\\\t\n\r]")  # str.translate is slow on Chinese text: used only when needed


def _escaped(text):
    return text.translate(_ESCAPES) if _SPECIAL.search(text) else text


def _text(value, is_json):
    """A value as COPY text before escaping (None stays None: it is written as \\N)."""
    if value is None or (type(value) is str and not is_json):
        return value
    if is_json:
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def _copy_line(values, kinds):
    """One COPY text line: ``values`` in column order, ``kinds`` whether each column is JSON. Texts, most
    values, are taken as they are; the line is searched once for characters to escape, not each value."""
    fields = [value if type(value) is str and not is_json else _text(value, is_json)
              for value, is_json in zip(values, kinds)]
    if _SPECIAL.search("".join(filter(None, fields))):
        fields = [None if field is None else _escaped(field) for field in fields]
    if None in fields:
        fields = ["\\N" if field is None else field for field in fields]
    return "\t".join(fields) + "\n"


def insert_rows(table, rows):
    """Insert dicts (same keys) into a Table in the current transaction."""
    if not rows:
        return
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(sa.insert(table), rows)
        return
    rows = _with_defaults(table, rows)
    names = list(rows[0])
    columns = [table.c[name] for name in names]
    kinds = [isinstance(c.type, sa.JSON) for c in columns]
    values = itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
    buffer = io.StringIO("".join([_copy_line(values(row), kinds) for row in rows]))
    names = ", ".join(connection.dialect.identifier_preparer.quote(c.name) for c in columns)
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.copy_expert(f"COPY {table.name} ({names}) FROM STDIN", buffer)
    finally:
        cursor.close()


def _with_defaults(table, rows):
    """The rows with the Python-side defaults of the columns they leave out, as an INSERT would apply them
    (COPY knows only the database's: a model's ``default=`` would be written NULL)."""
    missing = [c for c in table.columns if c.name not in rows[0] and c.default is not None
               and (c.default.is_scalar or c.default.is_callable)]
    if not missing:
        return rows
    scalars = {c.name: c.default.arg for c in missing if c.default.is_scalar}
    callables = [(c.name, c.default.arg) for c in missing if c.default.is_callable]
    return [dict(scalars, **{name: make(None) for name, make in callables}, **row) for row in rows]


def insert_rows_returning_ids(table, rows):
    """Insert dicts (same keys, no ``id``) into a Table keyed by a sequence-numbered ``id``; returns the new
    ids in the order of ``rows``. On PostgreSQL the ids are taken from the sequence in one query and the rows
    written by COPY (INSERT … RETURNING of wide rows cost more than everything else an import stores)."""
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        return connection.execute(sa.insert(table).returning(table.c.id, sort_by_parameter_order=True),
                                  rows).scalars().all()
    ids = connection.execute(sa.text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                                     "FROM generate_series(1, :count)"),
                             {"table": table.name, "count": len(rows)}).scalars().all()
    insert_rows(table, [dict(row, id=id_) for row, id_ in zip(rows, ids)])
    return ids
