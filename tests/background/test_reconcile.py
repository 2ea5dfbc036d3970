"""The reconciler and the faults it mends, in one process (SQLite, inline jobs): lost and failed PDFs, dead
tasks, storage that fills up and frees again, database errors inside the sealing job, report batches."""
import errno
import os
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal import storage
from portal.auth.models import User
from portal.background.lifecycle import start_task
from portal.background.models import Task
from portal.background.reconcile import reconcile
from portal.certificates import documents
from portal.certificates.issuing import IssueOptions, issue_certificate
from portal.certificates.models import Certificate
from portal.clock import utcnow
from portal.extensions import db
from portal.platform import reporting
from portal.platform.models import ReportOutbox
from tests.entry.test_wizard import _form
from tests.factories import issuable_certificate, issuable_persons
from tests.imports.helpers import import_zip, post_upload, valid_rows


@pytest.fixture
def app_config(platform_config):
    return platform_config


@pytest.fixture
def clerk(demo):
    return db.session.scalar(db.select(User).filter_by(username="clerk"))


@pytest.fixture
def run(clerk):
    """run(zip bytes) → the finished import Task (RQ_ASYNC=False runs its job inside start_import)."""
    from portal.imports.services import start_import

    def go(data):
        task = start_import(clerk, "导入.zip", data)
        db.session.expire_all()
        return db.session.get(Task, task.id)
    return go


def _issue(clerk, count, first=1):
    """Certificates issued with no PDF job and no report job, as if both were lost with Redis."""
    return [issue_certificate(clerk, issuable_certificate(n), issuable_persons(),
                              options=IssueOptions(seal_now=False, enqueue_seal=False, dispatch=False)).id
            for n in range(first, first + count)]


def _age(ids, minutes=5):
    """As if these certificates were issued `minutes` ago."""
    db.session.execute(db.update(Certificate).where(Certificate.id.in_(ids))
                       .values(created_at=utcnow() - timedelta(minutes=minutes)))
    db.session.commit()


def _pdf_states(ids):
    db.session.expire_all()
    return [db.session.get(Certificate, i).pdf_state for i in ids]


def _disk_full(monkeypatch):
    """storage.write_bytes fails as on a full disk (after creating its temp file, as the real one does)."""
    real = storage.os.fdopen

    def full(fd, mode="r", *args, **kwargs):
        handle = real(fd, mode, *args, **kwargs)
        if "w" in mode:
            def write(_data):
                raise OSError(errno.ENOSPC, "No space left on device")
            handle.write = write
        return handle
    monkeypatch.setattr(storage.os, "fdopen", full)


def _temp_files():
    return [name for _, _, names in os.walk(storage.root()) for name in names if name.startswith(".tmp-")]


def test_lost_pdfs_are_queued_again_once_they_are_overdue_and_in_no_task(clerk):
    ids = _issue(clerk, 3)
    assert reconcile().lost_seals == 0  # just issued: their job may still be on its way
    _age(ids)
    result = reconcile()
    assert result.lost_seals == 3 and not result.errors
    assert _pdf_states(ids) == ["signed"] * 3
    assert reconcile().lost_seals == 0  # idempotent: nothing left to do


def test_pending_pdfs_held_by_a_waiting_task_are_left_to_it(clerk):
    ids = _issue(clerk, 2)
    _age(ids)
    start_task("pdf", title="生成电子证照", total=2, params={"certificate_ids": ids})  # queued, not run here
    db.session.commit()
    assert reconcile().lost_seals == 0 and _pdf_states(ids) == ["pending", "pending"]


def test_a_full_disk_fails_the_pdf_with_a_clear_reason_then_it_is_retried_once_space_returns(clerk, monkeypatch):
    [cert_id] = _issue(clerk, 1)
    _disk_full(monkeypatch)
    assert documents.seal_certificate(cert_id) == "failed"
    cert = db.session.get(Certificate, cert_id)
    assert "存储空间不足" in cert.pdf_error and "系统将自动重试" in cert.pdf_error
    assert cert.pdf_state_name == "签章失败，将自动重试" and cert.pdf_attempts == 1 and cert.pdf_retry_at
    assert _temp_files() == []  # the half-written temp file was removed
    assert reconcile().retried_seals == 0  # backoff not over yet
    monkeypatch.undo()  # space returns
    cert.pdf_retry_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert reconcile().retried_seals == 1
    assert _pdf_states([cert_id]) == ["signed"]
    assert documents.read_signed_pdf(db.session.get(Certificate, cert_id)).startswith(b"%PDF")


