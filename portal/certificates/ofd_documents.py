"""Verifying an OFD against the register: the Flask/database side of :mod:`.ofd_verify`.

* :func:`verify_ofd_bytes` — seal, integrity and the certificate's current status, like
  :func:`portal.certificates.verification.verify_pdf_bytes` for PDFs;
* :func:`looks_like_ofd` — which of the two a file is.

The OFD of a certificate is made in :mod:`.documents` (:func:`~.documents.certificate_ofd`), beside its PDF.
"""
from dataclasses import dataclass

from portal.certificates import seal_keys
from portal.certificates.documents import CUSTOM_LICENSE_ID, CUSTOM_NUMBER
from portal.certificates.models import Certificate
from portal.certificates.ofd_verify import OfdCheck, verify_ofd
from portal.certificates.verification import PdfVerification
from portal.extensions import db


def looks_like_ofd(data):
    """An OFD is a zip package: it starts with a local file header."""
    return data[:4] == b"PK\x03\x04"


@dataclass
class OfdVerification(PdfVerification):
    """The PDF verdict's lines (signature, integrity, certificate, problems, conclusion) after the seal's."""

    check: OfdCheck | None = None

    def lines(self):
        check = self.check
        yield f"电子签章：{'有效' if check.valid else '无效'}（{check.message}）"
        if check.seal_name:
            yield f"印章：{check.seal_name}，签章者：{check.signer}，签章时间：{check.signed_at:%Y-%m-%d %H:%M:%S} UTC"
        if check.intact and check.doc_info.get(CUSTOM_LICENSE_ID):
            yield f"电子证照标识：{check.doc_info[CUSTOM_LICENSE_ID]}"
        yield from super().lines()


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
        problems.append(f"证书已于 {cert.cancelled_at:%Y-%m-%d} 注销：{cert.cancel_reason or ''}")
    if cert is not None and check.doc_info.get(CUSTOM_LICENSE_ID) != cert.license_id:
        problems.append(f"文件中的电子证照标识与该证书登记的标识 {cert.license_id} 不一致")
    return OfdVerification(signature_valid=check.valid, unmodified=check.intact, certificate=cert,
                           problems=problems, check=check)
