"""The sealed PDF of a stored certificate: build the printable document, render, sign, store; now, or in
'pdf' tasks of a few certificates each that any number of workers share."""
import datetime as dt
import logging

from flask import current_app

from portal import storage
from portal.background.lifecycle import enqueue_task, start_task, task_run
from portal.background.models import Task
from portal.certificates import keys
from portal.certificates.models import Certificate, CertificateEvent
from portal.certificates.pdf import CertificateDocument, FaceTooLong, render_certificate_pdf
from portal.certificates.signing import sign_certificate_pdf
from portal.extensions import db
from portal.standard import codes
from portal.standard.fields import FIELDS

log = logging.getLogger(__name__)
SEAL_CHUNK = 25  # certificates per PDF task: few tasks, yet enough of them for every worker to take some

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


def face_person_rows(cert):
    """The persons as the certificate prints them: no phone number (PIPL); the face masks the ID number."""
    return [{key: value for key, value in row.items() if key != "phone"} for row in person_rows(cert)]


def build_document(cert):
    """The printable document of a certificate."""
    crane = codes.crane_type(cert.crane_type)
    return CertificateDocument(
        number=cert.number, holder_name=cert.holder_name, holder_uscc=cert.holder_uscc,
        crane_type_name=f"{crane.name}（{crane.letter}）", face=face_rows(cert), business=business_rows(cert),
        persons=face_person_rows(cert), authority_name=cert.authority_name, authority_uscc=cert.authority_uscc,
        issue_date=cert.issue_date, valid_until=cert.valid_until, verify_url=verify_url(cert))


def pdf_relative_path(cert):
    return f"pdf/{cert.year}/{cert.ecert_id}.pdf"


def seal_certificate(certificate_id):
    """Render and sign the certificate's PDF, store it, and mark it signed (idempotent).

    A failure is recorded on the certificate (签章失败 + reason) rather than raised, so that one
    bad certificate never stops an import's other PDFs.
    """
    cert = db.session.get(Certificate, certificate_id)
    if cert is None or cert.pdf_state == "signed":
        return cert
    try:
        signer = keys.signer_for(cert.authority_uscc)
        signed = sign_certificate_pdf(render_certificate_pdf(build_document(cert)), signer, cert.authority_name)
        cert.pdf_path = storage.write_bytes(pdf_relative_path(cert), signed)
        cert.pdf_state, cert.pdf_error = "signed", None
        db.session.add(CertificateEvent(certificate=cert, action="sealed", actor_name="system",
                                        detail="电子证照已生成并签章"))
    except keys.CredentialsMissing:
        cert.pdf_state = "failed"
        cert.pdf_error = f"发证机关 {cert.authority_name} 尚未配置电子签章密钥，请联系系统管理员"
    except FaceTooLong as exc:
        cert.pdf_state, cert.pdf_error = "failed", str(exc)
    except Exception as exc:  # recorded for the clerk and the log; the job itself must not die
        log.exception("sealing certificate %s failed", cert.number)
        cert.pdf_state, cert.pdf_error = "failed", f"电子证照生成失败：{type(exc).__name__}"
    db.session.commit()
    return cert


def warm_up_sealing(authorities):
    """Render a sample face and seal it for each (uscc, name) that has a key, keeping nothing.

    A process forked afterwards (each RQ work horse) starts with the font's common subset, the QR
    encoder, pyHanko and every authority's parsed key and seal already loaded: forked cold, the first
    certificate of a job took 300–500 ms longer than the others.
    """
    sample = render_certificate_pdf(CertificateDocument(
        number="140105T（2026）0000000", holder_name="山西建工集团有限公司", holder_uscc="91140000110012345K",
        crane_type_name="塔式起重机（T）", face=[("规格型号", "QTZ80")], business=[], persons=[],
        authority_name="", authority_uscc="", issue_date=dt.date(2026, 1, 1), valid_until=None,
        verify_url="https://example.invalid/public/verify/0"))
    for uscc, name in authorities:
        try:
            sign_certificate_pdf(sample, keys.signer_for(uscc), name)
        except keys.CredentialsMissing:
            continue


def read_signed_pdf(cert):
    """The signed PDF bytes, or None while it is not ready."""
    if cert.pdf_state != "signed" or not cert.pdf_path:
        return None
    return storage.read_bytes(cert.pdf_path)


def queue_seals(certificate_ids, chunk=SEAL_CHUNK):
    """Seal these certificates in the background: one 'pdf' task per `chunk` of them, committed and enqueued."""
    ids = list(certificate_ids)
    tasks = [start_task("pdf", title="生成电子证照", total=len(ids[i:i + chunk]),
                        params={"certificate_ids": ids[i:i + chunk]}) for i in range(0, len(ids), chunk)]
    db.session.flush()
    task_ids = [task.id for task in tasks]
    db.session.commit()
    # one SELECT loads them all again after the commit (enqueue_task reads each: one SELECT a task otherwise)
    db.session.scalars(db.select(Task).where(Task.id.in_(task_ids))).all()
    for task in tasks:
        enqueue_task(task)


def run_seal_task(task_id):
    """A 'pdf' task: render and sign each of its certificates (a signed one is skipped), counting the signed."""
    with task_run(task_id) as report:
        if report is None:
            return
        for certificate_id in report.task.params["certificate_ids"]:
            cert = seal_certificate(certificate_id)
            report.count(cert is not None and cert.pdf_state == "signed")
