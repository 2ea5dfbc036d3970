"""批量导入: start an import task from an uploaded zip, run it (row by row, all-or-nothing), check a file.

imports/routes (upload) → start_import → jobs.imports.run_import_task → run_import → issuing.issue_certificate.
The task row is the truth: counts, heartbeat, failure report. A re-run (RQ delivers at least once, a dead
worker's task is resumed) never issues a row twice: issuing is idempotent per (task id, row key = 序号).
"""
import io
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app

from portal import audit, storage
from portal.admin.models import utcnow
from portal.certificates.attachments import AttachmentRefused, AttachmentUpload, StoredAttachment, \
    attachment_error, safe_filename, store_attachment
from portal.certificates.issuing import NO_SIGNING_RIGHT, BatchRow, Issued, IssueRefused, check_context, \
    issue_batch, taken_record_numbers
from portal.certificates.models import Certificate
from portal.extensions import db
from portal.standard.rules import RuleError
from portal.standard.workbook import PERSONS_PER_CERTIFICATE, ImportLimits, ImportRefused, \
    check_import_file, check_import_rows, count_import_rows, open_import_zip, write_failure_report
from portal.tasks.models import Task

log = logging.getLogger(__name__)

IMPORT_TITLE = "建筑起重机械使用登记证书批量导入"
PROGRESS_EVERY_ROWS = 25  # commit counts + heartbeat at least this often …
PROGRESS_EVERY_SECONDS = 1.0  # … or this often, whichever comes first
STALE_MINUTES = 10  # a running task without a heartbeat for this long lost its worker
ISSUE_BATCH = 250  # checked rows issued per transaction (one counter update, one flush, one commit)
SEAL_CHUNK = 25  # certificates per PDF job: few jobs, yet enough of them for every worker to take some


# ---------------------------------------------------------------------------------------------- starting

def import_authority(operator):
    """The authority an import runs for: the operator's (first active) issuing authority."""
    return next((a for a in operator.authorities if a.is_active), None)


def import_limits():
    """What one upload may hold and cost to read, from the configuration (IMPORT_*, ATTACHMENT_MAX_MB)."""
    config = current_app.config
    persons = config["IMPORT_MAX_PERSON_ROWS"] or config["IMPORT_MAX_ROWS"] * PERSONS_PER_CERTIFICATE
    return ImportLimits(max_zip_bytes=config["IMPORT_MAX_ZIP_BYTES"],
                        max_unpacked_bytes=config["IMPORT_MAX_UNPACKED_BYTES"],
                        max_rows=config["IMPORT_MAX_ROWS"],
                        max_person_rows=persons,
                        max_attachment_bytes=config["ATTACHMENT_MAX_MB"] * 1024 * 1024,
                        reader_memory_bytes=config["IMPORT_READER_MEMORY_MB"] * 1024 * 1024,
                        reader_timeout=config["IMPORT_READER_TIMEOUT"])


def open_upload(data):
    """Check an uploaded zip (ImportRefused with one Chinese message) and return the ImportFile."""
    return open_import_zip(data, import_limits())


def start_import(operator, filename, data, *, enqueue=True):
    """Check the upload at once, store it, create the import Task and enqueue it; raises ImportRefused."""
    authority = import_authority(operator)
    if authority is None:
        raise ImportRefused("您没有所属的发证机关，不能批量导入；请联系系统管理员")
    if not operator.can_sign:
        raise ImportRefused(NO_SIGNING_RIGHT + "，不能批量导入")
    total = count_import_rows(data, import_limits())  # the rows stay in the reader's child process
    if total == 0:
        raise ImportRefused("导入模板的“证照信息”表中没有填写任何数据（保持不变的示例行会被忽略），请填写后重新上传")
    upload_path = storage.write_bytes(f"imports/{uuid.uuid4().hex}.zip", data)
    task = Task(kind="import", title=IMPORT_TITLE, file_name=safe_filename(filename or "导入.zip"),
                upload_path=upload_path, operator_id=operator.id, authority_id=authority.id, state="queued",
                total=total, job_id=f"import-{uuid.uuid4().hex}")
    db.session.add(task)
    db.session.flush()
    audit.record("import.start", actor=operator, target=f"task {task.id}", detail=f"{task.file_name}，{total} 行")
    db.session.commit()
    return _enqueue(task) if enqueue else task


