"""Issuing and cancelling: the one service behind the form, the importer and the CLI.

issue: all rules (R1–R12, R9 through the platform) → number (R1) → store with personnel, attachments,
history and the ministry-report outbox row, in one transaction → render + seal (now, or as a job).
"""
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy.exc import IntegrityError

from portal import audit, bulk, clock
from portal.certificates.attachments import AttachmentRefused, StoredAttachment, attachment_error, \
    check_attachment, store_checked
from portal.certificates.documents import queue_seals, seal_certificate
from portal.certificates.keys import has_key
from portal.certificates.models import Attachment, Certificate, CertificatePerson, CertificateEvent
from portal.certificates.numbering import SerialsExhausted, license_id_for, take_serial
from portal.clock import utcnow
from portal.extensions import db
from portal.platform import reporting
from portal.standard.fields import BUSINESS_KEYS, FIELDS
from portal.standard.normalize import clean_record_number
from portal.standard.rules import CheckContext, CheckedCertificate, RuleError, check_and_clean, \
    check_cancellation
from portal.standard.values import CertificateNumber

log = logging.getLogger(__name__)

# Who to ask, said wherever the right is missing: a clerk cannot fix this by editing the form.
SIGNING_RIGHT_GRANTED_BY = "签章权限由系统管理员在“系统管理 → 用户管理”中开通，如需开通请联系系统管理员"
NO_SIGNING_RIGHT = f"您没有签章权限，无法生成电子证照。{SIGNING_RIGHT_GRANTED_BY}"


class IssueRefused(Exception):
    """The certificate was not issued (or cancelled); `errors` lists every reason (RuleError)."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__("；".join(e.message for e in self.errors))


def _refusal(rule, key, message, value=""):
    return IssueRefused([RuleError(rule, key, {"authority_uscc": "发证机关代码", "certificate": "证书",
                                                "attachments": "附件"}.get(key, key), value, message)])


@dataclass
class IssueOptions:
    """How to issue: seal the PDF in this request (single entry) or leave it to a job (import)."""
    seal_now: bool = True
    import_task_id: int | None = None
    import_row_key: str | None = None
    submission_token: str | None = None
    today: date | None = None
    enqueue_seal: bool = True  # False: the caller queues the PDFs itself (an import, in chunks)
    dispatch: bool = True  # False: the caller asks for the report job once for many certificates


def _already_issued(options):
    """The certificate this import row or form submission already produced, if any."""
    if options.import_row_key is not None:
        return db.session.scalar(db.select(Certificate).filter_by(
            import_task_id=options.import_task_id, import_row_key=options.import_row_key))
    if options.submission_token:
        return db.session.scalar(db.select(Certificate).filter_by(submission_token=options.submission_token))
    return None


def operator_authority(operator, authority_uscc):
    """The operator's authority named by 发证机关代码 (R4/R5 need it); None when not theirs."""
    uscc = (authority_uscc or "").strip().upper()
    return next((a for a in operator.authorities if a.uscc == uscc and a.is_active), None)


def record_number_taken(record_number):
    """R12: is there a certificate of this 备案编号 (any spelling: compared canonical) that is not cancelled?"""
    return db.session.scalar(db.select(Certificate.id).where(
        Certificate.record_number == clean_record_number(record_number), Certificate.status == "issued").limit(1)) \
        is not None


def taken_record_numbers(record_numbers, chunk=1000):
    """R12 for many at once (an import file): the canonical 备案编号 of those given that have a certificate not
    cancelled (certificates store the canonical spelling)."""
    numbers, taken = sorted({clean_record_number(n) for n in record_numbers}), set()
    for start in range(0, len(numbers), chunk):
        taken.update(db.session.scalars(db.select(Certificate.record_number).where(
            Certificate.record_number.in_(numbers[start:start + chunk]), Certificate.status == "issued")))
    return taken


def check_context(authority, find_person=None, today=None):
    """What the rules need from the world for this authority."""
    return CheckContext(today=today or clock.today(), jurisdiction=authority.jurisdiction if authority else frozenset(),
                        authority_uscc=authority.uscc if authority else None,
                        authority_name=authority.name if authority else None,
                        record_number_taken=record_number_taken, find_person=find_person)


def check_for_issue(operator, values, persons, find_person=None, today=None):
    """Every reason this certificate could not be issued by this operator now ([] = it can)."""
    return _checked_for_issue(operator, values, persons, find_person, today).errors


