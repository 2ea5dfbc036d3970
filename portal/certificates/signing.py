"""PAdES signatures for certificate PDFs: keys, signing, verification.

Plain values in, bytes out: no Flask, no database.

* :class:`DevPki` — a development PKI on disk (the app passes ``instance/pki``):
  one self-signed root, one key + certificate per issuing authority, every
  private key encrypted with the passphrase (mode 0600).
* :func:`load_pkcs12_signer` — the production alternative (a .p12/.pfx issued
  by a real CA).
* :class:`AuthoritySigner` — one authority's parsed key and chain with its
  pyHanko signer built once; :meth:`DevPki.signer_for` caches them per USCC.
* :func:`sign_certificate_pdf` — PAdES B-B with a visible red seal at
  :data:`~portal.certificates.pdf.SEAL_BOX`.
* :func:`verify_certificate_pdf` — never raises; answers a :class:`SignatureCheck`.

Private keys never appear in logs, ``repr`` or ``str``, and cannot be pickled.
"""

from __future__ import annotations

import binascii
import datetime as dt
import fcntl
import io
import logging
import os
import re
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from .pdf import SEAL_BOX
from .seal import DEFAULT_BOTTOM_TEXT, seal_pdf

log = logging.getLogger(__name__)

__all__ = [
    "AuthoritySigner",
    "CredentialsMissing",
    "DevPki",
    "PkiError",
    "ROOT_CA_NAME",
    "SIGNATURE_FIELD",
    "SignatureCheck",
    "load_pkcs12_signer",
    "sign_certificate_pdf",
    "verify_certificate_pdf",
]

ROOT_CA_NAME = "Shanxi Crane Certificates Dev Root CA"
SIGNATURE_FIELD = "AuthoritySeal"
SIGNATURE_REASON = "电子证照签章"
SIGNATURE_LOCATION = "山西省"
BYTES_RESERVED = 16384

_USCC_RE = re.compile(r"^[0-9A-HJ-NP-RTUW-Y]{18}$")


class PkiError(Exception):
    """Key material cannot be created or loaded (message never holds secrets)."""


class CredentialsMissing(PkiError, LookupError):
    """No signing credentials for this authority."""


# ==========================================================================
# Signer
# ==========================================================================
def _to_asn1_cert(cert):
    """cryptography / asn1crypto certificate, PEM or DER bytes → asn1crypto."""
    from asn1crypto import pem
    from asn1crypto import x509 as asn1_x509

    if isinstance(cert, asn1_x509.Certificate):
        return cert
    if isinstance(cert, x509.Certificate):
        return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    if isinstance(cert, (bytes, bytearray)):
        data = bytes(cert)
        if pem.detect(data):
            _, _, data = pem.unarmor(data)
        return asn1_x509.Certificate.load(data)
    raise TypeError(f"not a certificate: {type(cert).__name__}")


def _common_name(cert: x509.Certificate) -> str | None:
    attrs = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else None


def _serial_number_attr(cert: x509.Certificate) -> str | None:
    attrs = cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    return str(attrs[0].value) if attrs else None


