"""批量导入: start an import task from an uploaded zip, run it (row by row, all-or-nothing), check a file.

imports/routes (upload) → start_import → jobs.imports.run_import_task → run_import → issuing.issue_batch.
The task row is the truth (counts, heartbeat, failure report), kept by the one task lifecycle
(portal.background.lifecycle). A re-run (RQ delivers at least once, a dead worker's task is resumed) never
issues a row twice: issuing is idempotent per (task id, row key = 序号).
"""
import collections
import gc
import io
import json
import logging
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app

from portal import audit, storage
from portal.background.lifecycle import enqueue_task, start_task, task_run
from portal.background.models import Task
from portal.certificates.attachments import AttachmentRefused, AttachmentUpload, StoredAttachment, \
    attachment_error, safe_filename, store_attachment
from portal.certificates.documents import queue_seals, queue_unsealed
from portal.certificates.issuing import SIGNING_RIGHT_GRANTED_BY, BatchRow, Issued, IssueRefused, check_context, \
    issue_batch, prepare_batch, taken_record_numbers
from portal.certificates.models import Certificate
from portal.extensions import db
from portal.platform.service import cached_lookup, person_finder
from portal.standard.rules import RuleError
from portal.standard.workbook import PERSONS_PER_CERTIFICATE, ImportLimits, ImportRefused, \
    check_import_file, check_import_upload, checked_import_rows, open_import_zip, orphan_person_failures, \
    write_failure_report

log = logging.getLogger(__name__)

IMPORT_TITLE = "建筑起重机械使用登记证书批量导入"
ISSUE_BATCH = 250  # checked rows issued per transaction (one counter update, one flush, one commit);
# IMPORT_BATCH_ROWS sets another
WRITES_AHEAD = 3  # batches checked and waiting for the writer (PostgreSQL) while it issues one
# The cyclic collector's thresholds while an import runs (see _rare_collections)
IMPORT_GC_THRESHOLDS = (50_000, 20, 100)


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


def open_upload(data, sheets=None):
    """Check an uploaded zip (ImportRefused with one Chinese message) and return the ImportFile; `sheets` as
    kept when its upload was checked (the workbook is then not read again)."""
    return open_import_zip(data, import_limits(), sheets=sheets)


def sheets_path(upload_path):
    """Where the sheets read when an upload was checked are kept: beside the upload, same name."""
    return upload_path.removesuffix(".zip") + ".sheets.json.z"


def _sheets_kept_for(upload_path):
    """The sheets kept for this upload, or None (an upload stored before they were kept is read again)."""
    try:
        return storage.read_bytes(sheets_path(upload_path))
    except FileNotFoundError:
        return None


def start_import(operator, filename, data, *, enqueue=True):
    """Check the upload at once, store it, create the import Task and enqueue it; raises ImportRefused."""
    authority = import_authority(operator)
    if authority is None:
        raise ImportRefused("您没有所属的发证机关，不能批量导入；请联系系统管理员")
    if not operator.can_sign:
        raise ImportRefused(f"您没有签章权限，不能批量导入。{SIGNING_RIGHT_GRANTED_BY}")
    # the scan and read happen once, here: the worker takes the sheets as read (compact), not the rows again
    checked = check_import_upload(data, import_limits())
    total = checked.count
    if total == 0:
        raise ImportRefused("导入模板的“证照信息”表中没有填写任何数据（保持不变的示例行会被忽略），请填写后重新上传")
    try:
        upload_path = storage.write_bytes(f"imports/{uuid.uuid4().hex}.zip", data)
        storage.write_bytes(sheets_path(upload_path), checked.sheets)
    except OSError as exc:  # a full or unwritable disk: nothing was started (a stored zip without its task is
        # harmless: no task names it)
        log.exception("could not store an uploaded import")
        raise ImportRefused("服务器暂时无法保存上传的文件（存储空间不足或不可写），本次导入未开始；"
                            "请稍后重新上传，如仍失败请联系系统管理员") from exc
    task = start_task("import", title=IMPORT_TITLE, file_name=safe_filename(filename or "导入.zip"),
                      upload_path=upload_path, operator_id=operator.id, authority_id=authority.id, total=total)
    db.session.flush()
    audit.record("import.start", actor=operator, target=f"task {task.id}", detail=f"{task.file_name}，{total} 行")
    db.session.commit()
    return enqueue_task(task) if enqueue else task


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
    person_failures: list = field(default_factory=list)  # PersonRowFailure: 人员信息 rows of no certificate row


