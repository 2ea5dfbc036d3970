"""The sealed documents of a stored certificate: build the printable document, render, sign, store; now, or
in 'pdf' tasks of a few certificates each that any number of workers share.

Two copies of the same face (:func:`~.layout.layout_certificate`): the PDF under the authority's PAdES
signature, and beside it the OFD (GB/T 33190) under its SM2 electronic seal (GB/T 38540). The OFD is made
by :func:`seal_ofd_copy` right after the PDF is stored, and its failure never costs the PDF: the
certificate stays 已签章 and ``ofd_state`` / ``ofd_error`` say why its OFD is missing, until
:func:`~.ofd_documents.seal_missing_ofds` (after the seal key is made) seals it.

A cancelled certificate is handed out as a second rendition of each copy: its face with the red 已注销 mark
and the date (``status_note``), sealed again by its authority — the authority's own signed statement that
the certificate is void, which any validator accepts and nobody can mistake for the valid one. The files
first sealed stay as they were (:func:`read_signed_pdf`, for admins). A stamp added to that file instead
would either break its signature or hide behind an incremental update that validators call
«签名后文件被修改».
"""
import datetime as dt
import errno
import logging

import sqlalchemy as sa
from flask import current_app

from portal import audit, storage
from portal.background.lifecycle import enqueue_tasks, start_task, task_run
from portal.background.models import ACTIVE_STATES, Task
from portal.certificates import keys, seal_keys
from portal.certificates.models import Certificate, CertificateEvent
from portal.certificates.layout import layout_certificate
from portal.certificates.ofd_seal import sealed_ofd_from_page
from portal.certificates.pdf import CertificateDocument, FaceTooLong, draw_pdf, render_certificate_pdf
from portal.certificates.signing import sign_certificate_pdf
from portal.clock import local_time, utcnow
from portal.display import mask_id_number
from portal.extensions import db
from portal.standard import codes
from portal.standard.fields import FIELDS

log = logging.getLogger(__name__)
OFD_CHUNK = 100  # certificates per 'ofd' task (no PDF to render: some 25 ms each)
SEAL_CHUNK = 25  # certificates per PDF task: few tasks, yet enough of them for every worker to take some
# OFD.xml CustomData names: covered by the seal (OFD.xml is one of the signed files)
CUSTOM_NUMBER = "证书编号"
CUSTOM_LICENSE_ID = "电子证照标识"

# Printed in the face table; holder and authority have their own places on the certificate.
_FACE_KEYS = ("model", "record_number", "manufacturer", "serial_number", "manufacture_date", "owner_name",
              "owner_uscc", "installer_name", "installer_uscc", "supervision_name", "supervision_uscc",
              "contractor_name", "contractor_uscc", "project_name", "project_address", "project_division",
              "location", "permit_number")
_LABEL = {f.key: f.label for f in FIELDS}


def verify_url(cert):
    """The public verification address printed in the QR code."""
    # Built by hand, not url_for: jobs render PDFs outside any request. A test pins it to the route.
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + "/public/verify/" + cert.verify_token


def display_value(key, value):
    """A stored value as people read it (dates ISO, division with its name)."""
    if value is None or value == "":
        return ""
    if key == "project_division":
        division = codes.division(value)
        return f"{value} {division.full_name}" if division else value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def face_labels():
    """The labels of face_rows, in the same order (an export's header)."""
    return [_LABEL[key] for key in _FACE_KEYS]


def face_rows(cert):
    """(label, value) of the face fields in print order."""
    return [(_LABEL[key], display_value(key, getattr(cert, key))) for key in _FACE_KEYS]


def business_rows(cert):
    """(label with unit, value) of the type's 业务信息."""
    return [(f.label, cert.business.get(f.key, "")) for f in FIELDS if f.crane_type == cert.crane_type]


def person_rows(cert):
    """The persons with every stored value (for the authorised pages; the face uses face_person_rows)."""
    return [{"type_code": p.type_code, "type_name": codes.personnel_type(p.type_code).name,
             "name": p.name, "id_number": p.id_number, "cert_no": p.cert_no, "phone": p.phone}
            for p in cert.persons]