def _checked_for_issue(operator, values, persons, find_person=None, today=None):
    """check_for_issue's errors with the cleaned values and persons (CheckedCertificate) of the same pass."""
    authority = operator_authority(operator, values.get("authority_uscc"))
    checked = check_and_clean(values, persons, check_context(authority, find_person, today))
    errors = checked.errors
    if authority is None and values.get("authority_uscc"):
        names = "、".join(a.name for a in operator.authorities) or "（无）"
        errors.append(RuleError("R5", "authority_uscc", "发证机关代码", str(values.get("authority_uscc")),
                                f"发证机关代码：{values.get('authority_uscc')} 不是您所属的发证机关，"
                                f"您只能以 {names} 的名义发证"))
    return checked


def _store_attachments(cert, uploads):
    """Check and store the uploads (AttachmentUpload, or StoredAttachment already checked and stored)."""
    max_bytes = current_app.config["ATTACHMENT_MAX_MB"] * 1024 * 1024
    errors = []
    checked = []
    for upload in uploads:
        try:
            stored = isinstance(upload, StoredAttachment)
            checked.append((upload, None if stored else check_attachment(upload, max_bytes)))
        except AttachmentRefused as exc:
            errors.append(attachment_error(upload.filename, str(exc)))
    if errors:
        raise IssueRefused(errors)
    for upload, content_type in checked:
        if content_type is not None:  # stored only now that every attachment of the row is acceptable
            upload = store_checked(upload, content_type)
        cert.attachments.append(Attachment(filename=upload.filename, content_type=upload.content_type,
                                           size=upload.size, sha256=upload.sha256))


def issue_certificate(operator, values, persons, attachments=(), *, find_person=None, options=None):
    """Issue one certificate; returns it, or raises IssueRefused with every reason.

    Idempotent per import row and per form submission: a repeat returns the existing certificate.
    """
    options = options or IssueOptions()
    existing = _already_issued(options)
    if existing is not None:
        return existing
    if not operator.can_sign:
        raise _refusal("PERMISSION", "certificate", NO_SIGNING_RIGHT)
    checked = _checked_for_issue(operator, values, persons, find_person, options.today)
    if checked.errors:
        raise IssueRefused(checked.errors)
    authority = operator_authority(operator, values.get("authority_uscc"))
    if not has_key(authority.uscc):
        raise _refusal("PERMISSION", "authority_uscc",
                       f"发证机关 {authority.name} 尚未配置电子签章密钥，无法生成电子证照，请联系系统管理员")
    clean, clean_persons = checked.certificate, checked.persons
    try:
        cert = _insert(operator, authority, clean, clean_persons, attachments, options)
    except IntegrityError as exc:
        db.session.rollback()
        existing = _already_issued(options)
        if existing is not None:
            return existing
        if record_number_taken(clean["record_number"]):
            raise _refusal("R12", "record_number", f"备案编号：{clean['record_number']} 已有有效的使用登记证书，"
                                                   "同一设备不能重复发证；如需重新发证，请先注销原证书",
                           clean["record_number"]) from exc
        raise
    except (IssueRefused, SerialsExhausted) as exc:
        db.session.rollback()
        if isinstance(exc, SerialsExhausted):
            raise _refusal("R1", "certificate", str(exc)) from exc
        raise
    if options.dispatch:
        reporting.dispatch()
    if options.seal_now:
        seal_certificate(cert.id)
    elif options.enqueue_seal:
        queue_seals([cert.id])
    return cert


# the fields stored in their own columns: not the business values (one JSON column), not the authority's
# name and code as typed (the authority's own are stored)
_COLUMN_KEYS = tuple(f.key for f in FIELDS if f.key not in BUSINESS_KEYS
                     and f.key not in ("authority_name", "authority_uscc"))


def _numbered(authority, clean, serial):
    """The columns a certificate's serial decides: serial, number (R1) and license id."""
    number = CertificateNumber(clean["project_division"], clean["crane_type"], clean["issue_date"].year, serial)
    return {"serial": serial, "number": str(number), "license_id": license_id_for(authority.uscc, number)}


NUMBERED_COLUMNS = ("serial", "number", "license_id")  # the keys of _numbered


def _columns(operator, authority, clean, persons, serial, options):
    """The certificate's column values and its personnel rows, as plain dicts (both paths share them);
    ``serial`` None: without the NUMBERED_COLUMNS (a batch prepared before its serials are taken)."""
    year = clean["issue_date"].year
    # The authority's own name and code are stored, not the typed ones (they passed R4/R5 already).
    values = {key: clean.get(key) for key in _COLUMN_KEYS}
    for key in ("contractor_name", "contractor_uscc"):
        values[key] = values[key] or ""
    if serial is not None:
        values.update(_numbered(authority, clean, serial))
    values.update(
        business={key: str(clean[key]) for key in BUSINESS_KEYS if clean.get(key) not in (None, "")},
        authority_id=authority.id, authority_name=authority.name, authority_uscc=authority.uscc, year=year,
        ecert_id=uuid.uuid4().hex.upper(), verify_token=secrets.token_urlsafe(24),
        status="issued", pdf_state="pending", report_state="pending", created_by_id=operator.id,
        created_at=utcnow(), import_task_id=options.import_task_id, import_row_key=options.import_row_key,
        submission_token=options.submission_token)
    person_rows = [{"position": i, "type_code": p["type_code"], "name": p["name"], "id_number": p["id_number"],
                    "cert_no": p.get("cert_no") or "", "phone": p.get("phone") or ""} for i, p in enumerate(persons)]
    return values, person_rows


