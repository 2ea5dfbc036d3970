"""自动上报住建部 through a durable outbox.

The outbox row is written in the issuing (or cancelling) transaction, so a rolled-back certificate
is never reported and a committed one always is. A sweep (a 上报住建部 task in the one task lifecycle)
sends due rows in batches of up to 500 (the interface's limit), one Idempotency-Key per batch: until
the platform answers, a batch is re-sent with the same rows under the same key, so an answer lost on the
way back cannot make a second report of any of its records. Failures back off exponentially; after MAX_ATTEMPTS, or when the
ministry refuses the record, the certificate shows 上报失败 with the reason, and a supervisor can
resend it.
"""
import hashlib
import logging
import uuid
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from portal import audit, bulk
from portal.background import queues
from portal.background.lifecycle import start_task, task_run
from portal.background.models import Task
from portal.certificates.models import Certificate, CertificateEvent
from portal.clock import utcnow
from portal.extensions import db
from portal.platform.client import PlatformError, PlatformRequestError
from portal.platform.models import ReportOutbox
from portal.platform.payload import build_accept_record
from portal.platform.service import platform_client

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
CLAIM_SECONDS = 120  # a claimed row whose sweep died is due again after this long (REPORT_CLAIM_SECONDS)
BATCH_SIZE = 500  # records per request: the interface's limit
SWEEP_LIMIT = 10 * BATCH_SIZE  # rows one sweep takes; the next sweep takes the rest
RESENDABLE_STATES = ("failed", "rejected")  # 上报失败, 校验失败: the certificate's report states a resend mends


def snapshot(cert):
    """The certificate as a plain dict for the report record (taken when the report is queued)."""
    values = {column.key: getattr(cert, column.key) for column in Certificate.__table__.columns}
    values["persons"] = [{"type_code": p.type_code, "name": p.name, "id_number": p.id_number,
                          "cert_no": p.cert_no} for p in cert.persons]
    return values


def add_report(cert, operation):
    """Queue a report of the certificate in the caller's transaction."""
    row = ReportOutbox(certificate_id=cert.id, operation=operation, idempotency_key=uuid.uuid4().hex,
                       payload=build_accept_record(snapshot(cert), operation), state="pending",
                       next_attempt_at=utcnow())
    cert.report_state, cert.report_message = "pending", None
    db.session.add(row)
    return row


def add_reports(certificates, operation):
    """Queue reports of many new certificates, given as (id, column values with 'persons'), in one INSERT."""
    now = utcnow()
    rows = [{"certificate_id": certificate_id, "operation": operation, "idempotency_key": uuid.uuid4().hex,
             "payload": build_accept_record(values, operation), "state": "pending", "attempts": 0,
             "next_attempt_at": now, "created_at": now} for certificate_id, values in certificates]
    bulk.insert_rows(ReportOutbox.__table__, rows)


def dispatch():
    """Ask a worker to send what is due (after the caller committed)."""
    try:
        queues.enqueue("jobs.reports.send_due_reports", queue="reports")
    except Exception:  # the sweep will send it later; the outbox row is what makes it durable
        log.exception("could not enqueue the report job; the periodic sweep will send it")


def _backoff(attempts):
    base = current_app.config.get("REPORT_BACKOFF_SECONDS", 30)
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 6 * 3600))


def _due_now(now):
    return sa.or_(sa.and_(ReportOutbox.state == "pending", ReportOutbox.next_attempt_at <= now),
                  sa.and_(ReportOutbox.state == "sending", ReportOutbox.claimed_until < now))


