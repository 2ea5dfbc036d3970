"""The reconciler: one pass that brings every piece of background work back on its way, whatever died.

    flask --app wsgi jobs reconcile        production: every minute (systemd timer or cron), on any machine
    jobs.reconcile.reconcile               the embedded ticker enqueues it every 15 s

Each pass, every step on its own (a database or Redis error in one is logged, and the others still run):

1. tasks     every task whose worker died (no heartbeat for STALE_MINUTES), whose RQ job was lost (Redis
             flushed or down) or whose run the database, Redis or storage cut short (state retry, its
             backoff passed) is queued again — imports, PDF chunks and report runs alike;
2. seals     certificates whose PDF is pending for longer than PDF_PENDING_SECONDS (2 min) and that no unfinished 'pdf'
             task holds (the job that had them died with its queue, or was never queued) get new PDF tasks;
   ofds      certificates whose PDF is signed but whose OFD copy is still pending, in no unfinished task, for
             longer than PDF_PENDING_SECONDS (the 'pdf' task died before queuing their 'ofd' task, or it was
             lost; certificates sealed before the OFD existed) get new 'ofd' tasks;
3. retries   certificates whose sealing failed for a transient cause (a full disk, a database hiccup) and
             whose backoff has passed are set pending again and queued (documents.SEAL_MAX_ATTEMPTS);
4. reports   the due reports are sent and due verdicts asked for (the report sweep).

Idempotent by construction: every job it queues is (a signed certificate is skipped, an issued row is never
issued twice, a report keeps its idempotency key), and every change it makes is a compare-and-set. Steps 1–3
run under a PostgreSQL advisory lock, so of several reconcilers started at once (one per machine) one does
them and the others skip to the report sweep, whose rows are claimed one batch at a time.
"""
import logging
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from portal.background.lifecycle import resume_stale_tasks
from portal.certificates.documents import queue_ofd_copies, queue_seals, seals_in_flight
from portal.certificates.models import Certificate
from portal.clock import utcnow
from portal.extensions import db
from portal.platform import reporting

log = logging.getLogger(__name__)

MAX_PER_PASS = 5000  # certificates queued by one pass; the next pass takes the rest
_LOCK_KEY = 0x5EA1_0018  # pg advisory lock of steps 1–3


@dataclass
class Reconciled:
    """What one pass did: ids of re-queued tasks, counts of certificates queued, the report task, errors."""
    resumed_tasks: list = field(default_factory=list)
    lost_seals: int = 0
    lost_ofds: int = 0
    retried_seals: int = 0
    report_task_id: int | None = None
    skipped: bool = False  # another reconciler held the lock
    errors: list = field(default_factory=list)  # names of the steps that failed

    def summary(self):
        text = (f"重新排队任务 {len(self.resumed_tasks)} 个，补排电子证照 {self.lost_seals} 张，"
                f"补排 OFD 电子证照 {self.lost_ofds} 张，"
                f"重试签章 {self.retried_seals} 张，上报任务 {self.report_task_id or '无'}")
        if self.skipped:
            text += "（另一对账进程正在运行，本次只做上报）"
        return text + (f"；出错的步骤：{'、'.join(self.errors)}" if self.errors else "")


def reconcile():
    """One pass of the reconciler (see the module docstring); returns what it did. Never raises."""
    result = Reconciled()
    with _exclusive() as mine:
        if mine:
            _step(result, "tasks", lambda: result.resumed_tasks.extend(resume_stale_tasks()))
            _step(result, "seals", lambda: setattr(result, "lost_seals", queue_lost_seals()))
            _step(result, "ofds", lambda: setattr(result, "lost_ofds", queue_lost_ofds()))
            _step(result, "retries", lambda: setattr(result, "retried_seals", retry_failed_seals()))
        else:
            result.skipped = True
    _step(result, "reports", lambda: setattr(result, "report_task_id", _report_task_id(reporting.send_due_reports())))
    return result