def _issued_event(operator, number):
    return {"action": "issued", "actor_name": operator.username, "detail": f"新发证，证书编号 {number}"}


def _build(operator, authority, clean, persons, attachments, serial, options):
    """The certificate object with its personnel, attachments and first history line (not yet added)."""
    values, person_rows = _columns(operator, authority, clean, persons, serial, options)
    cert = Certificate(**values)
    cert.persons = [CertificatePerson(**row) for row in person_rows]
    _store_attachments(cert, attachments)
    cert.events.append(CertificateEvent(**_issued_event(operator, cert.number)))
    return cert


def _insert(operator, authority, clean, persons, attachments, options):
    """One transaction: serial, certificate, persons, attachments, history, outbox row."""
    serial = take_serial(authority.id, clean["issue_date"].year)  # first write: orders concurrent issuers
    cert = _build(operator, authority, clean, persons, attachments, serial, options)
    db.session.add(cert)
    db.session.flush()
    reporting.add_report(cert, "issue")
    audit.record("certificate.issue", actor=operator, target=cert.number)
    db.session.commit()
    return cert


@dataclass(frozen=True)
class Issued:
    """A certificate issued by a batch: read before the commit, so nothing is loaded again after it."""
    id: int
    number: str


@dataclass
class BatchRow:
    """One import row for issue_batch: its key (序号), raw values (a row issued on its own is checked again)
    and what the check that passed it cleaned (CheckedCertificate: stored as it is)."""
    row_key: str
    values: dict
    persons: list
    attachments: list
    checked: CheckedCertificate


@dataclass
class PreparedBatch:
    """A checked batch made ready to insert before its transaction (``prepare_batch``, the costly part): every
    row but what its serial decides, the ids it gets and what follows from them (history, report record)."""
    rows: list  # the BatchRows, in the order their serials are taken (by year, then as given)
    values: list  # each row's certificate columns but the NUMBERED_COLUMNS
    persons: list  # each row's personnel rows (without certificate_id)
    certificates: bulk.PreparedRows  # late: NUMBERED_COLUMNS
    person_rows: bulk.PreparedRows  # late: certificate_id
    attachment_rows: bulk.PreparedRows  # late: certificate_id
    attachment_counts: list  # each row's number of attachments


def _issue_year(row):
    """The year a checked row's serial is taken in (R1: per authority per year)."""
    return row.checked.certificate["issue_date"].year


def prepare_batch(operator, authority, rows, import_task_id):
    """The work of issuing checked rows that needs no transaction: on a thread of its own this overlaps
    the database's work on the batch before (imports.services). The cleaned values are the check's."""
    rows = sorted(rows, key=_issue_year)  # stable: as given within a year
    values, persons, attachments = [], [], []
    for row in rows:
        options = IssueOptions(import_task_id=import_task_id, import_row_key=row.row_key)
        row_values, person_rows = _columns(operator, authority, row.checked.certificate, row.checked.persons,
                                           None, options)
        values.append(row_values)
        persons.append(person_rows)
        attachments.append(_attachment_rows(row.attachments))
    person_table, attachment_table = CertificatePerson.__table__, Attachment.__table__
    return PreparedBatch(
        rows, values, persons, bulk.PreparedRows(Certificate.__table__, values, late=NUMBERED_COLUMNS),
        bulk.PreparedRows(person_table, [p for row_persons in persons for p in row_persons], late=("certificate_id",)),
        bulk.PreparedRows(attachment_table, [a for row_attachments in attachments for a in row_attachments],
                          late=("certificate_id",)),
        [len(a) for a in attachments])


