"""The sealed OFD of a stored certificate, its 电子证照标识, and verifying an OFD against the register.

The Flask/database side of :mod:`.ofd`, :mod:`.ofd_seal` and :mod:`.ofd_verify` — what the issuing
pipeline, the pages and the CLI call:

* :func:`license_id_for` — the certificate's GB/T 36904 identifier (LICENSE_TYPE_CODE from config);
* :func:`certificate_ofd` — the OFD bytes of a certificate under its authority's SM2 seal;
* :func:`verify_ofd_bytes` — seal, integrity and the certificate's current status, like
  :func:`portal.certificates.verification.verify_pdf_bytes` for PDFs;
* :func:`verify_certificate_file` — either, by what the file is (``certs verify``, the public page).
"""
import datetime as dt
from dataclasses import dataclass

from flask import current_app

from portal.certificates import seal_keys
from portal.certificates.documents import build_document
from portal.certificates.interim_layout import interim_layout
from portal.certificates.models import Certificate
from portal.certificates.ofd_seal import sealed_ofd_from_page
from portal.certificates.ofd_verify import OfdCheck, verify_ofd
from portal.certificates.verification import CANCELLED_MARK, PdfVerification, cancellation_problem, \
    verify_pdf_bytes
from portal.extensions import db
from portal.standard.license_id import LicenseId, serial_for_certificate_number

# OFD.xml CustomData names: covered by the seal (OFD.xml is one of the signed files)
CUSTOM_NUMBER = "证书编号"
CUSTOM_LICENSE_ID = "电子证照标识"


def looks_like_ofd(data):
    """An OFD is a zip package: it starts with a local file header."""
    return data[:4] == b"PK\x03\x04"


def license_id_for(cert):
    """The 电子证照标识 of a certificate (流水号 from its number, version 001)."""
    return LicenseId.build(current_app.config["LICENSE_TYPE_CODE"], cert.authority_uscc,
                           serial_for_certificate_number(cert.number))


def certificate_ofd(cert, signed_at=None):
    """The OFD (GB/T 33190) of *cert* under its authority's SM2 electronic seal (GB/T 38540).

    Raises seal_keys.CredentialsMissing when the authority has no seal yet.
    """
    signer = seal_keys.seal_signer_for(cert.authority_uscc)
    license_id = str(license_id_for(cert))
    page = interim_layout(build_document(cert), license_id)  # TEMPORARY: layout_certificate(doc) when it lands
    return sealed_ofd_from_page(page, signer, created=signed_at or dt.datetime.now(dt.timezone.utc),
                                author=cert.authority_name,
                                custom_data={CUSTOM_NUMBER: cert.number, CUSTOM_LICENSE_ID: license_id})


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
    return OfdVerification(signature_valid=check.valid, unmodified=check.intact, certificate=cert,
                           problems=problems, message=check.message, signer=check.signer, seal_name=check.seal_name,
                           signed_at=check.signed_at, kind="OFD", check=check,
                           marked_cancelled=check.intact and CANCELLED_MARK in check.doc_info.get("Keywords", ""))


def verify_certificate_file(data):
    """A certificate file, PDF or OFD, judged as `certs verify` judges it (never raises)."""
    return verify_ofd_bytes(data) if looks_like_ofd(data) else verify_pdf_bytes(data)
