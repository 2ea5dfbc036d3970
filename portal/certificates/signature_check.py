"""Checking a certificate PDF's signature against trusted roots: never raises, answers a SignatureCheck.

Plain values in and out: no Flask, no database (the certificate's state is :mod:`.verification`'s).
pyHanko is imported where it is used, as in :mod:`.signing`.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .signing import as_asn1_certificate, outside_event_loop

log = logging.getLogger(__name__)

__all__ = ["SignatureCheck", "verify_certificate_pdf"]

MSG_VALID = "签名有效"
MSG_UNSIGNED = "未签名"
MSG_TAMPERED = "文件已被篡改"
MSG_UNTRUSTED = "签名证书不受信任"
MSG_MODIFIED = "签名后文件被修改"
MSG_INVALID = "签名无效"
MSG_DAMAGED = "文件已损坏或被篡改，无法验证签名"


@dataclass(frozen=True)
class SignatureCheck:
    signed: bool
    valid: bool
    intact: bool
    signer: str | None
    signed_at: dt.datetime | None
    message: str
    trusted: bool = False


def _signer_cn(status) -> str | None:
    try:
        cert = status.signing_cert
        cn = cert.subject.native.get("common_name")
        if isinstance(cn, list):
            cn = cn[0] if cn else None
        return str(cn) if cn else None
    except Exception:  # pragma: no cover - defensive
        return None


def _usable_roots(trust_roots: Iterable) -> list:
    """Trust roots as asn1crypto certificates; a PEM/DER file path is read.

    An unusable entry is logged and skipped (the signature then fails as
    untrusted, not as a damaged file).
    """
    roots = []
    for item in trust_roots or ():
        try:
            if isinstance(item, (str, os.PathLike)):
                item = Path(item).read_bytes()
            roots.append(as_asn1_certificate(item))
        except Exception as exc:
            log.warning("ignoring unusable trust root (%s)", type(exc).__name__)
    return roots


def verify_certificate_pdf(pdf_bytes: bytes, trust_roots: Iterable) -> SignatureCheck:
    """Check the certificate's signature; never raises.

    ``valid`` is pyHanko's ``bottom_line`` (and the signature must cover the
    whole file): a flipped byte makes ``intact`` False, which alone is enough
    to make ``valid`` False here.
    """
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    data = bytes(pdf_bytes or b"")
    maybe_signed = b"/ByteRange" in data
    roots = _usable_roots(trust_roots)
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        sigs = reader.embedded_signatures
        if not sigs:
            if maybe_signed:
                return SignatureCheck(True, False, False, None, None, MSG_DAMAGED)
            return SignatureCheck(False, False, False, None, None, MSG_UNSIGNED)
        sig = sigs[-1]
        vc = ValidationContext(trust_roots=roots, allow_fetching=False)
        status = outside_event_loop(validate_pdf_signature, sig, signer_validation_context=vc)
    except Exception as exc:  # PdfReadError on a damaged /ByteRange, and worse
        log.info("signature check failed: %s", type(exc).__name__)
        return SignatureCheck(maybe_signed, False, False, None, None, MSG_DAMAGED)

    intact = bool(status.intact)
    trusted = bool(status.trusted)
    whole_file = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    valid = bool(status.bottom_line) and intact and whole_file
    if valid:
        message = MSG_VALID
    elif not intact:
        message = MSG_TAMPERED
    elif not trusted:
        message = MSG_UNTRUSTED
    elif not whole_file:
        message = MSG_MODIFIED
    else:
        message = MSG_INVALID
    return SignatureCheck(
        signed=True,
        valid=valid,
        intact=intact,
        signer=_signer_cn(status),
        signed_at=getattr(status, "signer_reported_dt", None),
        message=message,
        trusted=trusted,
    )