def errors_path(task_id):
    """The compact JSON of a task's per-row errors (stored beside its failure report)."""
    return f"reports/{task_id}.errors.json"


def error_dict(error):
    """A RuleError as the CLI and the errors JSON show it."""
    return {"rule": error.rule, "field": error.field, "message": error.message}


def run_import(task_id, on_progress=None, *, force=False, collect_rows=False):
    """Run an import task to its end: check every row, issue the valid ones, write the failure report.

    `on_progress(done, total)` is called after each progress commit. A task already done (or running in a
    live worker) is left alone unless `force`. Never raises for a row: a crash marks the task failed.
    """
    rows, person_failures = {}, []
    with task_run(task_id, force=force, on_progress=on_progress) as report:
        if report is None:
            task = db.session.get(Task, task_id)
            return ImportResult(task_id, task.state if task else "missing", skipped=True)
        with _rare_collections():
            person_failures = _run(report, rows if collect_rows else None)
    task = db.session.get(Task, task_id)
    if task.state != "done":
        return ImportResult(task_id, task.state, task.total, task.succeeded, task.failed, error=task.error)
    log.info("import task %s done: %s ok, %s failed", task.id, task.succeeded, task.failed)
    return ImportResult(task.id, task.state, task.total, task.succeeded, task.failed,
                        storage.path_of(task.result_path).as_posix() if task.result_path else None,
                        rows=[rows[key] for key in sorted(rows)],
                        person_failures=person_failures if collect_rows else [])


_collections_lock = threading.Lock()
_collections_held = []  # the thresholds before the first of the runs now holding them raised


@contextmanager
def _rare_collections():
    """The cyclic garbage collector, rarely, while an import runs. A run holds its file's rows (a million
    objects and more for 10,000 rows) while it makes as many again, and at the default thresholds each
    full collection walked them all: 0.8 s of a 10,000-row run's 7. Process-wide, so counted: the
    thresholds come back when the last of the runs of this process (worker threads) ends, however it ends."""
    with _collections_lock:
        _collections_held.append(gc.get_threshold())
        gc.set_threshold(*IMPORT_GC_THRESHOLDS)
    try:
        yield
    finally:
        with _collections_lock:
            before = _collections_held.pop()
            if not _collections_held:
                gc.set_threshold(*before)


def run_import_now(task_id, on_progress=None):
    """Run the task in this process now, whatever its state (CLI, operators); returns the ImportResult."""
    return run_import(task_id, on_progress, force=True, collect_rows=True)


def _system_error(exc):
    return RuleError("SYSTEM", "certificate", "证书", "",
                     f"系统处理该行时出错（{type(exc).__name__}），该行未导入，其他行不受影响；请稍后重新上传该行，"
                     "如仍失败请联系系统管理员")


