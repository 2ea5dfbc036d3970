"""The import task: every rule on every row, valid rows issued all-or-nothing, failures reported, re-runs safe."""
import io
from datetime import timedelta

import openpyxl
import pytest

from portal import storage
from portal.background import lifecycle
from portal.background.lifecycle import resume_stale_tasks
from portal.background.models import Task
from portal.certificates.models import Certificate
from portal.clock import utcnow
from portal.extensions import db
from portal.imports import services
from portal.imports.services import run_import, run_import_now, start_import
from portal.standard.workbook import ImportRefused
from portal.tasks.services import row_errors
from tests.factories import issuable_persons
from tests.imports.helpers import import_zip, mixed_rows, valid_rows
from tests.standard.factories import zip_bytes
from tests.standard.factories import make_uscc


def _certificates():
    return db.session.scalars(db.select(Certificate).order_by(Certificate.id)).all()


def _rules(errors_of_row):
    return {e["rule"] for e in errors_of_row["errors"]}


def test_valid_rows_are_issued_with_consecutive_numbers_and_broken_rows_fail_with_all_their_errors(run):
    task = run(import_zip(mixed_rows()))
    assert (task.state, task.total, task.done, task.succeeded, task.failed) == ("done", 5, 5, 3, 2)
    assert task.started_at and task.finished_at and task.error is None
    certs = _certificates()
    assert [c.number for c in certs] == [f"140105T（2025）000000{n}" for n in (1, 2, 3)]
    assert [(c.import_row_key, c.record_number) for c in certs] == [
        ("2", "晋AA-T00001"), ("4", "晋AA-T00003"), ("6", "晋AA-T00005")]
    assert all(c.import_task_id == task.id and c.pdf_state == "signed" for c in certs)
    errors = {e["row"]: e for e in row_errors(task)}
    assert set(errors) == {"3", "5"}
    assert _rules(errors["3"]) == {"R6", "R10"}
    assert {"R4", "R5", "R8"} <= _rules(errors["5"])
    assert any("人员信息表第" in e["field"] for e in errors["5"]["errors"])  # person errors name the sheet row
    assert task.result_path == f"reports/{task.id}.xlsx" and storage.path_of(task.result_path).exists()


def test_valid_rows_are_stored_by_the_batch_path_without_falling_back_row_by_row(run, caplog):
    # The batch insert falling back to one row at a time still issues every row, only 30× slower: a
    # column the batch path left NULL (a model default COPY does not apply) once did exactly that.
    with caplog.at_level("WARNING", logger="portal.certificates.issuing"):
        task = run(import_zip(valid_rows()))
    assert (task.state, task.succeeded) == ("done", 3)
    assert not [r for r in caplog.records if "row by row" in r.getMessage()]
    assert {c.ofd_state for c in _certificates()} <= {"pending", "signed"}


def test_batches_stored_while_later_ones_are_checked_keep_the_file_order_and_the_counts(run, monkeypatch):
    # On PostgreSQL a writer thread stores each batch while the next ones are checked (up to WRITES_AHEAD
    # waiting); elsewhere they are stored in turn. Either way: serials in the file's order, every row once.
    monkeypatch.setattr(services, "ISSUE_BATCH", 2)
    task = run(import_zip(mixed_rows() + valid_rows(first=20, count=6)))
    assert (task.state, task.total, task.done, task.succeeded, task.failed) == ("done", 11, 11, 9, 2)
    certs = _certificates()
    assert [c.serial for c in certs] == list(range(1, 10))
    rows = [int(c.import_row_key) for c in sorted(certs, key=lambda c: c.serial)]
    assert rows == sorted(rows) and len(set(rows)) == 9
    assert all(c.pdf_state == "signed" for c in certs)