def test_after_the_last_attempt_the_pdf_shows_failed_and_an_admin_regenerates_it(clerk, monkeypatch, login_as):
    [cert_id] = _issue(clerk, 1)
    _disk_full(monkeypatch)
    for _ in range(documents.SEAL_MAX_ATTEMPTS):
        db.session.execute(db.update(Certificate).where(Certificate.id == cert_id).values(pdf_state="pending"))
        db.session.commit()
        documents.seal_certificate(cert_id)
    cert = db.session.get(Certificate, cert_id)
    assert cert.pdf_state_name == "生成失败" and cert.pdf_retry_at is None and "重新生成" in cert.pdf_error
    monkeypatch.undo()
    assert reconcile().retried_seals == 0  # no automatic retry any more
    admin = login_as("admin")
    page = admin.get(f"/maintenance/crane/{cert_id}").get_data(as_text=True)
    assert "regenerate-pdf" in page and "存储空间不足" in page
    response = admin.post(f"/maintenance/crane/{cert_id}/regenerate-pdf", data={"csrf_token": _csrf(page)})
    assert response.status_code == 303
    assert _pdf_states([cert_id]) == ["signed"]
    assert admin.post(f"/maintenance/crane/{cert_id}/regenerate-pdf",
                      data={"csrf_token": _csrf(page)}).status_code == 409  # signed: nothing to regenerate


def _csrf(page):
    import re
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_a_database_error_inside_sealing_leaves_the_certificate_pending_and_the_job_alive(clerk, monkeypatch):
    ids = _issue(clerk, 2)
    real_commit, calls = db.session.commit, []

    def flaky_commit():
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionResetError("数据库连接中断")
        return real_commit()
    monkeypatch.setattr(db.session, "commit", flaky_commit)
    assert documents.seal_certificate(ids[0]) == "pending"  # its commit died: not raised, left pending
    assert documents.seal_certificate(ids[1]) == "signed"  # the next certificate of the job goes on
    monkeypatch.undo()
    assert _pdf_states(ids) == ["pending", "signed"]
    _age(ids)
    assert reconcile().lost_seals == 1 and _pdf_states(ids) == ["signed", "signed"]


def test_a_dead_import_is_resumed_by_the_reconciler(clerk, run):
    task = run(import_zip(valid_rows(count=3)))
    task.state, task.heartbeat_at = "running", utcnow() - timedelta(minutes=2)
    db.session.commit()
    assert reconcile().resumed_tasks == [task.id]
    db.session.expire_all()
    task = db.session.get(Task, task.id)
    assert (task.state, task.done, task.succeeded) == ("done", 3, 3)
    assert db.session.scalar(db.select(db.func.count(Certificate.id))) == 3


def test_an_import_cut_by_the_database_waits_to_retry_then_the_reconciler_finishes_it(clerk, run, monkeypatch,
                                                                                      login_as):
    from portal.imports import services
    monkeypatch.setattr(services, "ISSUE_BATCH", 2)
    real_issue_batch, calls = services.issue_batch, []

    def connection_lost_on_the_second_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise sa.exc.OperationalError("INSERT INTO certificates", {}, Exception("connection closed"))
        return real_issue_batch(*args, **kwargs)
    monkeypatch.setattr(services, "issue_batch", connection_lost_on_the_second_batch)
    monkeypatch.setattr(services, "queue_seals", lambda ids: None)  # and the first batch's PDF jobs are lost
    task = run(import_zip(valid_rows(count=5)))
    assert (task.state, task.attempts) == ("retry", 1) and "自动重试" in task.error
    assert db.session.scalar(db.select(db.func.count(Certificate.id))) == 2  # the first batch stays issued
    page = login_as("clerk").get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "等待重试" in page and "自动重试" in page and "执行中" not in page
    monkeypatch.setattr(services, "queue_seals", documents.queue_seals)
    task.retry_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert reconcile().resumed_tasks == [task.id]
    db.session.expire_all()
    task = db.session.get(Task, task.id)
    assert (task.state, task.done, task.succeeded, task.failed, task.error) == ("done", 5, 5, 0, None)
    certificates = db.session.scalars(db.select(Certificate).order_by(Certificate.serial)).all()
    assert len({c.import_row_key for c in certificates}) == len(certificates) == 5  # each row issued once
    assert [c.pdf_state for c in certificates] == ["signed"] * 5  # the first batch's, queued by the re-run


def test_a_rerun_import_queues_the_pdfs_of_rows_an_earlier_run_issued(clerk, run, monkeypatch):
    monkeypatch.setattr("portal.imports.services.queue_seals", lambda ids: None)  # the PDF jobs are lost
    task = run(import_zip(valid_rows(count=3)))
    assert set(_pdf_states(db.session.scalars(db.select(Certificate.id)).all())) == {"pending"}
    monkeypatch.undo()
    from portal.imports.services import run_import
    run_import(task.id, force=True)
    ids = db.session.scalars(db.select(Certificate.id)).all()
    assert len(ids) == 3 and _pdf_states(ids) == ["signed"] * 3


def test_a_reconciler_step_that_fails_is_logged_and_the_others_run(clerk, monkeypatch):
    ids = _issue(clerk, 1)
    _age(ids)

    def redis_down():
        raise ConnectionError("Redis 不可用")
    monkeypatch.setattr("portal.background.reconcile.resume_stale_tasks", redis_down)
    result = reconcile()
    assert result.errors == ["tasks"] and result.lost_seals == 1 and "tasks" in result.summary()