def page_facts(cert):
    """What a certificate's pages (查看, 打印) show: face and business rows, persons with masked ID numbers,
    the type, the cancellation time (Beijing)."""
    persons = [dict(p, id_number=mask_id_number(p["id_number"])) for p in person_rows(cert)]
    return dict(cert=cert, crane=codes.crane_type(cert.crane_type), face=face_rows(cert),
                business=business_rows(cert), persons=persons, cancelled_at=local_time(cert.cancelled_at))


def face_person_rows(cert):
    """The persons as the certificate prints them: no phone number (PIPL); the face masks the ID number."""
    return [{key: value for key, value in row.items() if key != "phone"} for row in person_rows(cert)]


def status_note(cert):
    """The mark a cancelled certificate's face carries: 已注销 and the (Beijing) date; None while valid."""
    cancelled = local_time(cert.cancelled_at)
    if cert.status != "cancelled" or cancelled is None:
        return None
    return f"已注销（{cancelled.year}年{cancelled.month}月{cancelled.day}日）"


def build_document(cert):
    """The printable document of a certificate as it stands now (a cancelled one carries its 已注销 mark)."""
    crane = codes.crane_type(cert.crane_type)
    return CertificateDocument(
        number=cert.number, holder_name=cert.holder_name, holder_uscc=cert.holder_uscc,
        crane_type_name=f"{crane.name}（{crane.letter}）", face=face_rows(cert), business=business_rows(cert),
        persons=face_person_rows(cert), authority_name=cert.authority_name, authority_uscc=cert.authority_uscc,
        issue_date=cert.issue_date, valid_until=cert.valid_until, verify_url=verify_url(cert),
        license_id=cert.license_id, status_note=status_note(cert))


def pdf_relative_path(cert):
    return f"pdf/{cert.year}/{cert.ecert_id}.pdf"


def cancelled_pdf_relative_path(cert):
    return f"pdf/{cert.year}/{cert.ecert_id}.cancelled.pdf"


# A failure worth retrying (a full disk, a database or network hiccup) is retried with a backoff of
# SEAL_RETRY_SECONDS (configured) × 2^(attempt-1), at most SEAL_MAX_ATTEMPTS times; then 生成失败 until an
# admin's 重新生成.
SEAL_MAX_ATTEMPTS = 5


def seal_certificate(certificate_id, *, with_ofd=True):
    """Render and sign the certificate's PDF, store it, and mark it signed (idempotent); returns its pdf_state
    ('signed', 'failed', 'pending' when it could not even be recorded) or None for no such certificate.
    With *with_ofd* the OFD copy is sealed in the same step, from the same layout; without, the caller
    queues it (:func:`queue_ofd_copies`), as a 'pdf' task does.

    The certificate is its own transaction, and the whole of it (load and commit included) sits inside the
    error handling: a failure is recorded on the certificate (生成失败 + reason, with a retry when the cause is
    transient) rather than raised, so that one bad certificate or one database hiccup never stops a task's
    other PDFs. The row is locked while it is sealed, so two deliveries of the same work sign it once.
    """
    try:
        cert = db.session.get(Certificate, certificate_id, with_for_update=True, populate_existing=True)
        if cert is None or cert.pdf_state == "signed":
            db.session.rollback()
            return cert and cert.pdf_state
        page = None  # the face, laid out once for both copies (the layout is a fifth of the step's cost)
        try:
            page = layout_certificate(build_document(cert))
            _sign_store_pdf(cert, page)
        except keys.CredentialsMissing:
            _record_failure(cert, f"发证机关 {cert.authority_name} 尚未配置电子签章密钥，请联系系统管理员", retry=False)
        except FaceTooLong as exc:
            _record_failure(cert, str(exc), retry=False)
        except OSError as exc:  # a full or unwritable disk: retried once space returns
            log.exception("storing the PDF of certificate %s failed", cert.number)
            _record_failure(cert, f"电子证照保存失败（{_os_reason(exc)}）", retry=True)
        except Exception as exc:  # recorded for the clerk and the log; the job itself must not die
            log.exception("sealing certificate %s failed", cert.number)
            _record_failure(cert, f"电子证照生成失败：{type(exc).__name__}", retry=True)
        if with_ofd:
            seal_ofd_copy(cert, page)  # the OFD beside a signed PDF; its failure is kept in ofd_state, never raised
        db.session.commit()
        return cert.pdf_state
    except Exception:  # the database itself failed: the certificate stays pending for the reconciler
        log.exception("sealing certificate %s could not be recorded; the reconciler will queue it again",
                      certificate_id)
        db.session.rollback()
        return "pending"


