"""Verifying a certificate PDF: signature, integrity, and the certificate's current state."""
import io
from dataclasses import dataclass, field

from portal.certificates import keys
from portal.certificates.models import Certificate
from portal.certificates.signature_check import verify_certificate_pdf
from portal.clock import format_time
from portal.extensions import db
from portal.standard.values import CertificateNumber

@dataclass
class PdfVerification:
    signature_valid: bool
    unmodified: bool
    certificate: Certificate | None
    problems: list = field(default_factory=list)

    @property
    def ok(self):
        return self.signature_valid and self.unmodified and self.certificate is not None \
            and self.certificate.status == "issued"

    def lines(self):
        yield f"签名：{'有效' if self.signature_valid else '无效'}"
        yield f"文件完整性：{'未被修改' if self.unmodified else '已被修改或损坏'}"
        if self.certificate is None:
            yield "证书状态：查无此证"
        else:
            cert = self.certificate
            state = "有效" if cert.status == "issued" else f"已注销（{format_time(cert.cancelled_at, '%Y-%m-%d')}）"
            yield f"证书：{cert.number} {cert.holder_name}，发证机关 {cert.authority_name}，状态：{state}"
        for problem in self.problems:
            yield f"问题：{problem}"
        yield "结论：" + ("验证通过" if self.ok else "验证未通过")


def _find_certificate(pdf_bytes):
    """The certificate the PDF names in its document title (建筑起重机械使用登记证书 <证书编号>)."""
    from pyhanko.pdf_utils.reader import PdfFileReader  # where used: slow to import (see signing)
    try:
        title = str(PdfFileReader(io.BytesIO(pdf_bytes), strict=False).trailer["/Info"].get("/Title", ""))
    except Exception:  # not a PDF we can read: no certificate to name
        return None
    number = CertificateNumber.search(title)
    if number is None:
        return None
    return db.session.scalar(db.select(Certificate).filter_by(number=number))


def verify_pdf_bytes(pdf_bytes):
    """Check a PDF's signature against the trusted roots and look its certificate up."""
    check = verify_certificate_pdf(pdf_bytes, keys.trust_roots())
    problems = [] if check.valid and check.intact else [check.message]
    cert = _find_certificate(pdf_bytes)
    if cert is None:
        problems.append("文件中找不到可识别的证书信息，或该证书不存在")
    elif cert.status != "issued":
        problems.append(f"证书已于 {format_time(cert.cancelled_at, '%Y-%m-%d')} 注销：{cert.cancel_reason or ''}")
    return PdfVerification(signature_valid=bool(check.signed and check.valid), unmodified=bool(check.intact),
                           certificate=cert, problems=problems)