def _enqueue(task):
    from portal.queue import enqueue
    task_id, job_id = task.id, task.job_id
    try:
        enqueue("jobs.imports.run_import_task", task_id, queue="default", job_id=job_id)
    except Exception:  # the row stays queued; resume_stale_tasks() enqueues it again
        log.exception("could not enqueue import task %s", task_id)
    return db.session.get(Task, task_id)


def resume_stale_tasks(minutes=STALE_MINUTES):
    """Re-enqueue import tasks whose worker died (running, heartbeat older than `minutes`) or whose job was
    lost (queued for longer than that); returns their ids. Safe: a re-run issues no row twice."""
    limit = utcnow() - timedelta(minutes=minutes)
    ids = db.session.scalars(sa.select(Task.id).where(Task.kind == "import", sa.or_(
        sa.and_(Task.state == "running", sa.func.coalesce(Task.heartbeat_at, Task.started_at, Task.created_at) < limit),
        sa.and_(Task.state == "queued", Task.created_at < limit))).order_by(Task.id)).all()
    for task_id in ids:
        task = db.session.get(Task, task_id)
        # Judged dead: queued again, so the next run may claim it (rows it issued stay issued once).
        task.state, task.heartbeat_at, task.job_id = "queued", None, f"import-{uuid.uuid4().hex}"
        db.session.commit()
        _enqueue(task)
        log.info("re-enqueued stale import task %s", task_id)
    return ids


# ---------------------------------------------------------------------------------------------- running

@dataclass
class RowResult:
    """One row's outcome: its 序号, the certificate number issued (or None) and the errors."""
    row: str
    certificate_number: str | None
    errors: list[RuleError] = field(default_factory=list)


@dataclass
class ImportResult:
    """What a run of an import task did (rows only when asked for: the CLI prints them)."""
    task_id: int
    state: str
    total: int = 0
    succeeded: int = 0
    failed: int = 0
    failure_report: str | None = None
    error: str | None = None
    rows: list[RowResult] = field(default_factory=list)
    skipped: bool = False


def errors_path(task_id):
    """The compact JSON of a task's per-row errors (stored beside its failure report)."""
    return f"reports/{task_id}.errors.json"


def error_dict(error):
    """A RuleError as the CLI and the errors JSON show it."""
    return {"rule": error.rule, "field": error.field, "message": error.message}