def _make_pyhanko_signer(private_key, cert: x509.Certificate, chain: Sequence[x509.Certificate]):
    """A pyHanko SimpleSigner that signs with an already parsed key.

    Stock SimpleSigner re-parses the DER key on every signature; this subclass
    keeps the cryptography key object it was given.
    """
    from asn1crypto import tsp
    from pyhanko.keys.internal import translate_pyca_cryptography_key_to_asn1
    from pyhanko.sign.attributes import SignedAttributeProviderSpec, SigningCertificateV2Provider
    from pyhanko.sign.general import as_signing_certificate_v2, get_pyca_cryptography_hash
    from pyhanko.sign.signers import SimpleSigner
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    class _SigningCertificateOnce(SigningCertificateV2Provider):
        """ESS signing-certificate-v2, encoded once: it names the signer's certificate, which does not
        change, and building it anew with asn1crypto took about a third of every signature."""

        def __init__(self, signing_cert):
            super().__init__(signing_cert)
            self._der = as_signing_certificate_v2(signing_cert).dump()

        async def build_attr_value(self, dry_run=False):
            return tsp.SigningCertificateV2.load(self._der)

    class _PadesSignedAttributes(SignedAttributeProviderSpec):
        """The signed attributes of a PAdES B-B signature besides content type and digest (what pyHanko's
        CAdES spec yields for PAdES: signing-certificate-v2 only; PAdES forbids signing-time)."""

        def __init__(self, signing_cert):
            self._signing_certificate = _SigningCertificateOnce(signing_cert)

        def signed_attr_providers(self, data_digest, digest_algorithm):
            yield self._signing_certificate

    class _CachedKeySigner(SimpleSigner):
        def __init__(self):
            registry = SimpleCertificateStore()
            registry.register_multiple([_to_asn1_cert(c) for c in chain])
            super().__init__(
                signing_cert=_to_asn1_cert(cert),
                signing_key=translate_pyca_cryptography_key_to_asn1(private_key),
                cert_registry=registry,
            )
            self._pyca_key = private_key
            self.signed_attr_prov_spec = _PadesSignedAttributes(self.signing_cert)

        def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
            mech = self.get_signature_mechanism_for_digest(digest_algorithm)
            try:
                algo = mech.signature_algo
            except ValueError:
                algo = mech["algorithm"].native
            key = self._pyca_key
            if algo == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
                return key.sign(data, ec.ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
            if algo == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPrivateKey):
                return key.sign(
                    data, padding.PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm)
                )
            return super().sign_raw(data, digest_algorithm)  # pragma: no cover

        def __repr__(self) -> str:
            return f"<CachedKeySigner {_common_name(cert)!r}>"

        __str__ = __repr__

        def __reduce__(self):
            raise TypeError("signers hold private keys and cannot be pickled")

    return _CachedKeySigner()