def test_the_fixed_failure_report_imports_cleanly(run):
    task = run(import_zip(mixed_rows()))
    wb = openpyxl.load_workbook(storage.path_of(task.result_path))
    certs, people = wb["证照信息"], wb["人员信息"]
    col = {cell.value.rstrip("*"): cell.column for cell in certs[1]}
    fixes = {"3": {"安装位置": "112.5492,37.8570", "建筑工程施工许可证编号": "140105202501150101"},
             "5": {"使用单位统一社会信用代码": make_uscc("91140105MA0CRAN0X"), "工程项目地址所在区/县级区划代码": "140105"}}
    for row in certs.iter_rows(min_row=2):
        for header, value in fixes[str(row[0].value)].items():
            row[col[header] - 1].value = value
    good_id = issuable_persons()[0]["id_number"]
    for row in people.iter_rows(min_row=2):
        if row[3].value == "140105198501010019":
            row[3].value = good_id
    missing = next(p for p in issuable_persons() if p["type_code"] == "1105")
    people.append([5, "1105", missing["name"], missing["id_number"], "", missing["phone"]])
    out = io.BytesIO()
    wb.save(out)
    again = run(zip_bytes({"导入失败数据.xlsx": out.getvalue()}))
    assert (again.total, again.succeeded, again.failed) == (2, 2, 0), row_errors(again)
    assert again.result_path is None
    assert len(_certificates()) == 5


def test_uploading_the_same_file_again_refuses_every_row_by_r12_and_issues_nothing(run):
    data = import_zip(valid_rows(count=3))
    first = run(data)
    assert (first.succeeded, first.failed) == (3, 0)
    second = run(data)
    assert (second.total, second.succeeded, second.failed) == (3, 0, 3)
    assert all(_rules(e) == {"R12"} for e in row_errors(second))
    assert len(_certificates()) == 3


def test_a_row_repeating_a_record_number_of_an_earlier_row_fails_by_r12(run):
    rows = valid_rows(count=2) + [(9, valid_rows(count=1)[0][1], issuable_persons())]
    task = run(import_zip(rows))
    assert (task.succeeded, task.failed) == (2, 1)
    assert _rules(row_errors(task)[0]) == {"R12"}


def test_running_the_same_task_again_issues_nothing_twice_and_counts_stay_right(run):
    task = run(import_zip(mixed_rows()))
    numbers = [c.number for c in _certificates()]
    assert run_import(task.id).skipped  # a finished task delivered again by RQ is left alone
    result = run_import_now(task.id)  # forced: recounted, nothing issued twice
    assert (result.total, result.succeeded, result.failed) == (5, 3, 2)
    assert [r.certificate_number for r in result.rows] == [numbers[0], None, numbers[1], None, numbers[2]]
    assert [c.number for c in _certificates()] == numbers
    db.session.expire_all()
    task = db.session.get(Task, task.id)
    assert (task.state, task.done, task.succeeded, task.failed) == ("done", 5, 3, 2)


def test_a_task_whose_worker_died_is_resumed_and_finished_without_duplicates(run):
    task = run(import_zip(valid_rows(count=3)))
    # the worker died after one row: its heartbeat is old and the counts are stale
    task.state, task.done, task.succeeded, task.finished_at = "running", 1, 1, None
    task.heartbeat_at = utcnow() - timedelta(minutes=30)
    fresh = Task(kind="import", state="running", heartbeat_at=utcnow(), total=1, operator_id=task.operator_id)
    db.session.add(fresh)
    db.session.commit()
    assert resume_stale_tasks(minutes=10) == [task.id]  # the live one is left alone
    db.session.expire_all()
    task = db.session.get(Task, task.id)
    assert (task.state, task.done, task.succeeded, task.failed) == ("done", 3, 3, 0)
    assert len(_certificates()) == 3


def test_a_row_that_crashes_is_rolled_back_and_the_others_go_on(run, monkeypatch):
    from portal.certificates import issuing
    real = issuing._columns

    def flaky(operator, authority, clean, persons, serial, options):
        if options.import_row_key == "3":
            raise RuntimeError("disk full")
        return real(operator, authority, clean, persons, serial, options)
    monkeypatch.setattr(issuing, "_columns", flaky)
    task = run(import_zip(valid_rows(count=3)))
    assert (task.state, task.succeeded, task.failed) == ("done", 2, 1)
    [error] = row_errors(task)
    assert error["row"] == "3" and error["errors"][0]["rule"] == "SYSTEM" and "RuntimeError" in error["errors"][0]["message"]
    assert [c.import_row_key for c in _certificates()] == ["2", "4"]