def _step(result, name, run):
    try:
        run()
    except Exception:  # the database or Redis is down: log it, try the next step, and again next minute
        log.exception("reconciler step %s failed", name)
        result.errors.append(name)
        try:
            db.session.rollback()
        except Exception:
            log.exception("rollback after reconciler step %s failed", name)


def _report_task_id(task):
    return task.id if task is not None else None


class _exclusive:
    """A PostgreSQL session advisory lock on a connection of its own (True when taken, or on other databases,
    where the embedded default runs one reconciler); released when the block ends. If the database cannot
    be reached, yields True: the steps then fail one by one, are logged, and the pass goes on."""

    def __enter__(self):
        self.connection = None
        try:
            if db.engine.dialect.name != "postgresql":
                return True
            self.connection = db.engine.connect()
            taken = self.connection.scalar(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": _LOCK_KEY})
            self.connection.commit()
            return bool(taken)
        except Exception:
            log.exception("reconciler could not take its lock")
            self._close()
            return True

    def __exit__(self, *exc):
        if self.connection is not None:
            try:
                self.connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK_KEY})
                self.connection.commit()
            except Exception:  # a dead connection releases its locks anyway
                log.warning("reconciler lock release failed", exc_info=True)
            self._close()
        return False

    def _close(self):
        if self.connection is not None:
            try:
                self.connection.close()
            except Exception:
                pass
            self.connection = None


def queue_lost_seals():
    """Queue PDF tasks for the certificates pending longer than PDF_PENDING_SECONDS that no unfinished task
    holds."""
    return _queue_lost("PDFs", [Certificate.pdf_state == "pending"], ("pdf",), queue_seals)


def retry_failed_seals():
    """Set pending again, and queue, the certificates whose transient sealing failure is due for a retry
    (one UPDATE … RETURNING: a certificate is taken by one reconciler, and queued in the same commit)."""
    due = sa.select(Certificate.id).where(
        Certificate.pdf_state == "failed", Certificate.pdf_retry_at <= utcnow()).order_by(Certificate.id) \
        .limit(MAX_PER_PASS).scalar_subquery()
    ids = db.session.scalars(sa.update(Certificate).where(
        Certificate.id.in_(due), Certificate.pdf_state == "failed").values(
        pdf_state="pending", pdf_retry_at=None).returning(Certificate.id)
        .execution_options(synchronize_session=False)).all()
    if ids:
        queue_seals(sorted(ids))  # commits the UPDATE and the tasks together
    else:
        db.session.rollback()
    return len(ids)


def queue_lost_ofds():
    """Queue 'ofd' tasks for the certificates whose PDF is signed and whose OFD copy is pending, older than
    PDF_PENDING_SECONDS, that no unfinished 'pdf' or 'ofd' task holds."""
    return _queue_lost("OFDs", [Certificate.pdf_state == "signed", Certificate.ofd_state == "pending"],
                       ("pdf", "ofd"), queue_ofd_copies)


def _queue_lost(what, conditions, holding_kinds, queue):
    """Queue (`queue`) the certificates meeting `conditions`, issued longer than PDF_PENDING_SECONDS ago, that
    no unfinished task of `holding_kinds` holds (MAX_PER_PASS at most); returns how many."""
    limit = utcnow() - timedelta(seconds=current_app.config["PDF_PENDING_SECONDS"])
    pending = db.session.scalars(sa.select(Certificate.id).where(*conditions, Certificate.created_at < limit)
                                 .order_by(Certificate.id)).all()
    held = seals_in_flight(holding_kinds) if pending else set()
    lost = [certificate_id for certificate_id in pending if certificate_id not in held][:MAX_PER_PASS]
    if lost:
        log.warning("reconciler: %s certificates waiting in no task; queuing their %s", len(lost), what)
        queue(lost)
    else:
        db.session.rollback()
    return len(lost)