def _claim(task_id, force):
    """Mark the task running unless another live run owns it (compare-and-set on state + heartbeat)."""
    now = utcnow()
    stale = now - timedelta(minutes=STALE_MINUTES)
    where = [Task.id == task_id, Task.kind == "import"]
    if not force:
        where.append(sa.or_(Task.state == "queued", sa.and_(
            Task.state == "running", sa.or_(Task.heartbeat_at.is_(None), Task.heartbeat_at < stale))))
    result = db.session.execute(sa.update(Task).where(*where).values(
        state="running", heartbeat_at=now, started_at=sa.func.coalesce(Task.started_at, now), error=None,
        finished_at=None, done=0, succeeded=0, failed=0).execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount == 1


def run_import(task_id, report=None, *, force=False, collect_rows=False):
    """Run an import task to its end: check every row, issue the valid ones, write the failure report.

    `report(done, total)` is called after each progress commit. A task already done (or running in a live
    worker) is left alone unless `force`. Never raises for a row: a crash marks the task failed.
    """
    if not _claim(task_id, force):
        task = db.session.get(Task, task_id)
        log.info("import task %s not claimed (state %s)", task_id, task.state if task else None)
        return ImportResult(task_id, task.state if task else "missing", skipped=True)
    task = db.session.get(Task, task_id)
    db.session.refresh(task)
    try:
        return _run(task, report, collect_rows)
    except Exception as exc:
        log.exception("import task %s failed", task_id)
        db.session.rollback()
        task = db.session.get(Task, task_id)
        task.state, task.finished_at = "failed", utcnow()
        task.error = f"导入任务意外中止（{type(exc).__name__}：{exc}）；已导入的行不受影响，可重新执行该任务"[:1000]
        db.session.commit()
        return ImportResult(task_id, "failed", task.total, task.succeeded, task.failed, error=task.error)


def run_import_now(task_id, report=None):
    """Run the task in this process now, whatever its state (CLI, operators); returns the ImportResult."""
    return run_import(task_id, report, force=True, collect_rows=True)


class _Progress:
    """Counts kept in Python and written to the row at commit points (a refused row writes nothing)."""

    def __init__(self, task, report):
        self.task_id, self.total, self.report = task.id, task.total, report
        self.done = self.succeeded = self.failed = 0
        self._rows_since = 0
        self._last = time.monotonic()

    def count(self, ok):
        self.done += 1
        self.succeeded += ok
        self.failed += not ok
        self._rows_since += 1
        if self._rows_since >= PROGRESS_EVERY_ROWS or time.monotonic() - self._last >= PROGRESS_EVERY_SECONDS:
            self.commit()

    def commit(self, **extra):
        task = db.session.get(Task, self.task_id)
        task.done, task.succeeded, task.failed = self.done, self.succeeded, self.failed
        task.total = max(task.total or 0, self.done)
        task.heartbeat_at = utcnow()
        for key, value in extra.items():
            setattr(task, key, value)
        db.session.commit()
        self._rows_since, self._last = 0, time.monotonic()
        if self.report:
            self.report(self.done, task.total)
        return task


def _system_error(exc):
    return RuleError("SYSTEM", "certificate", "证书", "",
                     f"系统处理该行时出错（{type(exc).__name__}），该行未导入，其他行不受影响；请稍后重新上传该行，"
                     "如仍失败请联系系统管理员")


def _run(task, report, collect_rows):
    from portal.platform.service import cached_lookup, person_finder
    operator, authority = task.operator, task.authority
    if operator is None or authority is None:
        raise RuntimeError("导入任务的操作人或发证机关已不存在")
    import_file = open_upload(storage.read_bytes(task.upload_path))
    find_person = person_finder(cached_lookup())  # one cache for the whole task: a few dozen distinct people
    ctx = _file_context(authority, find_person, import_file)
    # On a re-run the rows issued by an earlier run are successes already, not R12 conflicts.
    issued = dict(db.session.execute(sa.select(Certificate.import_row_key, Certificate.number).where(
        Certificate.import_task_id == task.id)).all())
    progress = _Progress(task, report)
    progress.total = len(import_file)
    task.total = progress.total
    db.session.commit()
    failed_rows, results, pending = [], {}, []
    attachments = _AttachmentStore(import_file)

    def issue_pending():
        """Issue the checked rows waiting in `pending` as one batch; count and record each."""
        batch = []
        for row in pending:
            stored, errors = attachments.of(row)
            if errors:
                finish(row, None, errors)
                continue
            batch.append(BatchRow(row.seq, row.values, row.persons, stored))
        outcome = issue_batch(operator, authority, batch, import_task_id=task.id, find_person=find_person)
        by_key = {row.seq: row for row in pending}
        _queue_seals([r.id for r in outcome.values() if isinstance(r, Issued)])
        for key, result in outcome.items():
            if isinstance(result, IssueRefused):
                finish(by_key[key], None, result.errors)
            elif isinstance(result, Exception):
                log.error("import task %s row %s failed: %r", task.id, key, result)
                finish(by_key[key], None, [_system_error(result)])
            else:
                finish(by_key[key], result.number, [])
        pending.clear()

    def finish(row, number, errors):
        if number is None:
            failed_rows.append((row, errors))
        if collect_rows:
            results[row.excel_row] = RowResult(row.seq, number, errors)
        progress.count(number is not None)

    for row, errors in check_import_rows(import_file, ctx):
        number = issued.get(row.seq) if row.seq else None
        if number is not None or errors:
            finish(row, number, [] if number else errors)
            continue
        pending.append(row)
        if len(pending) >= ISSUE_BATCH:
            issue_pending()
    if pending:
        issue_pending()
    failed_rows.sort(key=lambda item: item[0].excel_row)
    result_path = _write_failures(task.id, failed_rows, import_file.problems)
    task = progress.commit(state="done", finished_at=utcnow(), result_path=result_path)
    log.info("import task %s done: %s ok, %s failed", task.id, task.succeeded, task.failed)
    return ImportResult(task.id, task.state, task.total, task.succeeded, task.failed,
                        storage.path_of(result_path).as_posix() if result_path else None,
                        rows=[results[key] for key in sorted(results)])


class _AttachmentStore:
    """The task's attachments, each distinct zip entry read once (streamed with a hard cap), checked and
    stored by content hash at once: rows hold only what was stored, never the bytes, whatever the file
    repeats."""

    def __init__(self, import_file):
        self.import_file = import_file
        self.max_bytes = current_app.config["ATTACHMENT_MAX_MB"] * 1024 * 1024
        self._by_name = {}  # name → StoredAttachment, or the RuleError that refuses it

    def of(self, row):
        """(stored attachments, errors) of one row's 附件."""
        outcomes = [self._get(name) for name in row.attachment_names]
        return ([o for o in outcomes if isinstance(o, StoredAttachment)],
                [o for o in outcomes if isinstance(o, RuleError)])

    def _get(self, name):
        if name not in self._by_name:
            try:
                upload = AttachmentUpload(name, self.import_file.read_attachment(name))
                self._by_name[name] = store_attachment(upload, self.max_bytes)
            except (AttachmentRefused, ImportRefused) as exc:
                self._by_name[name] = attachment_error(name, getattr(exc, "message", str(exc)))
            except Exception as exc:  # an unreadable attachment fails the rows that name it, not the task
                log.exception("attachment %s of an import could not be stored", name)
                self._by_name[name] = _system_error(exc)
        return self._by_name[name]


def _queue_seals(certificate_ids):
    """Queue the PDFs of newly issued certificates, SEAL_CHUNK a job, for any number of workers."""
    from portal.queue import enqueue
    try:
        for start in range(0, len(certificate_ids), SEAL_CHUNK):
            enqueue("jobs.certificates.seal_certificates", list(certificate_ids[start:start + SEAL_CHUNK]),
                    queue="pdf")
    except Exception:  # they stay 生成中; `flask certs pdf` or a re-run of the task queues them again
        log.exception("could not enqueue sealing of %s certificates", len(certificate_ids))


def _write_failures(task_id, failed_rows, file_problems):
    """The failure report (template layout + 错误信息; None without failed rows) and a compact JSON of the
    errors for the task page, including problems of the file not tied to a row (a person of no 序号)."""
    compact = [{"row": None, "excel_row": None, "errors": [error_dict(e)]} for e in file_problems]
    compact += [{"row": row.seq, "excel_row": row.excel_row, "errors": [error_dict(e) for e in errors]}
                for row, errors in failed_rows]
    storage.write_bytes(errors_path(task_id), json.dumps(compact, ensure_ascii=False).encode("utf-8"))
    if not failed_rows:
        return None
    relative = f"reports/{task_id}.xlsx"
    buffer = io.BytesIO()
    write_failure_report(buffer, failed_rows)
    storage.write_bytes(relative, buffer.getvalue())
    return relative


# ---------------------------------------------------------------------------------------------- checking only

def check_upload(operator, data):
    """Every rule on every row for this operator's authority (platform lookup included); writes nothing."""
    from portal.platform.service import cached_lookup, person_finder
    authority = import_authority(operator)
    if authority is None:
        raise ImportRefused(f"用户 {operator.username} 没有所属的发证机关，无法按发证机关的管辖范围校验")
    import_file = open_upload(data)
    return check_import_file(import_file, _file_context(authority, person_finder(cached_lookup()), import_file))


def _file_context(authority, find_person, import_file):
    """The rules' context for a whole file: R12 answered from one look-up of all its 备案编号."""
    ctx = check_context(authority, find_person, date.today())
    taken = taken_record_numbers(import_file.record_numbers())
    ctx.record_number_taken = taken.__contains__
    return ctx
