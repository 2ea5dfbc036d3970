"""PAdES signatures for certificate PDFs: who signs, and signing.

Plain values in, bytes out: no Flask, no database. The development PKI that issues the keys is
:mod:`.dev_pki`; checking a signed PDF is :mod:`.signature_check`.

* :class:`AuthoritySigner` — one authority's parsed key and chain with its
  pyHanko signer built once; :meth:`DevPki.signer_for` caches them per USCC.
* :func:`load_pkcs12_signer` — the production alternative (a .p12/.pfx issued
  by a real CA).
* :func:`sign_certificate_pdf` — PAdES B-B with a visible red seal at
  :data:`~portal.certificates.pdf.SEAL_BOX`.

Private keys never appear in logs, ``repr`` or ``str``, and cannot be pickled. pyHanko is imported inside
the functions that use it: it takes about a second to import, and the web app loads this module (for
``CredentialsMissing``) without ever signing in most processes.
"""

from __future__ import annotations

import asyncio
import binascii
import io
import logging
import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from .pdf import SEAL_BOX
from .seal import DEFAULT_BOTTOM_TEXT, seal_pdf

log = logging.getLogger(__name__)

__all__ = [
    "AuthoritySigner",
    "CredentialsMissing",
    "PkiError",
    "SIGNATURE_FIELD",
    "load_pkcs12_signer",
    "sign_certificate_pdf",
]

SIGNATURE_FIELD = "AuthoritySeal"
SIGNATURE_REASON = "电子证照签章"
SIGNATURE_LOCATION = "山西省"
BYTES_RESERVED = 16384


class PkiError(Exception):
    """Key material cannot be created or loaded (message never holds secrets)."""


class CredentialsMissing(PkiError, LookupError):
    """No signing credentials for this authority."""


# ==========================================================================
# Signer
# ==========================================================================
def as_asn1_certificate(cert):
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
            registry.register_multiple([as_asn1_certificate(c) for c in chain])
            super().__init__(
                signing_cert=as_asn1_certificate(cert),
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


def outside_event_loop(function, *args, **kwargs):
    """Call a pyHanko entry point that uses asyncio.run(): in a helper thread when this thread already
    runs an event loop (asyncio.run refuses to nest), directly otherwise."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function(*args, **kwargs)
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
    outside_event_loop(pdf_signer.sign_pdf, writer, output=out, bytes_reserved=BYTES_RESERVED)
    return out.getvalue()
