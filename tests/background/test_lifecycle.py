"""The one task lifecycle: claim once, count, record done or failed; resume any kind whose worker died."""
import errno
from datetime import timedelta

import pytest
import redis
import sqlalchemy as sa

from portal.auth.models import User
from portal.background import lifecycle, queues
from portal.background.lifecycle import enqueue_task, resume_stale_tasks, start_task, task_run
from portal.background.models import Task
from portal.certificates.documents import queue_seals
from portal.certificates.issuing import IssueOptions, issue_certificate
from portal.certificates.models import Certificate
from portal.clock import travel_to, utcnow
from portal.extensions import db
from portal.platform import reporting
from tests.factories import issuable_certificate, issuable_persons


@pytest.fixture
def app_config(platform_config):
    return platform_config


@pytest.fixture
def clerk(demo):
    return db.session.scalar(db.select(User).filter_by(username="clerk"))


def _task(kind="report", **columns):
    task = start_task(kind, title="测试")
    for key, value in columns.items():
        setattr(task, key, value)
    db.session.commit()
    return task


def _issue(clerk, count):
    """Certificates issued without their PDF (it stays 生成中) and without a report job."""
    return [issue_certificate(clerk, issuable_certificate(n), issuable_persons(),
                              options=IssueOptions(seal_now=False, enqueue_seal=False, dispatch=False))
            for n in range(1, count + 1)]


def _reload(task_id):
    db.session.expire_all()
    return db.session.get(Task, task_id)


def _as_if_its_worker_died(task_id):
    task = db.session.get(Task, task_id)
    task.state, task.heartbeat_at = "running", utcnow() - timedelta(minutes=30)
    db.session.commit()


def test_a_task_is_run_once_and_counts_what_its_job_reports(app):
    task = _task()
    with task_run(task.id) as report:
        report.set_total(3)
        with task_run(task.id) as second:  # the same job delivered again while the first runs
            assert second is None
        for ok in (True, False, True):
            report.count(ok)
        report.finish(error="一条说明")
    task = _reload(task.id)
    assert (task.state, task.total, task.done, task.succeeded, task.failed) == ("done", 3, 3, 2, 1)
    assert task.error == "一条说明" and task.started_at <= task.finished_at
    with task_run(task.id) as again:  # a finished task delivered again is left alone
        assert again is None


def test_a_job_that_raises_is_recorded_failed_with_the_reason_and_the_exception_goes_no_further(app):
    task = _task()
    with task_run(task.id) as report:
        report.count(True)
        report.commit()
        raise OSError("磁盘已满")
    task = _reload(task.id)
    assert task.state == "failed" and "OSError：磁盘已满" in task.error and "上报任务意外中止" in task.error
    assert task.finished_at and task.done == 1


def _database_gone():
    return sa.exc.OperationalError("UPDATE tasks", {}, Exception("server closed the connection unexpectedly"))


def _fail_once(task_id, exc):
    with task_run(task_id, force=True) as report:
        report.count(True)
        report.commit()
        raise exc


def test_a_run_cut_by_the_database_waits_to_retry_then_is_run_again_after_its_backoff(app, monkeypatch):
    app.config["TASK_RETRY_SECONDS"] = 30
    enqueued = []
    monkeypatch.setattr(queues, "enqueue", lambda *args, **kwargs: enqueued.append(kwargs["job_id"]))
    task = _task()
    _fail_once(task.id, _database_gone())
    task = _reload(task.id)
    assert (task.state, task.state_name, task.attempts, task.finished_at) == ("retry", "等待重试", 1, None)
    assert "OperationalError" in task.error and "约 30 秒后自动重试" in task.error and task.is_active
    assert 29 <= (task.retry_at - utcnow()).total_seconds() <= 30
    assert resume_stale_tasks() == []  # its backoff has not passed
    with travel_to(task.retry_at + timedelta(seconds=1)):
        assert resume_stale_tasks() == [task.id] and resume_stale_tasks() == []  # queued once
    task = _reload(task.id)
    assert (task.state, task.retry_at) == ("queued", None) and enqueued == [task.job_id]
    with task_run(task.id) as report:  # the database is back: the run ends done, its attempt kept on the row
        report.count(True)
    task = _reload(task.id)
    assert (task.state, task.done, task.error, task.attempts) == ("done", 1, None, 1)