def _claim(row_ids, now):
    """Take the due rows among these for this worker (compare-and-set); a row whose worker died is due again
    after CLAIM_SECONDS. Returns the claimed rows, in id order."""
    claimed = db.session.scalars(
        sa.update(ReportOutbox).where(ReportOutbox.id.in_(list(row_ids)), _due_now(now))
        .values(state="sending",
                claimed_until=now + timedelta(seconds=current_app.config.get("REPORT_CLAIM_SECONDS", CLAIM_SECONDS)),
                attempts=ReportOutbox.attempts + 1)
        .returning(ReportOutbox.id).execution_options(synchronize_session=False)).all()
    db.session.commit()
    return db.session.scalars(sa.select(ReportOutbox).where(ReportOutbox.id.in_(claimed))
                              .order_by(ReportOutbox.id).execution_options(populate_existing=True)).all()


def _new_batch_key(rows):
    """The Idempotency-Key of a new request carrying these rows: a single row's own key, else a fresh one."""
    return rows[0].idempotency_key if len(rows) == 1 else uuid.uuid4().hex


def _mirror(row, message, state=None):
    """Show a report's outcome on its certificate (state None: keep it) unless a later report superseded it.

    The certificate's report columns copy its latest outbox row, so that the lists can show and filter
    thousands of rows without a join; this is the one place that writes them after the row was queued.
    """
    latest = db.session.scalar(db.select(sa.func.max(ReportOutbox.id)).filter_by(certificate_id=row.certificate_id))
    if latest == row.id:
        if state is not None:
            row.certificate.report_state = state
        row.certificate.report_message = message


def _note(row, action, detail):
    db.session.add(CertificateEvent(certificate_id=row.certificate_id, action=action, actor_name="system",
                                    detail=detail))


def send_batch(row_ids, client):
    """Send the due rows among `row_ids` in one request (at most BATCH_SIZE); returns each claimed row's status:
    'delivered', 'failed' or 'retry' (rows another sweep holds are left out).

    The batch's key is stored on its rows before the request goes: until the platform answers, they are sent
    again together under that key, so an answer lost on the way back is replayed, never reported twice; a claim
    of only part of such a batch is given back unsent. A row the answer does not mention leaves its batch and
    is sent again in a new one.
    """
    now = utcnow()
    rows = _claim(row_ids, now)
    if not rows:
        return []
    stored = {row.batch_key for row in rows}
    sent_before = len(stored) == 1 and None not in stored
    key = rows[0].batch_key if sent_before else _new_batch_key(rows)
    if sent_before and _part_of_batch(rows, key):
        return []
    for row in rows:
        row.batch_key = key
    db.session.commit()
    keep_batch, answer, failure = True, None, ""
    try:
        answer = client.report_certificate([row.payload for row in rows], key)
    except PlatformRequestError as exc:  # e.g. 422: the key was used for other rows; form a new batch
        keep_batch, failure = False, exc.message
    except PlatformError as exc:  # no answer: the same rows go again under the same key
        failure = exc.message
    # The rows of a batch are retried together: one retry time and one count of attempts for all of them, so
    # that no sweep ever finds only some of them due (and sends them under the batch's key: 422, a new key,
    # and the records the platform stored under the first key reported a second time).
    attempts = max(row.attempts for row in rows)
    statuses = []
    for row in rows:
        outcome, reason = answer.outcome(row.payload["eCertID"]) if answer else ("unanswered", failure)
        statuses.append(_record_outcome(row, outcome, reason, now, attempts))
        if answer is not None or not keep_batch:  # answered (or refused): the batch is over
            row.batch_key = None
    db.session.commit()
    return statuses


def _part_of_batch(rows, key):
    """Are these claimed rows only part of the batch sent under `key`? Then give them back, due again at once:
    the key's request is sent again only with every row it carried (other content under it is refused)."""
    claimed = [row.id for row in rows]
    others = db.session.scalar(sa.select(sa.func.count(ReportOutbox.id)).where(
        ReportOutbox.batch_key == key, ReportOutbox.id.not_in(claimed),
        ReportOutbox.state.in_(("pending", "sending"))))
    if not others:
        return False
    log.warning("claimed %s rows of report batch %s without its %s others; left for a later sweep",
                len(claimed), key, others)
    db.session.execute(sa.update(ReportOutbox).where(ReportOutbox.id.in_(claimed)).values(
        state="pending", claimed_until=None, attempts=ReportOutbox.attempts - 1, next_attempt_at=utcnow())
        .execution_options(synchronize_session=False))
    db.session.commit()
    return True


