"""Bulk INSERT of many rows inside the session's transaction: COPY on PostgreSQL, executemany elsewhere.

An import writes 12 personnel rows (and more) per certificate; through INSERT … VALUES that was the
largest cost of an import on PostgreSQL, through COPY it is a small one.
"""
import itertools
import re
from datetime import date, datetime
from operator import itemgetter

import orjson
import sqlalchemy as sa

from portal.extensions import db

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_SPECIAL = re.compile(r"[\\\t\n\r]")  # str.translate is slow on Chinese text: used only when needed
# COPY's data goes in chunks of this many characters: large enough that few of them wait for the GIL
# (psycopg2's default, 8 KB, made each wait its switch interval with another thread busy), small enough
# that the server stores one while the next is made
_COPY_CHUNK = 512 << 10
# orjson (a tenth of json.dumps's time on the 3.6 KB report records) writing what json.dumps(…, default=str)
# wrote: dates and times through str, keys that are not text as text
_AS_JSON_DUMPS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def _escaped(text):
    return text.translate(_ESCAPES) if _SPECIAL.search(text) else text


def _text(value, is_json):
    """A value as COPY text before escaping (None stays None: it is written as \\N)."""
    if value is None or (type(value) is str and not is_json):
        return value
    if is_json:
        return orjson.dumps(value, default=str, option=_AS_JSON_DUMPS).decode()
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
    """Insert dicts (same keys) into a Table in the current transaction; ``rows`` may be any iterable: on
    PostgreSQL each is made only when COPY asks for the next chunk, while the server stores the chunk before."""
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return
    rows = itertools.chain([first], rows)
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(sa.insert(table), list(rows))
        return
    with_defaults = _defaults_adder(table, first)
    names = list(with_defaults(first))
    columns = [table.c[name] for name in names]
    kinds = [isinstance(c.type, sa.JSON) for c in columns]
    values = itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
    source = _CopySource(_copy_line(values(with_defaults(row)), kinds) for row in rows)
    names = ", ".join(connection.dialect.identifier_preparer.quote(c.name) for c in columns)
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.copy_expert(f"COPY {table.name} ({names}) FROM STDIN", source, size=_COPY_CHUNK)
    finally:
        cursor.close()


class _CopySource:
    """COPY's data as psycopg2 reads it, ``size`` characters or a little more at a time, made line by line
    when asked for: the server stores one chunk while the next is made."""

    def __init__(self, lines):
        self._lines = lines

    def read(self, size=-1):
        chunk, length = [], 0
        for line in self._lines:
            chunk.append(line)
            length += len(line)
            if 0 <= size <= length:
                break
        return "".join(chunk)


def _defaults_adder(table, row):
    """A function giving a row (with the keys of ``row``) the Python-side defaults of the columns it leaves
    out, as an INSERT would apply them (COPY knows only the database's: a model's ``default=`` would be
    written NULL)."""
    missing = [c for c in table.columns if c.name not in row and c.default is not None
               and (c.default.is_scalar or c.default.is_callable)]
    if not missing:
        return lambda row: row
    scalars = {c.name: c.default.arg for c in missing if c.default.is_scalar}
    callables = [(c.name, c.default.arg) for c in missing if c.default.is_callable]
    return lambda row: dict(scalars, **{name: make(None) for name, make in callables}, **row)


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
    insert_rows(table, (dict(row, id=id_) for row, id_ in zip(rows, ids)))
    return ids
