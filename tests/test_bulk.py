"""bulk.insert_rows: what COPY (PostgreSQL) or executemany stores is exactly what was given."""
from datetime import date

import sqlalchemy as sa

from portal import bulk
from portal.extensions import db


def test_every_value_is_stored_as_given_control_characters_json_dates_and_nulls_included(app):
    table = sa.Table("bulk_probe", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("text", sa.Text), sa.Column("data", sa.JSON), sa.Column("day", sa.Date),
                     sa.Column("flag", sa.Boolean), sa.Column("name", sa.Text))
    # (name: a column of texts only, one of them to escape; text: texts, one to escape, and a null)
    rows = [{"id": 1, "text": "制表\t换行\n回车\r反斜杠\\N 结束", "data": {"名称": "a\tb", "n": [1, None]},
             "day": date(2025, 6, 1), "flag": True, "name": "张三"},
            {"id": 2, "text": "山西测试建筑工程有限公司", "data": None, "day": None, "flag": False, "name": "李\\四\n"},
            {"id": 3, "text": None, "data": [], "day": date(2026, 1, 31), "flag": None, "name": ""}]
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


def test_rows_prepared_ahead_are_stored_with_the_late_values_given_at_insert_time(app):
    """An import prepares its rows (as COPY text on PostgreSQL) before the transaction that knows their
    serials and ids: what is stored is the row with the late values given then, in the row's order."""
    table = sa.Table("bulk_probe_late", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("text", sa.Text), sa.Column("serial", sa.Integer), sa.Column("number", sa.Text),
                     sa.Column("data", sa.JSON), sa.Column("state", sa.String(16), default="pending"))
    table.create(db.session.connection())
    try:
        prepared = bulk.PreparedRows(table, [{"text": "第一行\t制表"}, {"text": None}, {"text": "第三行"}],
                                     late=("serial", "number", "data"))
        late = [(7, "晋A·T·2026·00007", {"证书": "一\n二"}), (8, None, None), (9, "反斜杠\\N", [1])]
        ids = prepared.insert_returning_ids(late)
        bulk.PreparedRows(table, [{"text": "再一行"}], late=("id", "serial")).insert([(max(ids) + 10, 10)])
        stored = [tuple(r) for r in db.session.execute(sa.select(table).order_by(table.c.id))]
        assert stored == [(ids[0], "第一行\t制表", 7, "晋A·T·2026·00007", {"证书": "一\n二"}, "pending"),
                          (ids[1], None, 8, None, None, "pending"),
                          (ids[2], "第三行", 9, "反斜杠\\N", [1], "pending"),
                          (max(ids) + 10, "再一行", 10, None, None, "pending")]
    finally:
        db.session.rollback()
        table.drop(db.engine, checkfirst=True)