def send_one(row_id, client):
    """Send one due outbox row on its own; returns 'delivered', 'failed', 'retry' or None (not ours)."""
    statuses = send_batch([row_id], client)
    return statuses[0] if statuses else None


def _record_outcome(row, outcome, reason, now, attempts):
    """Write one row's outcome (and its certificate's mirror); returns 'delivered', 'failed' or 'retry'. An
    unanswered row is retried at `now` + the backoff of its batch's `attempts`, or fails after MAX_ATTEMPTS."""
    operation = "新发证" if row.operation == "issue" else "注销"
    row.claimed_until = None
    if outcome == "accepted":
        row.state, row.delivered_at, row.last_error = "delivered", utcnow(), None
        row.verdict = "accepted"
        row.verdict_check_at = utcnow() + timedelta(seconds=current_app.config.get("REPORT_VERDICT_POLL_SECONDS", 10))
        _mirror(row, reason or None, "reported")
        _note(row, "reported", f"{operation}信息已上报住建部（已接收，等待归集）" + (f"：{reason}" if reason else ""))
        return "delivered"
    if outcome == "error":
        row.state, row.last_error = "failed", reason
        _mirror(row, f"住建部退回：{reason}", "failed")
        _note(row, "report_failed", f"{operation}信息被住建部退回：{reason}")
        return "failed"
    reason = reason or "平台未确认接收该记录"
    row.last_error = reason
    if attempts >= MAX_ATTEMPTS:
        row.state = "failed"
        _mirror(row, f"已重试 {attempts} 次仍未成功：{reason}", "failed")
        _note(row, "report_failed", f"{operation}信息上报失败（{attempts} 次）：{reason}")
        return "failed"
    row.state, row.next_attempt_at = "pending", now + _backoff(attempts)
    _mirror(row, f"第 {attempts} 次上报未成功：{reason}；系统将自动重试")
    return "retry"


def check_verdict(row_id, client):
    """Ask the ministry for its verdict on a delivered report (归集成功 / 校验失败)."""
    row = db.session.get(ReportOutbox, row_id)
    try:
        verdict = client.certificate_status(row.payload["eCertID"])
    except PlatformError as exc:
        row.verdict_check_at = utcnow() + _backoff(2)
        row.last_error = exc.message
        db.session.commit()
        return None
    if verdict.state == "unknown":
        # The platform has no record of an accepted report: deliver it again (same idempotency key).
        row.state, row.verdict, row.verdict_check_at, row.next_attempt_at = "pending", None, None, utcnow()
        row.last_error = "平台未查到已接收的记录，重新上报"
    elif verdict.state in ("collected", "rejected"):
        row.verdict, row.verdict_check_at = verdict.state, None
        row.verdict_reasons = "；".join(verdict.reasons) or None
        _mirror(row, row.verdict_reasons if verdict.state == "rejected" else None, verdict.state)
        _note(row, "report_" + verdict.state,
              "住建部归集成功" if verdict.state == "collected" else f"住建部校验失败：{row.verdict_reasons or '未说明原因'}")
    else:
        row.verdict_check_at = utcnow() + timedelta(seconds=current_app.config.get("REPORT_VERDICT_POLL_SECONDS", 10))
    db.session.commit()
    return verdict.state


def _due(limit):
    """Ids of the outbox rows due for sending, and of those due for a verdict check."""
    now = utcnow()
    due = db.session.scalars(db.select(ReportOutbox.id).where(_due_now(now))
                             .order_by(ReportOutbox.id).limit(limit)).all()
    verdicts = db.session.scalars(db.select(ReportOutbox.id).where(
        ReportOutbox.state == "delivered", ReportOutbox.verdict == "accepted",
        ReportOutbox.verdict_check_at <= now).order_by(ReportOutbox.id).limit(limit)).all()
    return due, verdicts


