"""Verifying a certificate PDF: signature, integrity, and the certificate's current state.

The certificate is looked up only from an intact file (as for an OFD): the number in a changed file
proves nothing, so a tampered file names no certificate.
"""
import io
from dataclasses import dataclass, field
from datetime import datetime

from portal.certificates import keys
from portal.certificates.models import Certificate
from portal.certificates.signature_check import verify_certificate_pdf
from portal.clock import format_time
from portal.extensions import db
from portal.standard.values import CertificateNumber

# The keyword the 已注销 rendition carries in its metadata (its face's status note starts with it).
CANCELLED_MARK = "已注销"


@dataclass
class PdfVerification:
    signature_valid: bool
    unmodified: bool
    certificate: Certificate | None
    problems: list = field(default_factory=list)
    message: str = ""  # the seal's verdict in words (签名有效, 文件已被篡改, …)
    signer: str | None = None  # who sealed: the signing certificate's name
    seal_name: str | None = None  # the electronic seal's own name (OFD)
    signed_at: datetime | None = None  # UTC, as the signer reported it
    marked_cancelled: bool = False  # the file is the 已注销 rendition (its face carries the mark)
    kind: str = "PDF"

    @property
    def ok(self):
        return self.signature_valid and self.unmodified and self.certificate is not None \
            and self.certificate.status == "issued"

    def lines(self):
        yield f"签名：{'有效' if self.signature_valid else '无效'}"
        yield f"文件完整性：{'未被修改' if self.unmodified else '已被修改或损坏'}"
        yield from self.seal_lines()
        if self.certificate is None:
            yield "证书状态：查无此证"
        else:
            cert = self.certificate
            state = "有效" if cert.status == "issued" else f"已注销（{format_time(cert.cancelled_at, '%Y-%m-%d')}）"
            yield f"证书：{cert.number} {cert.holder_name}，发证机关 {cert.authority_name}，状态：{state}"
        for problem in self.problems:
            yield f"问题：{problem}"
        yield "结论：" + ("验证通过" if self.ok else "验证未通过")


    def seal_lines(self):
        if self.signer:
            yield f"签章者：{self.signer}"


def cancellation_problem(cert):
    """What a verdict says of a cancelled certificate: the date (Beijing) and the reason."""
    return f"证书已于 {format_time(cert.cancelled_at, '%Y-%m-%d')} 注销：{cert.cancel_reason or ''}"


def _document_info(pdf_bytes):
    """(title, keywords) of the PDF's document information; empty strings when unreadable."""
    from pyhanko.pdf_utils.reader import PdfFileReader  # where used: slow to import (see signing)
    try:
        info = PdfFileReader(io.BytesIO(pdf_bytes), strict=False).trailer["/Info"]
        return str(info.get("/Title", "")), str(info.get("/Keywords", ""))
    except Exception:  # not a PDF we can read: no certificate to name
        return "", ""


def verify_pdf_bytes(pdf_bytes):
    """Check a PDF's signature against the trusted roots and look its certificate up."""
    check = verify_certificate_pdf(pdf_bytes, keys.trust_roots())
    problems = [] if check.valid and check.intact else [check.message]
    cert, keywords = None, ""
    if check.intact:
        title, keywords = _document_info(pdf_bytes)
        number = CertificateNumber.search(title)
        if number is not None:
            cert = db.session.scalar(db.select(Certificate).filter_by(number=number))
    if cert is None:
        problems.append("文件中找不到可识别的证书信息，或该证书不存在")
    elif cert.status != "issued":
        problems.append(cancellation_problem(cert))
    return PdfVerification(signature_valid=bool(check.signed and check.valid), unmodified=bool(check.intact),
                           certificate=cert, problems=problems, message=check.message, signer=check.signer,
                           signed_at=check.signed_at, marked_cancelled=CANCELLED_MARK in keywords)