def _sign_store_pdf(cert, page):
    signer = keys.signer_for(cert.authority_uscc)
    signed = sign_certificate_pdf(draw_pdf(page), signer, cert.authority_name)
    cert.pdf_path = storage.write_bytes(pdf_relative_path(cert), signed)
    cert.pdf_state, cert.pdf_error, cert.pdf_retry_at = "signed", None, None
    db.session.add(CertificateEvent(certificate=cert, action="sealed", actor_name="system",
                                    detail="电子证照已生成并签章"))


def _os_reason(exc):
    return "存储空间不足" if exc.errno == errno.ENOSPC else (exc.strerror or type(exc).__name__)


def _record_failure(cert, reason, *, retry):
    """生成失败 with the reason; a transient cause is retried later by the reconciler, a few times."""
    cert.pdf_attempts = (cert.pdf_attempts or 0) + 1
    retry = retry and cert.pdf_attempts < SEAL_MAX_ATTEMPTS
    cert.pdf_state = "failed"
    backoff = current_app.config["SEAL_RETRY_SECONDS"] * 2 ** (cert.pdf_attempts - 1)
    cert.pdf_retry_at = utcnow() + dt.timedelta(seconds=backoff) if retry else None
    cert.pdf_error = reason + ("；系统将自动重试" if retry else
                               f"（已尝试 {cert.pdf_attempts} 次）；管理员可在证书页面点击“重新生成”" if cert.pdf_attempts > 1
                               else "；排除原因后，管理员可在证书页面点击“重新生成”")


def regenerate(actor, cert):
    """重新生成 (admins): a certificate whose PDF failed is set pending again, attempts from zero, and queued.
    Returns False when its PDF had not failed (nothing done)."""
    taken = db.session.execute(sa.update(Certificate).where(
        Certificate.id == cert.id, Certificate.pdf_state == "failed").values(
        pdf_state="pending", pdf_attempts=0, pdf_retry_at=None, pdf_error=None)
        .execution_options(synchronize_session=False)).rowcount
    if not taken:
        db.session.rollback()
        return False
    audit.record("certificate.regenerate_pdf", actor=actor, target=cert.number)
    db.session.add(CertificateEvent(certificate_id=cert.id, action="pdf_regenerate", actor_name=actor.username,
                                    detail="重新生成电子证照"))
    queue_seals([cert.id])  # commits the change, the audit entry and the task together
    db.session.refresh(cert)
    return True


def warm_up_sealing(authorities):
    """Render a sample face and seal it for each (uscc, name) that has a key, keeping nothing.

    A process forked afterwards (each RQ work horse) starts with the font's common subset, the QR
    encoder, pyHanko and every authority's parsed key and seal already loaded: forked cold, the first
    certificate of a job took 300–500 ms longer than the others.
    """
    sample_doc = CertificateDocument(
        number="140105T（2026）0000000", holder_name="山西建工集团有限公司", holder_uscc="91140000110012345K",
        crane_type_name="塔式起重机（T）", face=[("规格型号", "QTZ80")], business=[], persons=[],
        authority_name="", authority_uscc="", issue_date=dt.date(2026, 1, 1), valid_until=None,
        verify_url="https://example.invalid/public/verify/0")
    sample = render_certificate_pdf(sample_doc)
    for uscc, name in authorities:
        try:
            sign_certificate_pdf(sample, keys.signer_for(uscc), name)
        except keys.CredentialsMissing:
            continue
    _warm_up_ofd_seals(layout_certificate(sample_doc), authorities)


def _warm_up_ofd_seals(sample_page, authorities):
    """The OFD copy's first certificate in a process took a second more (font tables, SM2 key, seal)."""
    for uscc, _ in authorities:
        try:
            sealed_ofd_from_page(sample_page, seal_keys.seal_signer_for(uscc))
        except seal_keys.CredentialsMissing:
            continue


def read_signed_pdf(cert):
    """The PDF first signed for the certificate, or None while it is not ready (for a cancelled certificate
    this is the unmarked original: only admins get it, see :func:`deliverable_pdf`)."""
    if cert.pdf_state != "signed" or not cert.pdf_path:
        return None
    return storage.read_bytes(cert.pdf_path)