def _run(report, results):
    """The import's work inside its task run; `results` (a dict, or None) collects each row's RowResult."""
    task = report.task
    task_id, operator, authority = task.id, task.operator, task.authority
    if operator is None or authority is None:
        raise RuntimeError("导入任务的操作人或发证机关已不存在")
    import_file = open_upload(storage.read_bytes(task.upload_path), _sheets_kept_for(task.upload_path))
    find_person = person_finder(cached_lookup())  # one cache for the whole task: a few dozen distinct people
    ctx = _file_context(authority, find_person, import_file)
    # On a re-run the rows issued by an earlier run are successes already, not R12 conflicts.
    earlier = db.session.execute(sa.select(Certificate.import_row_key, Certificate.number, Certificate.id).where(
        Certificate.import_task_id == task_id)).all()
    issued = {key: number for key, number, _ in earlier}
    issued_ids = {key: certificate_id for key, _, certificate_id in earlier}
    person_failures = orphan_person_failures(import_file, ctx)
    report.set_total(len(import_file) + len(person_failures))
    failed_rows, pending = [], []
    in_flight = collections.deque()  # the batches handed to the writer, oldest first
    attachments = _AttachmentStore(import_file)

    def issue_pending():
        """Hand the checked rows waiting in `pending` to the writer as one batch. The writer issues batches in
        turn (serials in the file's order); the rows go on being checked while up to WRITES_AHEAD batches
        wait for it, so that its waits for the database are filled with checking."""
        batch = []
        for row, checked in pending:
            stored, errors = attachments.of(row)
            if errors:
                finish(row, None, errors)
                continue
            batch.append(BatchRow(row.seq, row.values, row.persons, stored, checked))
        by_key = {row.seq: row for row, _ in pending}
        pending.clear()
        in_flight.append((by_key, writer.submit(batch, _prepared(operator, authority, batch, task_id))))
        collect(WRITES_AHEAD if writer.overlaps else 0)

    def collect(leave=0):
        """Count and record the outcome of the batches handed to the writer, oldest first, until `leave` are
        left in flight; queue their seals."""
        while len(in_flight) > leave:
            by_key, issuing = in_flight.popleft()
            outcome = issuing.result()  # what broke the whole batch (a lost connection) ends the run here
            queue_seals([r.id for r in outcome.values() if isinstance(r, Issued)])
            for key, result in outcome.items():
                if isinstance(result, IssueRefused):
                    finish(by_key[key], None, result.errors)
                elif isinstance(result, Exception):
                    log.error("import task %s row %s failed: %r", task_id, key, result)
                    finish(by_key[key], None, [_system_error(result)])
                else:
                    finish(by_key[key], result.number, [])
            flush_counts()

    def finish(row, number, errors):
        """Record one row's outcome; counted at the next commit point (`flush_counts`), not one by one."""
        if number is None:
            failed_rows.append((row, errors))
        if results is not None:
            results[row.excel_row] = RowResult(row.seq, number, errors)
        outcomes[number is not None] += 1

    def flush_counts():
        report.count_many(outcomes[True], outcomes[False])
        outcomes[True] = outcomes[False] = 0

    outcomes = {True: 0, False: 0}
    batch_rows = current_app.config.get("IMPORT_BATCH_ROWS") or ISSUE_BATCH
    with _BatchWriter(operator, authority, task_id, find_person) as writer:
        for row, checked in checked_import_rows(import_file, ctx):
            number = issued.get(row.seq) if row.seq else None
            if number is not None or checked.errors:
                finish(row, number, [] if number else checked.errors)
            else:
                pending.append((row, checked))
                if len(pending) >= batch_rows:
                    issue_pending()
            if sum(outcomes.values()) >= batch_rows:  # rows failing the check: a commit point now and then too
                flush_counts()
        if pending:
            issue_pending()
        collect()
    # Rows an earlier run issued may have lost their PDF jobs with that run (a killed worker, a flushed Redis).
    queue_unsealed(list(issued_ids.values()))
    outcomes[False] += len(person_failures)
    flush_counts()
    failed_rows.sort(key=lambda item: item[0].excel_row)
    report.finish(result_path=_write_failures(task_id, failed_rows, import_file.problems, person_failures))
    return person_failures


class _BatchWriter:
    """Issues an import's batches (issue_batch), one at a time. On PostgreSQL on a thread of its own, with its
    own app context, session and connection, so that the server's work on a batch — COPY, indexes, foreign
    keys, commit — overlaps the checking of the next one (psycopg2 waits without holding the GIL); elsewhere
    (SQLite has one writer), or with IMPORT_OVERLAP_WRITES off, in the caller's thread and session."""

    def __init__(self, operator, authority, task_id, find_person):
        self.operator, self.authority, self.task_id, self.find_person = operator, authority, task_id, find_person
        self.overlaps = db.engine.dialect.name == "postgresql" and current_app.config["IMPORT_OVERLAP_WRITES"]
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"import-{task_id}-writer") \
            if self.overlaps else None
        self._app = current_app._get_current_object()
        self._keys = (type(operator), operator.id, type(authority), authority.id)
        self._broken = None  # what broke a batch on the thread

    def submit(self, batch, prepared=None):
        """Start issuing `batch` (`prepared`: as prepare_batch made it ready); a Future of issue_batch's
        {row key: result}."""
        if self._executor is not None:
            return self._executor.submit(self._issue_in_thread, batch, prepared)
        issuing = Future()
        try:
            issuing.set_result(self._issue(self.operator, self.authority, batch, prepared))
        except Exception as exc:  # noqa: BLE001 — raised again by result(), as from the thread
            issuing.set_exception(exc)
        return issuing

    def _issue(self, operator, authority, batch, prepared):
        return issue_batch(operator, authority, batch, import_task_id=self.task_id, find_person=self.find_person,
                           prepared=prepared)

    def _issue_in_thread(self, batch, prepared):
        if self._broken is not None:  # the batches after one that broke are not issued: the run ends at that
            raise self._broken  # one, and a re-run goes on from there in the file's order
        operator_type, operator_id, authority_type, authority_id = self._keys
        with self._app.app_context():  # a session of its own: the caller's objects stay in the caller's
            try:
                return self._issue(db.session.get(operator_type, operator_id),
                                   db.session.get(authority_type, authority_id), batch, prepared)
            except Exception as exc:
                self._broken = exc
                raise
            finally:
                db.session.remove()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self._executor is not None:  # whatever ended the run, no batch is still being written after it,
            # and none that was waiting is started
            self._executor.shutdown(wait=True, cancel_futures=True)


