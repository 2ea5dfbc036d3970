"""Bulk INSERT of many rows inside the session's transaction: COPY on PostgreSQL, executemany elsewhere.

An import writes 12 personnel rows (and more) per certificate; through INSERT … VALUES that was the
largest cost of an import on PostgreSQL, through COPY it is a small one.
"""
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


def _copy_lines(rows, kinds):
    """Rows (tuples in column order) as COPY text lines joined by tabs (no line ends); ``kinds``: whether each
    column is JSON. Made a column at a time, as most columns are text only: such a column is taken as it is
    and searched once for characters to escape, not each value; a column of integers only is made text at
    once."""
    columns = list(zip(*rows))
    for i, (column, is_json) in enumerate(zip(columns, kinds)):
        types = set(map(type, column))
        if types == {str} and not is_json:
            if _SPECIAL.search("".join(column)):
                columns[i] = [_escaped(value) for value in column]
        elif types == {int} and not is_json:  # ids, positions: nothing to escape
            columns[i] = list(map(str, column))
        else:
            columns[i] = ["\\N" if value is None else _escaped(_text(value, is_json)) for value in column]
    return list(map("\t".join, zip(*columns)))


class PreparedRows:
    """Rows of one table made ready to insert ahead of their transaction — on PostgreSQL already as COPY
    text, the costly part, done on whichever thread has the time — but for the ``late`` columns, whose
    values are known only in the inserting transaction (a serial taken there, a new id) and are handed to
    ``insert``. The rows are dicts with the same keys, none of them ``late``."""

    def __init__(self, table, rows, late=()):
        self.table, self.late = table, tuple(late)
        self._copy = db.engine.dialect.name == "postgresql"
        rows = list(rows)
        self.count = len(rows)
        self._names, self._made = [], []
        if not rows:
            return
        with_defaults = _defaults_adder(table, rows[0], given=self.late)
        self._names = list(with_defaults(rows[0]))
        if not self._copy:
            self._made = [with_defaults(row) for row in rows]
            return
        values = _getter(self._names)
        self._made = _copy_lines([values(with_defaults(row)) for row in rows], _kinds(table, self._names))

    def insert(self, late_values=()):
        """Insert the rows in the current transaction, each with its ``late`` values (a tuple in the order of
        ``late``; one tuple a row)."""
        if self.count:
            self._insert(db.session.connection(), self.late, late_values)

    def insert_returning_ids(self, late_values=()):
        """``insert`` for a table keyed by a sequence-numbered ``id`` left out of the rows; returns the new ids
        in the order of the rows. On PostgreSQL the ids are taken from the sequence in one query and the rows
        written by COPY (INSERT … RETURNING of wide rows cost more than everything else an import stores)."""
        if not self.count:
            return []
        connection = db.session.connection()
        late_values = list(late_values) if self.late else [()] * self.count
        if not self._copy:
            return connection.execute(sa.insert(self.table).returning(self.table.c.id, sort_by_parameter_order=True),
                                      self._rows(self.late, late_values)).scalars().all()
        ids = connection.execute(sa.text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                                         "FROM generate_series(1, :count)"),
                                 {"table": self.table.name, "count": self.count}).scalars().all()
        self._insert(connection, ("id", *self.late), [(id_, *values) for id_, values in zip(ids, late_values)])
        return ids

    def _insert(self, connection, late, late_values):
        if not self._copy:
            connection.execute(sa.insert(self.table), self._rows(late, late_values))
            return
        if not late:
            lines = (line + "\n" for line in self._made)
        else:
            tab = "\t" if self._names else ""
            lines = (f"{line}{tab}{late_line}\n" for line, late_line
                     in zip(self._made, _copy_lines(list(late_values), _kinds(self.table, late))))
        _copy(connection, self.table, self._names + list(late), lines)

    def _rows(self, late, late_values):
        """The rows as dicts with their late values (executemany's parameters, where there is no COPY)."""
        if not late:
            return self._made
        return [dict(row, **dict(zip(late, values))) for row, values in zip(self._made, late_values)]


def _kinds(table, names):
    return [isinstance(table.c[name].type, sa.JSON) for name in names]


def _getter(names):
    return itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)


def _copy(connection, table, names, lines):
    """COPY these text lines (an iterable, read as the server asks for it) into these columns of the table."""
    columns = ", ".join(connection.dialect.identifier_preparer.quote(name) for name in names)
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.copy_expert(f"COPY {table.name} ({columns}) FROM STDIN", _CopySource(lines), size=_COPY_CHUNK)
    finally:
        cursor.close()


class _CopySource:
    """COPY's data as psycopg2 reads it, ``size`` characters or a little more at a time, each line ended (and
    joined to its late values, made text for the whole batch beforehand) only when asked for."""

    def __init__(self, lines):
        self._lines = iter(lines)

    def read(self, size=-1):
        chunk, length = [], 0
        for line in self._lines:
            chunk.append(line)
            length += len(line)
            if 0 <= size <= length:
                break
        return "".join(chunk)


def _defaults_adder(table, row, given=()):
    """A function giving a row (with the keys of ``row``) the Python-side defaults of the columns it leaves
    out, but for those ``given`` later, as an INSERT would apply them (COPY knows only the database's: a
    model's ``default=`` would be written NULL)."""
    missing = [c for c in table.columns if c.name not in row and c.name not in given
               and c.default is not None and (c.default.is_scalar or c.default.is_callable)]
    if not missing:
        return lambda row: row
    scalars = {c.name: c.default.arg for c in missing if c.default.is_scalar}
    callables = [(c.name, c.default.arg) for c in missing if c.default.is_callable]
    return lambda row: dict(scalars, **{name: make(None) for name, make in callables}, **row)


def insert_rows(table, rows):
    """Insert dicts (same keys) into a Table in the current transaction."""
    PreparedRows(table, rows).insert()


def insert_rows_returning_ids(table, rows):
    """Insert dicts (same keys, no ``id``) into a Table keyed by a sequence-numbered ``id``; returns the new
    ids in the order of ``rows`` (see ``PreparedRows.insert_returning_ids``)."""
    return PreparedRows(table, rows).insert_returning_ids()