def issue_batch(operator, authority, rows, *, import_task_id, find_person=None, prepared=None):
    """Issue rows the caller has checked with every rule, in one transaction; {row_key: result}.

    A result is Issued(id, number), an IssueRefused, or the exception that broke that row (its own
    transaction rolled back, the other rows unaffected). One counter update per year takes consecutive
    serials for the whole batch, one flush writes it, one commit ends it, one job reports it. If the
    batch meets a conflict (a 备案编号 issued meanwhile, a row of a re-run), it is rolled back
    whole — serials included — and issued row by row, each row all-or-nothing. ``prepared``: these rows
    as ``prepare_batch`` made them ready (made here when not given).
    """
    existing = {key: Issued(id_, number) for key, id_, number in db.session.execute(
        db.select(Certificate.import_row_key, Certificate.id, Certificate.number).where(
            Certificate.import_task_id == import_task_id,
            Certificate.import_row_key.in_([r.row_key for r in rows])))}
    todo = [r for r in rows if r.row_key not in existing]
    results = dict(existing)
    if todo:
        try:
            if prepared is None or existing:  # a re-run: only the rows not issued yet
                prepared = prepare_batch(operator, authority, todo, import_task_id)
            results.update(_write_batch(operator, authority, prepared, import_task_id))
        except Exception:  # noqa: BLE001 — whatever broke the batch, each row gets its own try
            log.warning("batch of %s rows of import task %s issued row by row instead", len(todo),
                        import_task_id, exc_info=True)
            db.session.rollback()
            for row in todo:
                options = IssueOptions(seal_now=False, enqueue_seal=False, dispatch=False,
                                       import_task_id=import_task_id, import_row_key=row.row_key)
                try:
                    cert = issue_certificate(operator, row.values, row.persons, row.attachments,
                                             find_person=find_person, options=options)
                    results[row.row_key] = Issued(cert.id, cert.number)
                except Exception as exc:  # noqa: BLE001 — reported on this row; the next rows go on
                    db.session.rollback()
                    results[row.row_key] = exc
    reporting.dispatch()
    return results


def _write_batch(operator, authority, prepared, import_task_id):
    """The batch's transaction: serials, then Core bulk INSERTs of what was prepared (no ORM unit of work:
    14 objects a row made it the import's bottleneck), history, report records, audit; commit."""
    numbered, by_year = [], {}
    for row in prepared.rows:
        by_year.setdefault(_issue_year(row), []).append(row)
    for year, rows in by_year.items():  # in the order prepare_batch sorted them
        last = take_serial(authority.id, year, count=len(rows))
        numbered += [_numbered(authority, row.checked.certificate, serial)
                     for serial, row in zip(range(last - len(rows) + 1, last + 1), rows)]
    ids = prepared.certificates.insert_returning_ids(tuple(n[key] for key in NUMBERED_COLUMNS) for n in numbered)
    prepared.person_rows.insert((certificate_id,) for certificate_id, persons in zip(ids, prepared.persons)
                                for _ in persons)
    prepared.attachment_rows.insert((certificate_id,) for certificate_id, count in
                                    zip(ids, prepared.attachment_counts) for _ in range(count))
    now = utcnow()
    bulk.insert_rows(CertificateEvent.__table__, [dict(_issued_event(operator, n["number"]), certificate_id=id_, at=now)
                                                  for id_, n in zip(ids, numbered)])
    reporting.add_reports(((id_, dict(values, **n, id=id_, persons=persons)) for id_, values, n, persons
                           in zip(ids, prepared.values, numbered, prepared.persons)), "issue")
    audit.record("certificate.issue", actor=operator, target=f"批量导入任务 {import_task_id}",
                 detail="、".join(n["number"] for n in numbered))
    issued = {row.row_key: Issued(id_, n["number"]) for row, id_, n in zip(prepared.rows, ids, numbered)}
    db.session.commit()
    return issued


def _attachment_rows(uploads):
    """Checked, stored attachments as rows (IssueRefused when one is not acceptable)."""
    if not uploads:  # most rows: no ORM object made for nothing
        return []
    holder = Certificate()
    _store_attachments(holder, uploads)
    return [{"filename": a.filename, "content_type": a.content_type, "size": a.size, "sha256": a.sha256,
             "created_at": utcnow()} for a in holder.attachments]


def cancel_certificate(operator, cert, reason, find_person=None):
    """注销: reason required, R9 for the 1113 persons; the number stays void forever; reported."""
    reason = (reason or "").strip()
    if cert.status != "issued":
        raise _refusal("R13", "certificate", f"证书 {cert.number} 已注销，不能重复注销")
    if not reason:
        raise _refusal("REQUIRED", "cancel_reason", "注销原因：为必填项，请填写注销原因")
    persons = [{"type_code": p.type_code, "name": p.name, "id_number": p.id_number, "cert_no": p.cert_no}
               for p in cert.persons]
    errors = check_cancellation(persons, check_context(cert.authority, find_person))
    if errors:
        raise IssueRefused(errors)
    cert.status, cert.cancelled_at, cert.cancelled_by_id = "cancelled", utcnow(), operator.id
    cert.cancel_reason = reason[:500]
    cert.events.append(CertificateEvent(action="cancelled", actor_name=operator.username, detail=f"注销：{reason}"))
    reporting.add_report(cert, "cancel")
    audit.record("certificate.cancel", actor=operator, target=cert.number, detail=reason)
    db.session.commit()
    reporting.dispatch()
    return cert

