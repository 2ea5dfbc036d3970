"""The one lifecycle of a background task. Every job (import, PDF chunk, report sweep) runs its work as

    with task_run(task_id) as report:
        if report is None:          # finished already, or a live worker runs it
            return
        ...                         # the work: report.count(ok) for each unit done

    queued ──claim──▶ running ──the block ends──▶ done
      ▲                  │    ├─the block raises, its input at fault──▶ failed (error: what happened)
      │                  │    └─the block raises, the database/Redis/storage at fault──▶ retry ──┐
      │                  │         (TASK_MAX_ATTEMPTS such runs at most, then failed)             │
      │                  └─ no heartbeat for STALE_MINUTES: its worker died ─┐                    │
      └──────────── resume_stale_tasks() (the reconciler, every minute) ◀────┴── retry_at passed ─┘

* Start: ``start_task(kind, **columns)`` adds a queued Task row with a fresh RQ job id to the caller's
  transaction; once committed, ``enqueue_task(task)`` hands it to its kind's job (``models.KINDS``: the
  job's dotted path and queue), which takes the task id as its only argument.
* Claim: ``task_run`` turns the row to running in one compare-and-set UPDATE, so of two deliveries of a job
  (RQ delivers at least once) one runs and the other gets None; so does a finished task, or one whose
  worker is alive (recent heartbeat). ``force=True`` claims it whatever its state. A claim resets the
  counts: jobs are idempotent, and a re-run counts everything again.
* Heartbeat: while the block runs, a thread writes the task's heartbeat every HEARTBEAT_SECONDS on a
  connection of its own, so a run inside one long step (reading the workbook, a batch of rows) stays alive,
  and a dead worker is seen within STALE_MINUTES (45 s): with the reconciler every minute, a dead import
  runs again within two minutes.
* Progress: ``report.count(ok)`` counts one unit (a row, a certificate, a report). Counts and heartbeat are
  committed every PROGRESS_EVERY_ROWS units or PROGRESS_EVERY_SECONDS, whichever comes first, and then
  ``on_progress(done, total)`` is called. ``report.set_total(n)`` and ``report.commit()`` write at once.
* End: leaving the block records done, with the columns the job gave ``report.finish(...)`` (a result file,
  a note in ``error``). An exception in the block is logged and rolled back; it is not raised again: the
  row is the truth, and the worker takes its next job. When the infrastructure failed
  (``is_infrastructure_failure``: the database connection, Redis, a full or failing disk) the task waits in
  state retry (等待重试) until ``retry_at`` — TASK_RETRY_SECONDS × 2^(attempt−1) — and runs again, at most
  TASK_MAX_ATTEMPTS times in all; any other exception (the input, a bug) is recorded as failed with the
  kind's failure message. If even that record cannot be written (the database is down), the row stays
  running without a heartbeat, and is resumed as a dead worker's.
* Resume: ``resume_stale_tasks()`` (cron, or the embedded ticker) queues again every task whose worker died:
  running without a heartbeat for STALE_MINUTES, or queued that long while RQ holds no waiting job for it;
  and every task in state retry whose ``retry_at`` has passed. A re-run of an import skips the rows issued
  before and queues their missing seals.
"""
import errno
import logging
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import redis
import sqlalchemy as sa
from flask import current_app
from rq import Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry

from portal.background import queues
from portal.background.models import KINDS, Task
from portal.clock import utcnow
from portal.extensions import db

log = logging.getLogger(__name__)

STALE_MINUTES = 0.75  # a running task without a heartbeat for this long lost its worker (TASK_STALE_SECONDS)
HEARTBEAT_SECONDS = 10  # how often a running task's heartbeat thread writes (TASK_HEARTBEAT_SECONDS)
TASK_MAX_ATTEMPTS = 5  # runs of a task cut short by the infrastructure; the last one's failure is final
ENQUEUE_RETRY = (5, 30, 120)  # RQ re-runs a job that raised (e.g. the database was down at its claim)
PROGRESS_EVERY_ROWS = 25  # commit counts + heartbeat at least this often …
PROGRESS_EVERY_SECONDS = 1.0  # … or this often, whichever comes first
_WAITING = {JobStatus.QUEUED, JobStatus.DEFERRED}  # and SCHEDULED, while not overdue (_job_waiting)


