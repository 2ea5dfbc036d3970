"""公开查询 services: verification by QR token or by an uploaded file, the narrow public lookup, and its
rate limiter.

The public sees a few face fields of one certificate at a time: lookups are exact (证书编号, 统一社会
信用代码, 电子证照标识) or a name prefix of at least MIN_NAME_PREFIX characters, at most MAX_RESULTS rows, never a
listing. Only the QR code's token (the verification page) also hands out the certificate's sealed PDF and OFD.
An uploaded PDF or OFD is judged as `certs verify` judges it (portal.certificates); the public is told the
verdict, who sealed, and the certificate's state, never a stack trace.
"""
import datetime as dt
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import sqlalchemy as sa

from portal.certificates.models import Certificate
from portal.certificates.ofd_documents import verify_certificate_file
from portal.clock import business_timezone, local_time
from portal.display import prefix_pattern
from portal.extensions import db
from portal.standard import codes
from portal.standard.license_id import LicenseId
from portal.standard.values import CertificateNumber

MAX_RESULTS = 20
MIN_NAME_PREFIX = 4
KINDS = {"name": "使用单位名称", "uscc": "统一社会信用代码", "number": "证书编号", "license_id": "电子证照标识"}
_TOKEN_RE = re.compile(r"[A-Za-z0-9_\-]{16,64}")


@dataclass
class PublicView:
    """What the public may read of one certificate."""
    number: str
    license_id: str
    holder_name: str
    crane_type_name: str
    record_number: str
    project_name: str
    authority_name: str
    issue_date: str
    valid_until: str
    is_valid: bool
    cancelled_on: str = ""
    has_ofd: bool = False


def public_view(cert):
    """The public face of a certificate: key fields, 有效 or 已注销 with its (Beijing) date."""
    crane = codes.crane_type(cert.crane_type)
    cancelled = local_time(cert.cancelled_at)
    return PublicView(
        number=cert.number, license_id=cert.license_id, holder_name=cert.holder_name,
        crane_type_name=f"{crane.name}（{crane.letter}）" if crane else cert.crane_type,
        record_number=cert.record_number, project_name=cert.project_name, authority_name=cert.authority_name,
        issue_date=cert.issue_date.isoformat(),
        valid_until=cert.valid_until.isoformat() if cert.valid_until else "长期有效",
        is_valid=cert.status == "issued", cancelled_on=cancelled.date().isoformat() if cancelled else "",
        has_ofd=cert.ofd_state == "signed")


def certificate_by_token(token):
    """The certificate behind a QR code's token, or None (a malformed token is not looked up)."""
    if not _TOKEN_RE.fullmatch(token or ""):
        return None
    return db.session.scalar(sa.select(Certificate).where(Certificate.verify_token == token))


def verify_token(token):
    """The certificate behind a QR code's token, as the public sees it; None when there is none."""
    cert = certificate_by_token(token)
    return public_view(cert) if cert else None


@dataclass
class FileVerdict:
    """What the public learns of an uploaded certificate file."""
    kind: str  # PDF / OFD
    seal_valid: bool  # the signature / electronic seal is valid and covers the whole, unchanged file
    unmodified: bool
    message: str  # the seal's verdict in words
    signer: str
    seal_name: str
    signed_at: str  # Beijing time, or ""
    certificate: PublicView | None  # only from an intact file
    marked_cancelled: bool  # the file is the 已注销 rendition
    problems: list

    @property
    def ok(self):
        return self.seal_valid and self.certificate is not None and self.certificate.is_valid


def check_certificate_file(data):
    """Judge an uploaded PDF or OFD: seal, integrity, signer, and the certificate's current state."""
    result = verify_certificate_file(data)
    signed_at = ""
    if result.signed_at is not None:
        at = result.signed_at if result.signed_at.tzinfo else result.signed_at.replace(tzinfo=dt.timezone.utc)
        signed_at = at.astimezone(business_timezone()).strftime("%Y-%m-%d %H:%M:%S")
    cert = result.certificate
    return FileVerdict(kind=result.kind, seal_valid=bool(result.signature_valid and result.unmodified),
                       unmodified=bool(result.unmodified), message=result.message or "", signer=result.signer or "",
                       seal_name=result.seal_name or "", signed_at=signed_at,
                       certificate=public_view(cert) if cert is not None else None,
                       marked_cancelled=result.marked_cancelled, problems=list(result.problems))


@dataclass
class LookupResult:
    """A lookup's answer: the certificates found, and a hint when the query was too broad to run."""
    rows: list = field(default_factory=list)
    hint: str = ""
    searched: bool = False


def lookup_certificates(kind, query):
    """Exact 证书编号 / 统一社会信用代码 / 电子证照标识, or 使用单位名称 exact or by a prefix of ≥ 4 characters;
    ≤ 20 rows."""
    query = (query or "").strip()[:200]
    if kind not in KINDS or not query:
        return LookupResult()
    if kind == "number":
        condition = Certificate.number == CertificateNumber.normalize(query)
    elif kind == "uscc":
        condition = Certificate.holder_uscc == query.upper()
    elif kind == "license_id":
        condition = Certificate.license_id == LicenseId.normalize(query)
    elif len(query) >= MIN_NAME_PREFIX:
        condition = Certificate.holder_name.like(prefix_pattern(query), escape="\\")
    else:
        condition = Certificate.holder_name == query
    certs = db.session.scalars(sa.select(Certificate).where(condition).order_by(Certificate.id.desc())
                               .limit(MAX_RESULTS + 1)).all()
    hint = ""
    if kind == "name" and len(query) < MIN_NAME_PREFIX and not certs:
        hint = f"按单位名称查询时，请输入单位全称，或至少 {MIN_NAME_PREFIX} 个字的名称开头"
    elif len(certs) > MAX_RESULTS:
        hint = f"符合条件的证书超过 {MAX_RESULTS} 条，仅显示最近的 {MAX_RESULTS} 条，请输入更完整的名称"
    return LookupResult(rows=[public_view(c) for c in certs[:MAX_RESULTS]], hint=hint, searched=True)


class SlidingWindowLimiter:
    """At most `limit` hits per key in any `window` seconds, in this process (thread-safe)."""

    def __init__(self, limit, window, max_keys=100_000):
        self.limit, self.window, self.max_keys = limit, window, max_keys
        self._hits = {}
        self._lock = threading.Lock()

    def hit(self, key, now=None):
        """Count one hit for key; False when it is over the limit (the refused hit is not counted)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                if len(self._hits) >= self.max_keys:
                    self._prune(now)
                hits = self._hits[key] = deque()
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            return True

    def _prune(self, now):
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= now - self.window]:
            del self._hits[key]
        if len(self._hits) >= self.max_keys:  # a flood of distinct keys: forget the oldest half
            for key in sorted(self._hits, key=lambda k: self._hits[k][-1])[: self.max_keys // 2]:
                del self._hits[key]