def test_the_backoff_doubles_and_after_the_last_attempt_the_task_fails_for_good(app, monkeypatch):
    app.config["TASK_RETRY_SECONDS"] = 10
    monkeypatch.setattr(queues, "enqueue", lambda *args, **kwargs: None)
    task = _task()
    delays = []
    for attempt in range(1, lifecycle.TASK_MAX_ATTEMPTS):
        _fail_once(task.id, redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379"))
        task = _reload(task.id)
        assert (task.state, task.attempts) == ("retry", attempt)
        delays.append(round((task.retry_at - utcnow()).total_seconds()))
    assert delays == [10, 20, 40, 80]
    _fail_once(task.id, OSError(errno.ENOSPC, "No space left on device"))
    task = _reload(task.id)
    assert (task.state, task.attempts, task.retry_at) == ("failed", lifecycle.TASK_MAX_ATTEMPTS, None)
    assert "上报任务意外中止" in task.error and f"中断 {lifecycle.TASK_MAX_ATTEMPTS} 次，不再自动重试" in task.error
    with travel_to(utcnow() + timedelta(days=1)):
        assert resume_stale_tasks() == []


@pytest.mark.parametrize("exc, infrastructure", [
    (_database_gone(), True),
    (sa.exc.InterfaceError("SELECT 1", {}, Exception("connection already closed")), True),
    (redis.exceptions.TimeoutError("Timeout reading from socket"), True),
    (OSError(errno.ENOSPC, "No space left on device"), True),
    (ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), True),
    (RuntimeError("commit failed"), False),
    (ValueError("不是有效的 Excel 文件"), False),
    (FileNotFoundError(errno.ENOENT, "No such file", "imports/x.zip"), False),  # the upload is gone for good
    (sa.exc.IntegrityError("INSERT", {}, Exception("duplicate key")), False),
    (OSError("cannot identify image file"), False),  # PIL's UnidentifiedImageError: the input
])
def test_which_failures_are_the_infrastructures(exc, infrastructure):
    assert lifecycle.is_infrastructure_failure(exc) is infrastructure


def test_a_failure_raised_while_handling_a_lost_connection_counts_as_the_infrastructures():
    try:
        try:
            raise _database_gone()
        except sa.exc.OperationalError:
            raise RuntimeError("rollback failed")
    except RuntimeError as exc:
        assert lifecycle.is_infrastructure_failure(exc)


def test_a_run_failed_by_its_input_stays_failed_and_is_never_resumed(app, monkeypatch):
    monkeypatch.setattr(queues, "enqueue", lambda *args, **kwargs: None)
    task = _task()
    _fail_once(task.id, ValueError("第 3 行格式错误"))
    task = _reload(task.id)
    assert (task.state, task.attempts, task.retry_at) == ("failed", 0, None) and "ValueError" in task.error
    with travel_to(utcnow() + timedelta(days=1)):
        assert resume_stale_tasks() == []


def test_a_failure_that_cannot_be_recorded_leaves_the_task_to_be_resumed_as_a_dead_workers(app, monkeypatch):
    monkeypatch.setattr(queues, "enqueue", lambda *args, **kwargs: None)
    task = _task()
    with monkeypatch.context() as patched:
        with task_run(task.id) as report:
            assert report is not None  # claimed: now the database goes, before the failure can be written
            patched.setattr(db.session, "commit", lambda: (_ for _ in ()).throw(_database_gone()))
            raise _database_gone()
    task = _reload(task.id)
    assert task.state == "running" and task.state_name == "执行中"  # the heartbeat is still fresh
    with travel_to(utcnow() + timedelta(minutes=5)):
        assert _reload(task.id).state_name == "执行中断，等待恢复"  # never 执行中 forever
        assert resume_stale_tasks() == [task.id]