def start_task(kind, **columns):
    """A queued task of this kind in the caller's transaction (the caller commits, then enqueue_task)."""
    task = Task(kind=kind, state="queued", job_id=f"{kind}-{uuid.uuid4().hex}", **columns)
    db.session.add(task)
    return task


def enqueue_task(task):
    """Hand a committed task to its kind's job; if Redis refuses, the row stays queued for resume_stale_tasks."""
    kind, task_id = KINDS[task.kind], task.id
    try:
        queues.enqueue(kind.job, task_id, queue=kind.queue, job_id=task.job_id, retry=_enqueue_retry())
    except Exception:  # the row is durable; the queue is not
        log.exception("could not enqueue %s task %s", task.kind, task_id)
    return db.session.get(Task, task_id)


def _enqueue_retry():
    """RQ's retries of a task's job that raised (ENQUEUE_RETRY)."""
    return Retry(max=len(ENQUEUE_RETRY), interval=list(ENQUEUE_RETRY))


def enqueue_tasks(tasks):
    """enqueue_task for many committed tasks: their jobs sent to Redis in one pipeline a queue (an import
    queues a sealing task every 25 certificates). Where the queues run jobs at once (RQ_ASYNC off) or the
    pipeline fails, each is enqueued on its own, as enqueue_task would."""
    by_queue = {}
    for task in tasks:
        by_queue.setdefault(KINDS[task.kind].queue, []).append(task)
    for name, queued in by_queue.items():
        queue = queues.get_queue(name)
        if not queue.is_async or len(queued) == 1:
            for task in queued:
                enqueue_task(task)
            continue
        try:
            queue.enqueue_many([queue.prepare_data(KINDS[task.kind].job, (task.id,), job_id=task.job_id,
                                                   retry=_enqueue_retry()) for task in queued])
        except Exception:  # the rows are durable; the queue is not: one by one, each logged if refused
            log.warning("could not enqueue %s tasks in one pipeline; one by one", len(queued), exc_info=True)
            for task in queued:
                enqueue_task(task)


class TaskReport:
    """What a running job tells its Task row: counts kept here, written at commit points with the heartbeat."""

    def __init__(self, task, on_progress=None):
        self.task = task
        self.task_id, self.total = task.id, task.total
        self.done = self.succeeded = self.failed = 0
        self.on_progress = on_progress
        self._final = {}
        self._since = 0
        self._last = time.monotonic()

    def count(self, ok=True):
        """One unit done, succeeded or not; commits when PROGRESS_EVERY_ROWS or _SECONDS have passed."""
        self.count_many(1 if ok else 0, 0 if ok else 1)

    def count_many(self, succeeded, failed):
        """Units done together (a batch issued in one transaction): at most one commit point for them all."""
        self.done += succeeded + failed
        self.succeeded += succeeded
        self.failed += failed
        self._since += succeeded + failed
        if self._since >= PROGRESS_EVERY_ROWS or time.monotonic() - self._last >= PROGRESS_EVERY_SECONDS:
            self.commit()

    def set_total(self, total):
        """The number of units the job will count, written now."""
        self.total = total
        self._write(total=total)

    def finish(self, **columns):
        """Columns to write with state done (result_path, a note in error)."""
        self._final.update(columns)

    def commit(self, **columns):
        """Write counts, heartbeat and these columns now; then tell on_progress. Returns the row."""
        task = self._write(done=self.done, succeeded=self.succeeded, failed=self.failed,
                           total=max(self.total or 0, self.done), **columns)
        self._since, self._last = 0, time.monotonic()
        if self.on_progress:
            self.on_progress(self.done, task.total)
        return task

    def _record_done(self):
        return self.commit(state="done", finished_at=utcnow(), **self._final)

    def _write(self, **columns):
        task = db.session.get(Task, self.task_id)
        task.heartbeat_at = utcnow()
        for key, value in columns.items():
            setattr(task, key, value)
        db.session.commit()
        return task


def stale_minutes():
    """The configured heartbeat age after which a running task's worker is judged dead."""
    return current_app.config.get("TASK_STALE_SECONDS", STALE_MINUTES * 60) / 60