class CopyUnavailable(Exception):
    """No copy (PDF or OFD) can be handed out for the certificate now; the message says why, in Chinese."""


def cancelled_ofd_relative_path(cert):
    return f"ofd/{cert.year}/{cert.ecert_id}.cancelled.ofd"


def _cancelled_rendition(relative, make):
    """The cancelled rendition stored at *relative*, made by *make()* and stored on its first request.

    Made on demand rather than in the cancelling transaction: a cancellation never fails or waits for the
    seal, and certificates cancelled before this rendition existed get one too. Two requests at once may
    both make it; the stored file is written atomically, and either copy is valid.
    """
    try:
        return storage.read_bytes(relative)
    except FileNotFoundError:
        pass
    data = make()
    storage.write_bytes(relative, data)
    return data


def _no_key(cert, kind):
    return CopyUnavailable(f"发证机关 {cert.authority_name} 尚未配置{kind}，无法出具带“已注销”标记的电子证照，"
                           "请联系系统管理员")


def read_cancelled_pdf(cert):
    """The cancelled PDF rendition (face with its 已注销 mark, sealed again)."""
    def make():
        try:
            return sign_certificate_pdf(render_certificate_pdf(build_document(cert)),
                                        keys.signer_for(cert.authority_uscc), cert.authority_name)
        except keys.CredentialsMissing:
            raise _no_key(cert, "电子签章密钥") from None
        except FaceTooLong as exc:
            raise CopyUnavailable(str(exc)) from None
    return _cancelled_rendition(cancelled_pdf_relative_path(cert), make)


def deliverable_pdf(cert):
    """What every download of the certificate's PDF hands out: the signed file, or once the certificate is
    cancelled its 已注销 rendition (never the unmarked original). None while the first seal is pending.

    Raises CopyUnavailable when a cancelled certificate's rendition cannot be sealed.
    """
    if cert.status == "cancelled":
        return read_cancelled_pdf(cert)
    return read_signed_pdf(cert)


def queue_seals(certificate_ids, chunk=SEAL_CHUNK):
    """Seal these certificates in the background: one 'pdf' task per `chunk` of them, committed and enqueued."""
    _queue_chunks("pdf", "生成电子证照", certificate_ids, chunk)


def queue_ofd_copies(certificate_ids, title="生成 OFD 电子证照", chunk=OFD_CHUNK):
    """Seal the OFD copies of these certificates (PDFs signed) in the background: 'ofd' tasks of `chunk`."""
    _queue_chunks("ofd", title, certificate_ids, chunk)


def _queue_chunks(kind, title, certificate_ids, chunk):
    ids = list(certificate_ids)
    tasks = [start_task(kind, title=title, total=len(ids[i:i + chunk]),
                        params={"certificate_ids": ids[i:i + chunk]}) for i in range(0, len(ids), chunk)]
    db.session.flush()
    task_ids = [task.id for task in tasks]
    db.session.commit()
    # one SELECT loads them all again after the commit (enqueue_tasks reads each: one SELECT a task otherwise)
    db.session.scalars(db.select(Task).where(Task.id.in_(task_ids))).all()
    enqueue_tasks(tasks)


def seals_in_flight(kinds=("pdf",)):
    """Ids of the certificates an unfinished (queued, running or waiting to retry) task of these kinds will seal."""
    held = set()
    for params in db.session.scalars(sa.select(Task.params).where(
            Task.kind.in_(kinds), Task.state.in_(ACTIVE_STATES))):
        held.update((params or {}).get("certificate_ids", ()))
    return held


def queue_unsealed(certificate_ids):
    """Queue the sealing of those of these certificates that are pending and in no unfinished 'pdf' task
    (their job was lost, or never queued); returns how many. Safe to repeat: sealing is idempotent."""
    held = seals_in_flight()
    ids = [i for i in certificate_ids if i not in held]
    pending = db.session.scalars(sa.select(Certificate.id).where(
        Certificate.id.in_(ids), Certificate.pdf_state == "pending").order_by(Certificate.id)).all() if ids else []
    if pending:
        queue_seals(pending)
    return len(pending)