def _batches(row_ids):
    """The due rows as request batches: rows of a batch sent before (no answer yet) together again, the
    others in new batches of up to BATCH_SIZE."""
    keyed, fresh = {}, []
    for row_id, key in db.session.execute(sa.select(ReportOutbox.id, ReportOutbox.batch_key).where(
            ReportOutbox.id.in_(list(row_ids))).order_by(ReportOutbox.id)):
        (keyed.setdefault(key, []) if key else fresh).append(row_id)
    return list(keyed.values()) + [fresh[i:i + BATCH_SIZE] for i in range(0, len(fresh), BATCH_SIZE)]


def send_due_reports(client=None, limit=SWEEP_LIMIT):
    """Send every due report and poll due verdicts, as a 上报住建部 task; None (and no task) when nothing is due."""
    if not any(_due(limit)):
        return None
    task = start_task("report", title="上报住建部")
    db.session.commit()
    return run_report_task(task.id, client, limit)


def run_report_task(task_id, client=None, limit=SWEEP_LIMIT):
    """Run a 上报住建部 task: every report due now is sent (in batches), every verdict due is asked for.

    A database or Redis error on one batch or verdict is logged and the sweep goes on with the next: the
    rows it could not record stay due (or claimed until CLAIM_SECONDS), and the next sweep takes them.
    Returns the task.
    """
    with task_run(task_id) as report:
        if report is not None:
            client = client or platform_client()
            due, verdicts = _due(limit)
            report.set_total(len(due))
            retries = errors = 0
            for row_ids in _batches(due):
                try:
                    statuses = send_batch(row_ids, client)
                except Exception:
                    log.exception("report batch of %s rows could not be recorded; the next sweep retries it",
                                  len(row_ids))
                    db.session.rollback()
                    errors += 1
                    continue
                for status in statuses:
                    report.count(status == "delivered")
                    retries += status == "retry"
            for row_id in verdicts:
                try:
                    check_verdict(row_id, client)
                except Exception:
                    log.exception("verdict of report %s could not be recorded", row_id)
                    db.session.rollback()
            notes = [f"{retries} 条暂未成功，将自动重试"] if retries else []
            notes += [f"{errors} 批因数据库或网络故障未完成，将自动重试"] if errors else []
            if notes:
                report.finish(error="；".join(notes))
    return db.session.get(Task, task_id)


def resend(actor, cert):
    """A supervisor re-sends a certificate's failed (上报失败) and rejected (校验失败) reports now.

    Each record is built again from the certificate, so a refusal caused by our mapping is mended by
    fixing the mapping. An unchanged record keeps its idempotency key (a lost answer cannot make a
    second report); a changed one, or one the ministry rejected after accepting it, is a new report.
    """
    rows = db.session.scalars(db.select(ReportOutbox).where(
        ReportOutbox.certificate_id == cert.id,
        sa.or_(ReportOutbox.state == "failed", ReportOutbox.verdict == "rejected"))).all()
    for row in rows:
        try:
            record = build_accept_record(snapshot(cert), row.operation)
        except ValueError:  # the mapping asks for what this certificate lacks: send what was queued
            log.exception("could not rebuild the %s report of %s; re-sending the queued record",
                          row.operation, cert.number)
            record = row.payload
        if record != row.payload or row.verdict == "rejected":
            row.idempotency_key, row.batch_key = uuid.uuid4().hex, None
        row.payload = record
        row.state, row.attempts, row.next_attempt_at, row.last_error = "pending", 0, utcnow(), None
        row.verdict = row.verdict_reasons = row.verdict_check_at = None
    if rows:
        cert.report_state, cert.report_message = "pending", None
        audit.record("certificate.resend_report", actor=actor, target=cert.number)
        db.session.add(CertificateEvent(certificate=cert, action="report_resend", actor_name=actor.username,
                                        detail="重新上报住建部"))
    db.session.commit()
    dispatch()
    return len(rows)