def _claim(task_id, force):
    """Mark the task running unless it is finished or a live run owns it (compare-and-set on state + heartbeat)."""
    now = utcnow()
    where = [Task.id == task_id]
    if not force:
        stale = now - timedelta(minutes=stale_minutes())
        where.append(sa.or_(Task.state == "queued", sa.and_(
            Task.state == "running", sa.or_(Task.heartbeat_at.is_(None), Task.heartbeat_at < stale))))
    result = db.session.execute(sa.update(Task).where(*where).values(
        state="running", heartbeat_at=now, started_at=sa.func.coalesce(Task.started_at, now), error=None,
        finished_at=None, done=0, succeeded=0, failed=0).execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount == 1


@contextmanager
def task_run(task_id, *, force=False, on_progress=None):
    """Claim the task and yield its TaskReport (None when not claimed); record done or failed at the end."""
    if not _claim(task_id, force):
        task = db.session.get(Task, task_id)
        log.info("task %s not claimed (state %s)", task_id, task.state if task else None)
        yield None
        return
    task = db.session.get(Task, task_id)
    db.session.refresh(task)
    kind = task.kind  # read now: after a failed flush the session cannot load it
    report = TaskReport(task, on_progress)
    heartbeat = _Heartbeat(task_id)
    try:
        yield report
    except Exception as exc:
        log.exception("%s task %s failed", kind, task_id)
        _record_failure(task_id, kind, exc)
    else:
        report._record_done()
    finally:
        heartbeat.stop()


# OSError numbers of a disk or a system out of something for now (not of a file the task was given wrongly).
_TRANSIENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.ESTALE, errno.EAGAIN,
                     errno.EMFILE, errno.ENFILE, errno.ENOMEM}
_INFRASTRUCTURE = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.DisconnectionError,
                   redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                   ConnectionError, TimeoutError)


def is_infrastructure_failure(exc):
    """Did the database connection, Redis or the storage fail (worth running again later), rather than the
    task's input or the code? Looks through the exceptions it was raised from or during."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, _INFRASTRUCTURE) or (isinstance(exc, OSError) and exc.errno in _TRANSIENT_ERRNOS) \
                or getattr(exc, "connection_invalidated", False):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _record_failure(task_id, kind, exc):
    """Record the run's failure: state retry with a backoff when the infrastructure failed and attempts
    remain, else failed. If the database cannot take even this, log it: the row stays running without a
    heartbeat, and resume_stale_tasks takes it as a dead worker's."""
    cause = f"{type(exc).__name__}：{exc}"[:500]
    try:
        db.session.rollback()
        task = db.session.get(Task, task_id)
        infrastructure = is_infrastructure_failure(exc)
        if infrastructure:
            task.attempts = (task.attempts or 0) + 1
        if infrastructure and task.attempts < TASK_MAX_ATTEMPTS:
            delay = current_app.config.get("TASK_RETRY_SECONDS", 30) * 2 ** (task.attempts - 1)
            task.state, task.retry_at, task.heartbeat_at = "retry", utcnow() + timedelta(seconds=delay), None
            task.error = (f"任务因数据库、Redis 或存储暂时不可用而中断（{cause}），约 {delay:.0f} 秒后自动重试"
                          f"（第 {task.attempts} 次中断，最多 {TASK_MAX_ATTEMPTS} 次）；已完成的部分不会重复")
        else:
            task.state, task.finished_at, task.retry_at = "failed", utcnow(), None
            task.error = KINDS[kind].failure.format(error=cause) + (
                f"；已因数据库、Redis 或存储故障中断 {task.attempts} 次，不再自动重试" if infrastructure else "")
        task.error = task.error[:1000]
        db.session.commit()
    except Exception:
        log.exception("the failure of %s task %s could not be recorded; it will be resumed as stale",
                      kind, task_id)
        try:
            db.session.rollback()
        except Exception:
            log.warning("rollback after the failure of task %s failed", task_id, exc_info=True)