class AuthoritySigner:
    """One authority's signing key and certificate chain, parsed once.

    ``pyhanko_signer`` is the pyHanko ``SimpleSigner`` built once and reused
    for every signature.  The key is never shown by ``repr``/``str`` and the
    object refuses to be pickled.
    """

    __slots__ = ("_key", "certificate", "chain", "pyhanko_signer", "__weakref__")

    def __init__(self, private_key, certificate: x509.Certificate, chain: Iterable = ()):
        if not isinstance(private_key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
            raise PkiError("only ECDSA and RSA signing keys are supported")
        self._key = private_key
        self.certificate = certificate
        self.chain = tuple(chain)
        self.pyhanko_signer = _make_pyhanko_signer(private_key, certificate, self.chain)

    @property
    def subject_name(self) -> str | None:
        return _common_name(self.certificate)

    @property
    def uscc(self) -> str | None:
        return _serial_number_attr(self.certificate)

    def __repr__(self) -> str:
        return f"<AuthoritySigner {self.subject_name!r} uscc={self.uscc!r}>"

    __str__ = __repr__

    def __reduce__(self):
        raise TypeError("AuthoritySigner holds a private key and cannot be pickled")


def load_pkcs12_signer(path: str | os.PathLike, password: str | bytes | None) -> AuthoritySigner:
    """Production alternative: an authority's key + chain from a PKCS#12 file."""
    if isinstance(password, str):
        password = password.encode("utf-8")
    try:
        data = Path(path).read_bytes()
        key, cert, extra = pkcs12.load_key_and_certificates(data, password)
    except FileNotFoundError:
        raise CredentialsMissing(f"PKCS#12 file not found: {path}") from None
    except (ValueError, TypeError):
        raise PkiError(f"cannot open PKCS#12 file {path} (wrong password or damaged file)") from None
    if key is None or cert is None:
        raise PkiError(f"PKCS#12 file {path} holds no key and certificate")
    return AuthoritySigner(key, cert, extra or ())


# ==========================================================================
# Development PKI
# ==========================================================================
_signer_cache: dict[tuple[str, str], tuple[tuple, AuthoritySigner]] = {}
_signer_cache_lock = threading.Lock()


def _write_private(path: Path, data: bytes) -> None:
    """Write *data* atomically to *path* with mode 0600."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_public(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class DevPki:
    """A development PKI in *root_dir* (e.g. ``instance/pki``).

    Layout::

        root-ca.pem                 root certificate
        root-ca.key.pem             root key, encrypted, 0600
        authorities/<USCC>/cert.pem authority certificate (issued by the root)
        authorities/<USCC>/key.pem  authority key, encrypted, 0600
    """

    ROOT_VALIDITY = dt.timedelta(days=365 * 20)
    AUTHORITY_VALIDITY = dt.timedelta(days=365 * 10)

    def __init__(self, root_dir: str | os.PathLike, passphrase: bytes):
        if isinstance(passphrase, str):
            passphrase = passphrase.encode("utf-8")
        if not passphrase:
            raise PkiError("a non-empty passphrase is required")
        self.root_dir = Path(root_dir)
        self.__passphrase = bytes(passphrase)
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"<DevPki {str(self.root_dir)!r}>"

    __str__ = __repr__

    def __reduce__(self):
        raise TypeError("DevPki holds a passphrase and cannot be pickled")

    # -- paths ------------------------------------------------------------
    @property
    def root_cert_path(self) -> Path:
        return self.root_dir / "root-ca.pem"

    @property
    def root_key_path(self) -> Path:
        return self.root_dir / "root-ca.key.pem"

    def authority_dir(self, uscc: str) -> Path:
        if not isinstance(uscc, str) or not _USCC_RE.match(uscc):
            raise PkiError(f"not a unified social credit code: {uscc!r}")
        return self.root_dir / "authorities" / uscc

    # -- locking ------------------------------------------------------------
    @contextmanager
    def _locked(self):
        """Thread lock + advisory file lock (several processes share the dir)."""
        with self._lock:
            self.root_dir.mkdir(parents=True, exist_ok=True)
            try:
                os.chmod(self.root_dir, 0o700)
            except OSError:  # pragma: no cover - not our directory
                pass
            fd = os.open(self.root_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

    # -- keys ---------------------------------------------------------------
    def _encryption(self):
        return serialization.BestAvailableEncryption(self.__passphrase)

    def _load_key(self, path: Path):
        try:
            return serialization.load_pem_private_key(path.read_bytes(), password=self.__passphrase)
        except FileNotFoundError:
            raise CredentialsMissing(f"key file missing: {path}") from None
        except (ValueError, TypeError):
            raise PkiError(f"cannot decrypt {path} (wrong passphrase or damaged file)") from None

    @staticmethod
    def _load_cert(path: Path) -> x509.Certificate:
        try:
            return x509.load_pem_x509_certificate(path.read_bytes())
        except FileNotFoundError:
            raise CredentialsMissing(f"certificate missing: {path}") from None

    # -- root ---------------------------------------------------------------
    def ensure_root_ca(self) -> x509.Certificate:
        """The root certificate, created (once) if missing."""
        if self.root_cert_path.is_file() and self.root_key_path.is_file():
            return self._load_cert(self.root_cert_path)
        with self._locked():
            have_cert, have_key = self.root_cert_path.is_file(), self.root_key_path.is_file()
            if have_cert and have_key:
                return self._load_cert(self.root_cert_path)
            if have_cert or have_key:
                # Never replace half a root: every certificate it issued (and
                # every PDF signed under it) would stop verifying.
                raise PkiError(f"incomplete root CA in {self.root_dir}: restore the missing file")
            key = ec.generate_private_key(ec.SECP256R1())
            name = x509.Name(
                [
                    x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, ROOT_CA_NAME),
                    x509.NameAttribute(NameOID.COMMON_NAME, ROOT_CA_NAME),
                ]
            )
            now = dt.datetime.now(dt.timezone.utc)
            ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
            cert = (
                x509.CertificateBuilder()
                .subject_name(name)
                .issuer_name(name)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1))
                .not_valid_after(now + self.ROOT_VALIDITY)
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(
                    x509.KeyUsage(
                        digital_signature=False,
                        content_commitment=False,
                        key_encipherment=False,
                        data_encipherment=False,
                        key_agreement=False,
                        key_cert_sign=True,
                        crl_sign=True,
                        encipher_only=False,
                        decipher_only=False,
                    ),
                    critical=True,
                )
                .add_extension(ski, critical=False)
                .sign(key, hashes.SHA256())
            )
            _write_private(
                self.root_key_path,
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    self._encryption(),
                ),
            )
            _write_public(self.root_cert_path, cert.public_bytes(serialization.Encoding.PEM))
            log.info("created development root CA in %s", self.root_dir)
            return cert

    def trust_roots(self) -> list[x509.Certificate]:
        """Certificates to trust when verifying (the dev root)."""
        return [self.ensure_root_ca()]

    # -- authorities ----------------------------------------------------------
    def has_credentials(self, uscc: str) -> bool:
        d = self.authority_dir(uscc)
        return (d / "key.pem").is_file() and (d / "cert.pem").is_file()

    def create_authority_credentials(self, uscc: str, name: str, overwrite: bool = False) -> Path:
        """Create the key + certificate of authority *uscc*; return its directory.

        Refuses (``FileExistsError``) to replace existing credentials unless
        *overwrite*.
        """
        name = (name or "").strip()
        if not name:
            raise PkiError("the authority's name is required")
        adir = self.authority_dir(uscc)
        root_cert = self.ensure_root_ca()
        with self._locked():
            if self.has_credentials(uscc) and not overwrite:
                raise FileExistsError(f"signing credentials for {uscc} already exist")
            root_key = self._load_key(self.root_key_path)
            key = ec.generate_private_key(ec.SECP256R1())
            subject = x509.Name(
                [
                    x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                    x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "山西省"),
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
                    x509.NameAttribute(NameOID.COMMON_NAME, name),
                    x509.NameAttribute(NameOID.SERIAL_NUMBER, uscc),
                ]
            )
            now = dt.datetime.now(dt.timezone.utc)
            cert = (
                x509.CertificateBuilder()
                .subject_name(subject)
                .issuer_name(root_cert.subject)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1))
                .not_valid_after(
                    min(now + self.AUTHORITY_VALIDITY, root_cert.not_valid_after_utc)
                )
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(
                    x509.KeyUsage(
                        digital_signature=True,
                        content_commitment=True,  # nonRepudiation
                        key_encipherment=False,
                        data_encipherment=False,
                        key_agreement=False,
                        key_cert_sign=False,
                        crl_sign=False,
                        encipher_only=False,
                        decipher_only=False,
                    ),
                    critical=True,
                )
                .add_extension(
                    x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
                )
                .add_extension(
                    x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
                    critical=False,
                )
                .sign(root_key, hashes.SHA256())
            )
            adir.mkdir(parents=True, exist_ok=True)
            os.chmod(adir, 0o700)
            _write_private(
                adir / "key.pem",
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    self._encryption(),
                ),
            )
            _write_public(adir / "cert.pem", cert.public_bytes(serialization.Encoding.PEM))
        with _signer_cache_lock:
            _signer_cache.pop(self._cache_key(uscc), None)
        log.info("created signing credentials for authority %s", uscc)
        return adir

    def _cache_key(self, uscc: str) -> tuple[str, str]:
        return (str(self.root_dir.resolve()), uscc)

    def _stamp(self, uscc: str) -> tuple:
        adir = self.authority_dir(uscc)
        try:
            k, c = (adir / "key.pem").stat(), (adir / "cert.pem").stat()
        except FileNotFoundError:
            raise CredentialsMissing(f"no signing credentials for authority {uscc}") from None
        return (k.st_mtime_ns, k.st_size, c.st_mtime_ns, c.st_size)

    def signer_for(self, uscc: str) -> AuthoritySigner:
        """The (cached) signer of authority *uscc*: parsed once per process.

        Raises :class:`CredentialsMissing` when the authority has no key yet.
        """
        stamp = self._stamp(uscc)
        ck = self._cache_key(uscc)
        with _signer_cache_lock:
            hit = _signer_cache.get(ck)
            if hit is not None and hit[0] == stamp:
                return hit[1]
            adir = self.authority_dir(uscc)
            key = self._load_key(adir / "key.pem")
            cert = self._load_cert(adir / "cert.pem")
            chain = [self._load_cert(self.root_cert_path)]
            signer = AuthoritySigner(key, cert, chain)
            _signer_cache[ck] = (stamp, signer)
            return signer


# ==========================================================================
# Signing
# ==========================================================================
@lru_cache(maxsize=64)
def _seal_reader(pdf_bytes: bytes):
    """The seal PDF parsed once per process: importing from a fresh reader cost 15 ms a signature, from
    a parsed one 1 ms.  pyHanko only reads it (each import copies into the signature's own writer)."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    return PdfFileReader(io.BytesIO(pdf_bytes))


_seal_import_lock = threading.Lock()  # a shared reader resolves its objects lazily


def _seal_background(pdf_bytes: bytes):
    """A pyHanko PdfContent that draws page 1 of *pdf_bytes* (from memory)."""
    from pyhanko.pdf_utils.content import PdfContent
    from pyhanko.pdf_utils.layout import BoxConstraints

    class _PdfBytesPage(PdfContent):
        def render(self) -> bytes:
            w = self._ensure_writer
            with _seal_import_lock:
                xobj = w.import_page_as_xobject(_seal_reader(pdf_bytes), page_ix=0)
            resource_name = b"/Seal" + binascii.hexlify(uuid.uuid4().bytes)
            self.resources.xobject[resource_name.decode("ascii")] = xobj
            x1, y1, x2, y2 = xobj.get_object()["/BBox"]
            self.box = BoxConstraints(width=abs(x1 - x2), height=abs(y1 - y2))
            return resource_name + b" Do"

    return _PdfBytesPage()


def _outside_event_loop(function, *args, **kwargs):
    """Call a pyHanko entry point that uses asyncio.run(): in a helper thread when this thread already
    runs an event loop (asyncio.run refuses to nest), directly otherwise."""
    import asyncio
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function(*args, **kwargs)
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args, **kwargs).result()


def sign_certificate_pdf(
    pdf_bytes: bytes,
    signer,
    authority_name: str,
    seal_box: tuple[float, float, float, float] = SEAL_BOX,
    *,
    seal_bottom_text: str | None = DEFAULT_BOTTOM_TEXT,
) -> bytes:
    """Sign *pdf_bytes* (PAdES B-B) with a visible red seal at *seal_box* on page 1.

    *signer* is an :class:`AuthoritySigner` (or a pyHanko ``Signer``).
    """
    from pyhanko.pdf_utils import layout
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.stamp import StaticStampStyle

    ph_signer = signer.pyhanko_signer if isinstance(signer, AuthoritySigner) else signer
    size = float(min(seal_box[2] - seal_box[0], seal_box[3] - seal_box[1]))
    # A new style (and background) per signature: a shared one grows later PDFs.
    style = StaticStampStyle(
        background=_seal_background(seal_pdf(authority_name, seal_bottom_text, size)),
        background_opacity=1.0,
        border_width=0,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins.uniform(0),
        ),
    )
    meta = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=SIGNATURE_REASON,
        location=SIGNATURE_LOCATION,
        name=authority_name,
    )
    pdf_signer = signers.PdfSigner(
        meta,
        signer=ph_signer,
        stamp_style=style,
        new_field_spec=fields.SigFieldSpec(
            sig_field_name=SIGNATURE_FIELD, on_page=0, box=tuple(seal_box)
        ),
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf_bytes))
    out = io.BytesIO()
    _outside_event_loop(pdf_signer.sign_pdf, writer, output=out, bytes_reserved=BYTES_RESERVED)
    return out.getvalue()


# ==========================================================================
# Verification
# ==========================================================================
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
            roots.append(_to_asn1_cert(item))
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
        status = _outside_event_loop(validate_pdf_signature, sig, signer_validation_context=vc)
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