def run_seal_task(task_id):
    """A 'pdf' task: render and sign each of its certificates (a signed one is skipped), counting the signed;
    then queue their OFD copies. The OFD is two fifths of the sealing step: made after the PDFs (its tasks
    queue behind the PDF tasks already waiting), an import's PDFs — what the clerk downloads and the ministry's
    record points to — are all ready minutes sooner, and the OFDs follow."""
    with task_run(task_id) as report:
        if report is None:
            return
        signed = []
        for certificate_id in report.task.params["certificate_ids"]:
            state = seal_certificate(certificate_id, with_ofd=False)
            report.count(state == "signed")
            if state == "signed":
                signed.append(certificate_id)
        missing = db.session.scalars(sa.select(Certificate.id).where(
            Certificate.id.in_(signed), Certificate.ofd_state == "pending")).all() if signed else []
        if missing:
            queue_ofd_copies(missing)


def ofd_relative_path(cert):
    """Where a certificate's OFD is first stored; the path is then kept in ofd_path (as pdf_path for the
    PDF), so that a later layout of the store leaves the files already written where they are."""
    return f"ofd/{cert.year}/{cert.ecert_id}.ofd"


def certificate_ofd(cert, signed_at=None, page=None):
    """The OFD of *cert*: the PDF's face (*page*, when the caller has laid it out already) under its
    authority's SM2 electronic seal, number and 电子证照标识 in its (sealed) OFD.xml. Raises
    seal_keys.CredentialsMissing when the authority has no seal yet."""
    signer = seal_keys.seal_signer_for(cert.authority_uscc)
    return sealed_ofd_from_page(page or layout_certificate(build_document(cert)), signer,
                                created=signed_at or dt.datetime.now(dt.timezone.utc), author=cert.authority_name,
                                custom_data={CUSTOM_NUMBER: cert.number, CUSTOM_LICENSE_ID: cert.license_id})


def seal_ofd_copy(cert, page=None):
    """Seal and store the OFD beside the certificate's signed PDF (the caller commits; *page* is the face
    the PDF was drawn from, if at hand); nothing to do while the PDF is not signed or the OFD is. Never
    raises: a failure is kept in ofd_state / ofd_error."""
    if cert.pdf_state != "signed" or cert.ofd_state == "signed":
        return
    try:
        cert.ofd_path = storage.write_bytes(ofd_relative_path(cert), certificate_ofd(cert, page=page))
        cert.ofd_state, cert.ofd_error = "signed", None
    except seal_keys.CredentialsMissing:
        cert.ofd_state = "failed"
        cert.ofd_error = (f"发证机关 {cert.authority_name} 尚未配置 SM2 电子印章，OFD 版电子证照未生成"
                          f"（PDF 版不受影响）；系统管理员生成密钥后将自动补签")
    except OSError as exc:  # a full or unwritable disk: still pending, so the reconciler queues it again
        log.exception("storing the OFD of certificate %s failed", cert.number)
        cert.ofd_state, cert.ofd_error = "pending", f"OFD 版电子证照保存失败（{_os_reason(exc)}）；系统将自动重试"
    except Exception as exc:  # the PDF is signed and stays so; the reason is kept for the clerk and the log
        log.exception("sealing the OFD of certificate %s failed", cert.number)
        cert.ofd_state, cert.ofd_error = "failed", f"OFD 版电子证照生成失败：{type(exc).__name__}"


def read_sealed_ofd(cert):
    """The OFD first sealed for the certificate, or None while there is none (for a cancelled certificate the
    unmarked original: downloads go through :func:`deliverable_ofd`)."""
    if cert.ofd_state != "signed" or not cert.ofd_path:
        return None
    return storage.read_bytes(cert.ofd_path)


def read_cancelled_ofd(cert):
    """The cancelled OFD rendition: the 已注销 face under the authority's SM2 seal again."""
    def make():
        try:
            return certificate_ofd(cert)
        except seal_keys.CredentialsMissing:
            raise _no_key(cert, " SM2 电子印章") from None
    return _cancelled_rendition(cancelled_ofd_relative_path(cert), make)


def deliverable_ofd(cert):
    """The OFD every download hands out (证照维护, 委托授权, the public verification page), like
    :func:`deliverable_pdf`: the sealed file, or a cancelled certificate's 已注销 rendition. None while there
    is no OFD. Raises CopyUnavailable when the rendition cannot be sealed."""
    if cert.ofd_state != "signed":
        return None
    return read_cancelled_ofd(cert) if cert.status == "cancelled" else read_sealed_ofd(cert)