class _Heartbeat:
    """Writes a running task's heartbeat every HEARTBEAT_SECONDS from a thread, on a connection of its own;
    a database error is logged and tried again on the next beat."""

    def __init__(self, task_id):
        self.task_id, self.engine, self._stop = task_id, db.engine, threading.Event()
        self.app = current_app._get_current_object()
        # An in-memory SQLite database is one connection shared by every thread: no second writer there.
        if self.engine.url.database not in (None, "", ":memory:"):
            threading.Thread(target=self._beat, name=f"heartbeat-{task_id}", daemon=True).start()

    def _beat(self):
        while not self._stop.wait(self.app.config.get("TASK_HEARTBEAT_SECONDS", HEARTBEAT_SECONDS)):
            try:
                with self.engine.begin() as connection:
                    connection.execute(sa.update(Task).where(Task.id == self.task_id, Task.state == "running")
                                       .values(heartbeat_at=utcnow()))
            except Exception:
                self.app.logger.warning("heartbeat of task %s not written", self.task_id, exc_info=True)

    def stop(self):
        self._stop.set()


def _job_waiting(job_id, stale):
    """Does RQ still hold this job, waiting for a worker? A job RQ retries later (SCHEDULED: after it raised,
    or found abandoned by a killed worker) waits only until it is `stale` (a timedelta) overdue. RQ's scheduler
    enqueues a due job within seconds; but when a crash took the scheduler with its worker, its lock outlives
    it (61 s), and a new worker asks for the lock again only at its maintenance, every 10 minutes."""
    try:
        job = Job.fetch(job_id, connection=queues.connection())
        status = job.get_status()
        if status != JobStatus.SCHEDULED:
            return status in _WAITING
        try:
            due = ScheduledJobRegistry(job.origin, connection=job.connection).get_scheduled_time(job)
        except NoSuchJobError:  # scheduled, yet in no schedule: nothing will enqueue it
            return False
        return due >= datetime.now(timezone.utc) - stale  # RQ's time: the real one, not the business clock's
    except NoSuchJobError:
        return False
    except Exception:  # Redis unreachable: the job may be lost with it; a second delivery is harmless
        log.warning("could not ask Redis about job %s", job_id, exc_info=True)
        return False


def resume_stale_tasks(minutes=None):
    """Queue again every task whose worker died (running, no heartbeat for `minutes`, by default the configured
    TASK_STALE_SECONDS), whose job was lost (queued that long, no waiting RQ job) or whose retry after an
    infrastructure failure is due; returns their ids. Safe: jobs are idempotent."""
    now = utcnow()
    stale = timedelta(minutes=stale_minutes() if minutes is None else minutes)
    limit = now - stale
    candidates = db.session.execute(sa.select(Task.id, Task.kind, Task.state, Task.job_id).where(sa.or_(
        sa.and_(Task.state == "running", _last_sign_of_life() < limit),
        sa.and_(Task.state == "queued", Task.created_at < limit),
        sa.and_(Task.state == "retry", Task.retry_at <= now))).order_by(Task.id)).all()
    resumed = []
    for task_id, kind, state, job_id in candidates:
        if state == "queued" and job_id and _job_waiting(job_id, stale):
            continue  # only waiting for a free worker
        if not _requeue(task_id, kind, state, job_id, limit):
            continue
        task = db.session.get(Task, task_id)
        db.session.refresh(task)
        enqueue_task(task)
        log.info("re-enqueued stale %s task %s", task.kind, task_id)
        resumed.append(task_id)
    return resumed


def _requeue(task_id, kind, state, job_id, limit):
    """Give the task a new job id and state queued if it is still as it was read — a running one still without
    a sign of life since `limit` — (compare-and-set): of two reconcilers at once one re-queues it, and a task
    that RQ's own retry of the dead job claimed again in the meantime (a fresh heartbeat) is not run twice."""
    still_silent = [_last_sign_of_life() < limit] if state == "running" else []  # a claim makes queued running
    taken = db.session.execute(sa.update(Task).where(
        Task.id == task_id, Task.state == state, *still_silent,
        Task.job_id.is_(None) if job_id is None else Task.job_id == job_id)
        .values(state="queued", heartbeat_at=None, retry_at=None, job_id=f"{kind}-{uuid.uuid4().hex}")
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return bool(taken)


def _last_sign_of_life():
    return sa.func.coalesce(Task.heartbeat_at, Task.started_at, Task.created_at)