def test_an_import_runs_with_rare_garbage_collections_and_gives_the_process_its_thresholds_back(run, monkeypatch):
    import gc
    before, seen = gc.get_threshold(), []
    real = services.open_upload

    def observed(*args):
        seen.append(gc.get_threshold())
        return real(*args)
    monkeypatch.setattr(services, "open_upload", observed)
    assert run(import_zip(valid_rows(count=1))).state == "done"
    assert seen == [services.IMPORT_GC_THRESHOLDS] and gc.get_threshold() == before

    def broken(*_args):
        raise OSError("storage unreachable")
    monkeypatch.setattr(services, "open_upload", broken)  # however the run ends
    assert run(import_zip(valid_rows(count=1))).state == "failed" and gc.get_threshold() == before


def test_a_crash_of_the_whole_task_marks_it_failed_with_the_reason(run, monkeypatch):
    def broken(_data, _sheets=None):
        raise OSError("storage unreachable")
    monkeypatch.setattr(services, "open_upload", broken)  # the upload check passes, the job's read fails
    task = run(import_zip(valid_rows(count=1)))
    assert task.state == "failed" and "storage unreachable" in task.error and task.finished_at


def test_the_worker_takes_the_sheets_read_by_the_upload_check_and_does_not_read_the_workbook_again(
        user, monkeypatch):
    from portal.standard import workbook
    reads = []
    real = workbook.start_in_child
    monkeypatch.setattr(workbook, "start_in_child",
                        lambda *a, **kw: reads.append((a[0].__name__, a[3])) or real(*a, **kw))
    task = start_import(user("clerk"), "导入.zip", import_zip(valid_rows(count=2)), enqueue=False)
    both_sheets = [("_read_sheet", 0), ("_read_sheet", 1)]
    assert reads == both_sheets and storage.path_of(services.sheets_path(task.upload_path)).exists()
    result = run_import(task.id)
    assert (result.state, result.succeeded, reads) == ("done", 2, both_sheets)


def test_an_upload_stored_without_kept_sheets_is_read_again(user):
    task = start_import(user("clerk"), "导入.zip", import_zip(valid_rows(count=2)), enqueue=False)
    storage.path_of(services.sheets_path(task.upload_path)).unlink()  # as an upload stored before they were kept
    assert (run_import(task.id).state, db.session.get(Task, task.id).succeeded) == ("done", 2)


def test_progress_is_committed_while_the_task_runs(run, user, monkeypatch):
    monkeypatch.setattr(lifecycle, "PROGRESS_EVERY_ROWS", 1)
    monkeypatch.setattr(services, "ISSUE_BATCH", 1)  # rows are counted a batch at a time: here one a batch
    seen = []

    def report(done, total):
        row = db.session.execute(db.select(Task.state, Task.done, Task.total, Task.heartbeat_at)
                                 .where(Task.id == task.id)).one()
        seen.append((row.state, row.done, row.total, row.heartbeat_at is not None))
    task = start_import(user("clerk"), "a.zip", import_zip(valid_rows(count=3)), enqueue=False)
    run_import(task.id, report)
    assert seen[:3] == [("running", 1, 3, True), ("running", 2, 3, True), ("running", 3, 3, True)]
    assert seen[-1][0] == "done"


def test_the_task_shares_one_cached_platform_lookup(run, monkeypatch):
    made = []
    real = services.cached_lookup

    def counting(*args, **kwargs):
        lookup = real(*args, **kwargs)
        made.append(lookup)
        return lookup
    monkeypatch.setattr(services, "cached_lookup", counting)
    run(import_zip(valid_rows(count=3)))
    [lookup] = made
    assert lookup.calls == 2 and lookup.hits >= 4  # the 1108 and 1109 people asked once each, then cached


@pytest.mark.parametrize("username,message", [("clerk2", "签章权限"), ("supervisor", "签章权限")])
def test_an_operator_without_signing_right_cannot_start_an_import(user, username, message):
    with pytest.raises(ImportRefused, match=message):
        start_import(user(username), "a.zip", import_zip(valid_rows(count=1)))
    assert db.session.scalar(db.select(db.func.count(Task.id))) == 0


def test_an_upload_with_no_rows_is_refused_and_nothing_is_stored(user, app):
    from tests.imports.helpers import import_zip as build
    with pytest.raises(ImportRefused, match="没有填写任何数据"):
        start_import(user("clerk"), "empty.zip", build([]))
    assert db.session.scalar(db.select(db.func.count(Task.id))) == 0
    assert not (storage.root() / "imports").exists()