def test_a_report_sweep_carries_on_past_a_database_error_and_says_so(clerk, platform_sim, monkeypatch):
    _issue(clerk, 1)
    real_send_batch = reporting.send_batch

    def broken(row_ids, client):
        raise ConnectionResetError("数据库连接中断")
    monkeypatch.setattr(reporting, "send_batch", broken)
    task = reporting.send_due_reports()
    assert task.kind == "report" and task.state == "done" and "1 批因数据库或网络故障未完成" in task.error
    monkeypatch.setattr(reporting, "send_batch", real_send_batch)
    task = reporting.send_due_reports()  # the row stayed due: the next sweep delivers it
    assert task.state == "done" and task.succeeded == 1 and len(platform_sim.reports()["reports"]) == 1


def test_resume_runs_again_a_report_sweep_whose_worker_died(clerk, platform_sim):
    [cert] = _issue(clerk, 1)
    task = _task("report")
    _as_if_its_worker_died(task.id)
    assert resume_stale_tasks() == [task.id]  # RQ_ASYNC=False: the job runs inside the resume
    task = _reload(task.id)
    assert (task.state, task.done, task.succeeded) == ("done", 1, 1)
    assert db.session.get(Certificate, cert.id).report_state == "reported"


def test_resume_runs_again_a_pdf_chunk_whose_worker_died(clerk, monkeypatch):
    certs = _issue(clerk, 2)
    monkeypatch.setattr(queues, "enqueue", lambda *args, **kwargs: None)  # the worker never takes it …
    queue_seals([c.id for c in certs])
    [task] = db.session.scalars(db.select(Task).filter_by(kind="pdf")).all()
    assert task.params == {"certificate_ids": [c.id for c in certs]} and task.state == "queued"
    _as_if_its_worker_died(task.id)  # … or takes it and dies
    monkeypatch.undo()
    assert resume_stale_tasks() == [task.id]
    task = _reload(task.id)
    assert (task.state, task.total, task.succeeded) == ("done", 2, 2)
    assert {db.session.get(Certificate, c.id).pdf_state for c in certs} == {"signed"}


def test_a_dead_task_that_rqs_retry_claimed_again_is_not_queued_a_second_time(app, monkeypatch):
    # A SIGKILLed import is retried by RQ (Retry on the abandoned job) and by the reconciler: if the retry
    # claims the task between the reconciler's read and its compare-and-set, the reconciler leaves it.
    task = _task("report")
    _as_if_its_worker_died(task.id)
    monkeypatch.setattr(lifecycle, "enqueue_task", lambda task: task)  # queued, not run (RQ_ASYNC=False)

    def claimed_meanwhile(*args):
        assert lifecycle._claim(task.id, force=False)  # RQ's retry of the dead job takes the task now …
        return requeue(*args)
    requeue = lifecycle._requeue
    monkeypatch.setattr(lifecycle, "_requeue", claimed_meanwhile)
    assert resume_stale_tasks() == []  # … so the reconciler, which read it stale, does not queue it again
    task = _reload(task.id)
    assert task.state == "running" and task.heartbeat_at is not None


def test_a_live_task_and_a_queued_one_still_waiting_for_a_worker_are_left_alone(app, monkeypatch):
    monkeypatch.setattr(queues, "get_queue", lambda name="default": queues.rq.Queue(
        name, connection=queues.connection()))  # an asynchronous queue, as in production: a job waits in it
    long_ago = utcnow() - timedelta(minutes=30)
    live = _task(state="running", heartbeat_at=utcnow(), created_at=long_ago)
    waiting = enqueue_task(_task(created_at=long_ago))
    lost = _task(created_at=long_ago)  # committed, but its job never reached Redis
    assert resume_stale_tasks() == [lost.id]
    assert _reload(live.id).state == "running" and _reload(waiting.id).state == "queued"


def test_pdf_chunks_are_not_listed_in_task_management(clerk, login_as, monkeypatch):
    monkeypatch.setattr(queues, "enqueue", lambda *args, **kwargs: None)
    queue_seals([c.id for c in _issue(clerk, 1)])
    page = login_as("admin").get("/tasks/").get_data(as_text=True)
    assert "没有符合条件的任务" in page and "共 0 条" in page
