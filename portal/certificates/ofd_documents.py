"""The register's side of the OFD copies: verifying an OFD, and sealing the OFDs certificates lack.

* :func:`verify_ofd_bytes` — seal, integrity and the certificate's current status, like
  :func:`portal.certificates.verification.verify_pdf_bytes` for PDFs;
* :func:`looks_like_ofd` — which of the two a file is;
* :func:`verify_certificate_file` — either, by what the file is (``certs verify``, the public page);
* :func:`queue_missing_ofds` / :func:`seal_missing_ofds` — after an authority's SM2 seal key is made (or the
  upgrade that brought OFDs), the certificates with a signed PDF and no OFD get theirs.

The OFD of a certificate is made in the sealing step, :func:`.documents.seal_ofd_copy`, beside its PDF — at
once for a single certificate, in an 'ofd' task right after the PDFs for a 'pdf' task's certificates.
"""
from dataclasses import dataclass

from portal.background.lifecycle import task_run
from portal.certificates import seal_keys
from portal.certificates.documents import CUSTOM_LICENSE_ID, CUSTOM_NUMBER, queue_ofd_copies, seal_ofd_copy
from portal.certificates.models import Certificate
from portal.certificates.ofd_verify import OfdCheck, verify_ofd
from portal.certificates.verification import CANCELLED_MARK, PdfVerification, cancellation_problem, \
    verify_pdf_bytes
from portal.extensions import db


def looks_like_ofd(data):
    """An OFD is a zip package: it starts with a local file header."""
    return data[:4] == b"PK\x03\x04"


@dataclass
class OfdVerification(PdfVerification):
    """The PDF verdict's lines (signature, integrity, certificate, problems, conclusion), the seal's first."""

    check: OfdCheck | None = None

    def lines(self):
        check = self.check
        yield f"电子签章：{'有效' if check.valid else '无效'}（{check.message}）"
        yield from super().lines()

    def seal_lines(self):
        check = self.check
        if check.seal_name:
            yield f"印章：{check.seal_name}，签章者：{check.signer}，签章时间：{check.signed_at:%Y-%m-%d %H:%M:%S} UTC"
        if check.intact and check.doc_info.get(CUSTOM_LICENSE_ID):
            yield f"电子证照标识：{check.doc_info[CUSTOM_LICENSE_ID]}"


def verify_ofd_bytes(data):
    """Check an OFD's seal against the SM2 trust roots and look its certificate up (only from an intact file)."""
    check = verify_ofd(data, seal_keys.seal_trust_roots())
    problems = list(check.problems)
    cert = None
    number = check.doc_info.get(CUSTOM_NUMBER) if check.intact else None
    if number:
        cert = db.session.scalar(db.select(Certificate).filter_by(number=number))
    if cert is None:
        problems.append("文件中找不到可识别的证书信息，或该证书不存在")
    elif cert.status != "issued":
        problems.append(cancellation_problem(cert))
    if cert is not None and check.doc_info.get(CUSTOM_LICENSE_ID) != cert.license_id:
        problems.append(f"文件中的电子证照标识与该证书登记的标识 {cert.license_id} 不一致")
    return OfdVerification(signature_valid=check.valid, unmodified=check.intact, certificate=cert,
                           problems=problems, message=check.message, signer=check.signer, seal_name=check.seal_name,
                           signed_at=check.signed_at, kind="OFD", check=check,
                           marked_cancelled=check.intact and CANCELLED_MARK in check.doc_info.get("Keywords", ""))


def verify_certificate_file(data):
    """A certificate file, PDF or OFD, judged as `certs verify` judges it (never raises)."""
    return verify_ofd_bytes(data) if looks_like_ofd(data) else verify_pdf_bytes(data)


def missing_ofd_ids(authority_uscc=None):
    """Certificates whose PDF is signed but whose OFD is not (of one authority, or of all)."""
    query = db.select(Certificate.id).where(Certificate.pdf_state == "signed", Certificate.ofd_state != "signed")
    if authority_uscc:
        query = query.where(Certificate.authority_uscc == authority_uscc)
    return list(db.session.scalars(query.order_by(Certificate.id)))


def seal_missing_ofds(certificate_ids, count=lambda ok: None):
    """Seal the OFD of each certificate that lacks one, committing each; count(ok) after each."""
    for certificate_id in certificate_ids:
        cert = db.session.get(Certificate, certificate_id, with_for_update=True, populate_existing=True)
        if cert is not None:  # locked: of two deliveries of the same work, one seals it, the other skips it
            seal_ofd_copy(cert)
            db.session.commit()
        count(cert is not None and cert.ofd_state == "signed")


def queue_missing_ofds(authority_uscc):
    """Seal the authority's certificates' missing OFDs in the background ('ofd' tasks); returns how many."""
    ids = missing_ofd_ids(authority_uscc)
    queue_ofd_copies(ids, title="补签 OFD 电子证照")
    return len(ids)


def run_ofd_task(task_id):
    """An 'ofd' task: seal the missing OFD of each of its certificates, counting the sealed."""
    with task_run(task_id) as report:
        if report is not None:
            seal_missing_ofds(report.task.params["certificate_ids"], report.count)