def test_a_full_disk_refuses_an_upload_with_a_chinese_message(login_as, monkeypatch):
    client = login_as("clerk")
    _disk_full(monkeypatch)
    response = post_upload(client, import_zip(valid_rows(count=1)))
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "存储空间不足或不可写" in page
    assert _temp_files() == [] and db.session.scalar(db.select(db.func.count(Task.id))) == 0


def test_the_wizard_says_the_certificate_is_issued_when_its_pdf_could_not_be_stored(login_as, monkeypatch):
    client = login_as("clerk")
    _disk_full(monkeypatch)
    response = client.post("/entry/crane/new", data=_form())
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "提交成功" not in page and "证书已发放，电子证照稍后生成" in page and "存储空间不足" in page
    assert "140105T（2025）0000001" in page


def test_reports_go_in_batches_and_a_lost_answer_is_replayed_not_reported_twice(clerk, platform_sim, monkeypatch):
    monkeypatch.setattr(reporting, "BATCH_SIZE", 4)
    ids = _issue(clerk, 6)
    platform_sim.set_mode("lose_answer", times=1, endpoints=["accept"])
    task = reporting.send_due_reports()
    assert task.succeeded == 2 and "4 条暂未成功" in task.error  # the first batch's answer was lost
    rows = db.session.scalars(db.select(ReportOutbox).order_by(ReportOutbox.id)).all()
    assert len({r.batch_key for r in rows[:4]}) == 1 and rows[0].batch_key
    db.session.execute(db.update(ReportOutbox).values(next_attempt_at=utcnow()))
    db.session.commit()
    task = reporting.send_due_reports()
    assert task.succeeded == 4
    stored = platform_sim.reports()
    assert len(stored["reports"]) == 2  # two requests stored; the retry of the first was a replay of it
    assert sorted(stored["counts"]) == sorted(db.session.get(Certificate, i).ecert_id for i in ids)
    assert set(stored["counts"].values()) == {1}  # every certificate reported exactly once
    assert sum(report["replays"] for report in stored["reports"]) == 1


def test_a_batch_whose_answer_was_lost_goes_again_whole_never_in_part_under_its_key(clerk, platform_sim,
                                                                                    monkeypatch):
    # The SIGKILL drill's double reports: a sweep that found only some rows of an unanswered batch due sent
    # them under the batch's key (422: other content), then under a new key — a second report of each.
    monkeypatch.setattr(reporting, "BATCH_SIZE", 4)
    ids = _issue(clerk, 4)
    platform_sim.set_mode("lose_answer", times=1, endpoints=["accept"])
    reporting.send_due_reports()
    rows = db.session.scalars(db.select(ReportOutbox).order_by(ReportOutbox.id)).all()
    assert len({(r.batch_key, r.next_attempt_at, r.attempts) for r in rows}) == 1  # retried together
    db.session.execute(db.update(ReportOutbox).where(ReportOutbox.id.in_([r.id for r in rows[:2]]))
                       .values(next_attempt_at=utcnow()))  # as if a sweep came between their retry times
    db.session.commit()
    reporting.send_due_reports()
    assert platform_sim.reports()["reports"][0]["replays"] == 0  # the part was not sent
    db.session.expire_all()
    assert [r.attempts for r in rows] == [1, 1, 1, 1] and {r.state for r in rows} == {"pending"}
    db.session.execute(db.update(ReportOutbox).values(next_attempt_at=utcnow()))
    db.session.commit()
    task = reporting.send_due_reports()
    assert task.succeeded == 4, task.error
    stored = platform_sim.reports()
    assert len(stored["reports"]) == 1 and stored["reports"][0]["replays"] == 1
    assert sorted(stored["counts"]) == sorted(db.session.get(Certificate, i).ecert_id for i in ids)
    assert set(stored["counts"].values()) == {1}


def test_a_sweep_that_died_after_sending_is_replayed_by_the_next_not_reported_twice(clerk, platform_sim, run,
                                                                                  monkeypatch):
    monkeypatch.setattr(reporting, "dispatch", lambda: None)
    run(import_zip(valid_rows(count=5)))  # the import path queues its reports in one INSERT
    client = reporting.platform_client()

    class DiesAfterSending:
        def report_certificate(self, records, key):
            client.report_certificate(records, key)
            raise SystemExit("the worker was killed before it could record the answer")
    with pytest.raises(SystemExit):
        reporting.send_due_reports(client=DiesAfterSending())
    db.session.rollback()
    db.session.execute(db.update(ReportOutbox).values(claimed_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    task = reporting.send_due_reports()
    assert task.succeeded == 5, task.error
    stored = platform_sim.reports()
    assert len(stored["reports"]) == 1 and stored["reports"][0]["replays"] == 1
    assert set(stored["counts"].values()) == {1}