def _prepared(operator, authority, batch, task_id):
    """The batch made ready to insert here, on the checking thread; None when that failed (issue_batch then
    tries again and, failing, issues its rows one by one, each with its own error)."""
    try:
        return prepare_batch(operator, authority, batch, task_id) if batch else None
    except Exception:  # noqa: BLE001 — handled where the batch is issued
        log.warning("import task %s: a batch could not be prepared", task_id, exc_info=True)
        return None


def person_failure_dict(failure):
    """A failed 人员信息 row of no certificate row as the CLI and the errors JSON show it."""
    return {"sheet": "人员信息", "row": failure.seq, "excel_row": failure.excel_row,
            "errors": [error_dict(e) for e in failure.errors]}


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


def _cited(error, person_index, excel_rows, report_rows):
    """An error about a person: with its 人员信息 row in the uploaded file and in the failure report."""
    if person_index is None or person_index >= len(report_rows):
        return error
    excel_row = excel_rows[person_index] if person_index < len(excel_rows) else None
    return dict(error, person_excel_row=excel_row, person_report_row=report_rows[person_index])


def _write_failures(task_id, failed_rows, file_problems, person_failures=()):
    """The failure report (template layout + 错误信息, both sheets; None without failed rows) and a compact JSON
    of the errors for the task page, including problems of the file not tied to a row."""
    # Rows are cited twice, labelled: the uploaded file's row (excel_row) and the failure report's
    # (report_row), which the clerk opens to fix them; the report writes failed rows in this order, each
    # certificate row's persons on the 人员信息 sheet in turn, then the persons of no certificate row.
    compact = [{"row": None, "excel_row": None, "errors": [error_dict(e)]} for e in file_problems]
    person_report_row = 1  # the header
    for cert_report_row, (row, errors) in enumerate(failed_rows, start=2):
        report_rows = list(range(person_report_row + 1, person_report_row + 1 + len(row.persons)))
        person_report_row += len(row.persons)
        compact.append({"row": row.seq, "excel_row": row.excel_row, "report_row": cert_report_row,
                        "errors": [_cited(error_dict(e), e.person_index, row.person_rows, report_rows)
                                   for e in errors]})
    for failure in person_failures:
        person_report_row += 1
        compact.append(dict(person_failure_dict(failure), report_row=person_report_row))
    storage.write_bytes(errors_path(task_id), json.dumps(compact, ensure_ascii=False).encode("utf-8"))
    if not failed_rows and not person_failures:
        return None
    relative = f"reports/{task_id}.xlsx"
    buffer = io.BytesIO()
    write_failure_report(buffer, failed_rows, person_failures)
    storage.write_bytes(relative, buffer.getvalue())
    return relative


# ---------------------------------------------------------------------------------------------- checking only

def check_upload(operator, data):
    """Every rule on every row for this operator's authority (platform lookup included); writes nothing."""
    authority = import_authority(operator)
    if authority is None:
        raise ImportRefused(f"用户 {operator.username} 没有所属的发证机关，无法按发证机关的管辖范围校验")
    import_file = open_upload(data)
    return check_import_file(import_file, _file_context(authority, person_finder(cached_lookup()), import_file))


def _file_context(authority, find_person, import_file):
    """The rules' context for a whole file: R12 answered from one look-up of all its 备案编号."""
    ctx = check_context(authority, find_person)
    taken = taken_record_numbers(import_file.record_numbers())
    ctx.record_number_taken = taken.__contains__
    return ctx
