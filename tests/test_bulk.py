"""bulk.insert_rows: what COPY (PostgreSQL) or executemany stores is exactly what was given."""
from datetime import date

import sqlalchemy as sa

from portal import bulk
from portal.extensions import db


def test_every_value_is_stored_as_given_control_characters_json_dates_and_nulls_included(app):
    table = sa.Table("bulk_probe", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("text", sa.Text), sa.Column("data", sa.JSON), sa.Column("day", sa.Date),
                     sa.Column("flag", sa.Boolean))
    rows = [{"id": 1, "text": "制表\t换行\n回车\r反斜杠\\N 结束", "data": {"名称": "a\tb", "n": [1, None]},
             "day": date(2025, 6, 1), "flag": True},
            {"id": 2, "text": "山西测试建筑工程有限公司", "data": None, "day": None, "flag": False},
            {"id": 3, "text": None, "data": [], "day": date(2026, 1, 31), "flag": None}]
    table.create(db.session.connection())
    try:
        bulk.insert_rows(table, rows)
        stored = [dict(r._mapping) for r in db.session.execute(sa.select(table).order_by(table.c.id))]
        assert stored == rows
    finally:
        db.session.rollback()
        table.drop(db.engine, checkfirst=True)


def test_rows_inserted_with_new_ids_get_distinct_ids_in_their_order(app):
    table = sa.Table("bulk_probe_ids", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("text", sa.Text), sa.Column("day", sa.Date))
    table.create(db.session.connection())
    try:
        rows = [{"text": f"第{n}行", "day": date(2026, 1, n)} for n in range(1, 6)]
        ids = bulk.insert_rows_returning_ids(table, rows)
        ids += bulk.insert_rows_returning_ids(table, rows[:2])
        assert len(set(ids)) == 7
        stored = {r.id: (r.text, r.day) for r in db.session.execute(sa.select(table))}
        assert [stored[i] for i in ids] == [(r["text"], r["day"]) for r in rows + rows[:2]]
    finally:
        db.session.rollback()
        table.drop(db.engine, checkfirst=True)


def test_columns_left_out_get_their_python_defaults_as_an_insert_would_give(app):
    table = sa.Table("bulk_probe_defaults", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("state", sa.String(16), nullable=False, default="pending"),
                     sa.Column("made", sa.Text, nullable=False, default=lambda: "由默认值生成"),
                     sa.Column("text", sa.Text))
    table.create(db.session.connection())
    try:
        bulk.insert_rows(table, [{"id": 101, "text": "a"}, {"id": 102, "text": "b"}])  # beside the sequence's
        bulk.insert_rows_returning_ids(table, [{"text": "c", "state": "signed"}])
        stored = [tuple(r) for r in db.session.execute(sa.select(table.c.state, table.c.made, table.c.text)
                                                       .order_by(table.c.text))]
        assert stored == [("pending", "由默认值生成", "a"), ("pending", "由默认值生成", "b"),
                          ("signed", "由默认值生成", "c")]
    finally:
        db.session.rollback()
        table.drop(db.engine, checkfirst=True)
