"""Dev PKI, PAdES signing with the visible seal, and verification.

No app, no database.  Validation is cross-checked with pyHanko's own
validator against the dev root.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import re
import shutil
import stat
import subprocess
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from portal.certificates.pdf import SEAL_BOX, render_certificate_pdf
from portal.certificates.dev_pki import ROOT_CA_NAME, DevPki
from portal.certificates.signature_check import SignatureCheck, verify_certificate_pdf
from portal.certificates.signing import (
    AuthoritySigner,
    CredentialsMissing,
    PkiError,
    load_pkcs12_signer,
    sign_certificate_pdf,
)


def _load_make_doc():
    # tests/certificates may have no __init__.py: load the sibling by path.
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "_certificates_test_pdf_helpers", Path(__file__).with_name("test_pdf.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_doc


make_doc = _load_make_doc()

PASSPHRASE = b"correct horse battery staple"
USCC = "11140100012345678X"
NAME = "太原市住房和城乡建设局"


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> DevPki:
    pki = DevPki(tmp_path_factory.mktemp("pki") / "pki", PASSPHRASE)
    pki.ensure_root_ca()
    pki.create_authority_credentials(USCC, NAME)
    return pki


@pytest.fixture(scope="module")
def unsigned_pdf() -> bytes:
    return render_certificate_pdf(make_doc(10))


@pytest.fixture(scope="module")
def signed_pdf(pki, unsigned_pdf) -> bytes:
    return sign_certificate_pdf(unsigned_pdf, pki.signer_for(USCC), NAME)


# -------------------------------------------------------------------- PKI
def test_root_ca_created_once_and_key_encrypted(pki):
    root = pki.ensure_root_ca()
    assert pki.ensure_root_ca().serial_number == root.serial_number
    assert DevPki(pki.root_dir, PASSPHRASE).ensure_root_ca().serial_number == root.serial_number
    assert root.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == ROOT_CA_NAME
    assert root.issuer == root.subject
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    pem = pki.root_key_path.read_bytes()
    assert b"ENCRYPTED" in pem and b"BEGIN PRIVATE KEY" not in pem
    assert stat.S_IMODE(pki.root_key_path.stat().st_mode) == 0o600
    assert [c.serial_number for c in pki.trust_roots()] == [root.serial_number]


def test_authority_credentials(pki):
    adir = pki.authority_dir(USCC)
    assert pki.has_credentials(USCC)
    assert not pki.has_credentials("91140000110012345K")
    key_pem = (adir / "key.pem").read_bytes()
    assert key_pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert stat.S_IMODE((adir / "key.pem").stat().st_mode) == 0o600
    with pytest.raises(TypeError):
        serialization.load_pem_private_key(key_pem, password=None)
    with pytest.raises(ValueError):
        serialization.load_pem_private_key(key_pem, password=b"wrong")
    serialization.load_pem_private_key(key_pem, password=PASSPHRASE)

    cert = x509.load_pem_x509_certificate((adir / "cert.pem").read_bytes())
    subj = cert.subject
    assert subj.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == NAME
    assert subj.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == NAME
    assert subj.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == USCC
    assert cert.issuer == pki.ensure_root_ca().subject
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and ku.content_commitment and not ku.key_cert_sign


def test_refuses_overwrite_unless_asked(tmp_path):
    pki = DevPki(tmp_path / "pki", PASSPHRASE)
    pki.create_authority_credentials(USCC, NAME)
    first = pki.signer_for(USCC)
    with pytest.raises(FileExistsError):
        pki.create_authority_credentials(USCC, NAME)
    assert pki.signer_for(USCC) is first
    pki.create_authority_credentials(USCC, NAME, overwrite=True)
    second = pki.signer_for(USCC)
    assert second is not first
    assert second.certificate.serial_number != first.certificate.serial_number


def test_bad_inputs(tmp_path):
    pki = DevPki(tmp_path / "pki", PASSPHRASE)
    with pytest.raises(PkiError):
        pki.create_authority_credentials("../../etc/passwd", NAME)
    with pytest.raises(CredentialsMissing):
        pki.signer_for(USCC)
    pki.create_authority_credentials(USCC, NAME)
    with pytest.raises(PkiError):
        DevPki(tmp_path / "pki", b"wrong passphrase").signer_for(USCC)


def test_no_secret_in_repr_or_pickle(pki):
    signer = pki.signer_for(USCC)
    for obj in (signer, pki, signer.pyhanko_signer):
        text = repr(obj) + str(obj)
        assert "PRIVATE" not in text and PASSPHRASE.decode() not in text
        with pytest.raises(TypeError):
            pickle.dumps(obj)
    assert NAME in repr(signer)


def test_signer_is_cached(pki, unsigned_pdf):
    a = pki.signer_for(USCC)
    assert pki.signer_for(USCC) is a
    assert DevPki(pki.root_dir, PASSPHRASE).signer_for(USCC) is a  # per process, not per object
    assert a.pyhanko_signer is a.pyhanko_signer
    # warm: a cached signer signs much faster than a first load would re-parse
    t = time.perf_counter()
    sign_certificate_pdf(unsigned_pdf, a, NAME)
    assert time.perf_counter() - t < 1.0


# ---------------------------------------------------------------- signing
def test_signed_pdf_validates_with_pyhanko(pki, signed_pdf):
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext
    from asn1crypto import x509 as asn1_x509

    root = asn1_x509.Certificate.load(
        pki.ensure_root_ca().public_bytes(serialization.Encoding.DER)
    )
    reader = PdfFileReader(io.BytesIO(signed_pdf))
    (sig,) = reader.embedded_signatures
    assert sig.field_name == "AuthoritySeal"
    assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES
    assert sig.sig_object["/Reason"] == "电子证照签章"
    assert sig.sig_object["/Location"] == "山西省"
    status = validate_pdf_signature(
        sig, ValidationContext(trust_roots=[root], allow_fetching=False)
    )
    assert status.bottom_line and status.intact and status.valid and status.trusted
    # PAdES B-B signed attributes: content type, digest, signing-certificate-v2 naming the signer's
    # certificate (the signer encodes it once and reuses it), and no signing-time (PAdES forbids it).
    attrs = {a["type"].native: a["values"][0] for a in sig.signer_info["signed_attrs"]}
    assert set(attrs) == {"content_type", "message_digest", "signing_certificate_v2"}
    (cert_id,) = attrs["signing_certificate_v2"]["certs"]
    assert cert_id["cert_hash"].native == hashlib.sha256(sig.signer_cert.dump()).digest()
    assert cert_id["issuer_serial"]["serial_number"].native == sig.signer_cert.serial_number


def test_visible_seal_at_seal_box(signed_pdf):
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(signed_pdf))
    (sig,) = reader.embedded_signatures
    rect = [float(v) for v in sig.sig_field["/Rect"]]
    assert rect == pytest.approx(list(SEAL_BOX))
    assert "/N" in sig.sig_field["/AP"]
    assert sig.sig_field["/P"].get_object() is not None


def test_signed_size_is_reasonable_and_stable(pki, unsigned_pdf, signed_pdf):
    growth = len(signed_pdf) - len(unsigned_pdf)
    assert growth < 60_000
    again = sign_certificate_pdf(unsigned_pdf, pki.signer_for(USCC), NAME)
    again2 = sign_certificate_pdf(unsigned_pdf, pki.signer_for(USCC), NAME)
    # a fresh stamp style per signature: later PDFs do not grow
    assert abs(len(again2) - len(again)) < 64 and abs(len(again) - len(signed_pdf)) < 64


def test_verify_valid(pki, signed_pdf):
    check = verify_certificate_pdf(signed_pdf, pki.trust_roots())
    assert isinstance(check, SignatureCheck)
    assert check.signed and check.valid and check.intact
    assert check.signer == NAME
    assert check.signed_at is not None
    assert check.message == "签名有效"


def _flip_in_content_stream(pdf: bytes) -> bytes:
    m = re.search(rb"stream\r?\n", pdf)
    i = m.end() + 50
    assert pdf.index(b"endstream", m.end()) > i
    out = bytearray(pdf)
    out[i] ^= 0x01
    return bytes(out)


def test_flipped_byte_is_tampered(pki, signed_pdf):
    check = verify_certificate_pdf(_flip_in_content_stream(signed_pdf), pki.trust_roots())
    assert check.signed and not check.valid and not check.intact
    assert check.message == "文件已被篡改"


def test_damaged_byte_range_is_invalid_not_an_exception(pki, signed_pdf):
    i = signed_pdf.index(b"/ByteRange") + len(b"/ByteRange")
    bad = bytearray(signed_pdf)
    j = bad.index(b"[", i) + 1
    while not chr(bad[j]).isdigit():
        j += 1
    bad[j : j + 1] = b"7" if bad[j : j + 1] != b"7" else b"8"
    check = verify_certificate_pdf(bytes(bad), pki.trust_roots())
    assert not check.valid and not check.intact
    for garbage in (b"", b"not a pdf", signed_pdf[: len(signed_pdf) // 2]):
        check = verify_certificate_pdf(garbage, pki.trust_roots())
        assert not check.valid


def test_unsigned_pdf(pki, unsigned_pdf):
    check = verify_certificate_pdf(unsigned_pdf, pki.trust_roots())
    assert not check.signed and not check.valid
    assert check.message == "未签名"


def test_other_root_not_trusted(tmp_path, pki, unsigned_pdf):
    other = DevPki(tmp_path / "other", b"another passphrase")
    other.create_authority_credentials(USCC, NAME)
    signed = sign_certificate_pdf(unsigned_pdf, other.signer_for(USCC), NAME)
    check = verify_certificate_pdf(signed, pki.trust_roots())
    assert check.signed and check.intact and not check.valid and not check.trusted
    assert check.message == "签名证书不受信任"
    assert verify_certificate_pdf(signed, other.trust_roots()).valid


def test_pkcs12_signer(tmp_path, pki, unsigned_pdf):
    adir = pki.authority_dir(USCC)
    key = serialization.load_pem_private_key((adir / "key.pem").read_bytes(), PASSPHRASE)
    cert = x509.load_pem_x509_certificate((adir / "cert.pem").read_bytes())
    p12 = tmp_path / "authority.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"authority",
            key,
            cert,
            [pki.ensure_root_ca()],
            serialization.BestAvailableEncryption(b"p12-pass"),
        )
    )
    signer = load_pkcs12_signer(p12, "p12-pass")
    assert isinstance(signer, AuthoritySigner) and signer.uscc == USCC
    signed = sign_certificate_pdf(unsigned_pdf, signer, NAME)
    assert verify_certificate_pdf(signed, pki.trust_roots()).valid
    with pytest.raises(PkiError):
        load_pkcs12_signer(p12, "wrong")
    with pytest.raises(CredentialsMissing):
        load_pkcs12_signer(tmp_path / "missing.p12", "x")


def test_half_a_root_is_never_replaced(tmp_path):
    pki = DevPki(tmp_path / "pki", PASSPHRASE)
    pki.ensure_root_ca()
    pki.root_key_path.unlink()
    with pytest.raises(PkiError):
        pki.ensure_root_ca()


def test_trust_roots_as_pem_path_or_bytes(pki, signed_pdf):
    pem_path = pki.root_cert_path
    assert verify_certificate_pdf(signed_pdf, [str(pem_path)]).valid
    assert verify_certificate_pdf(signed_pdf, [pem_path.read_bytes()]).valid
    check = verify_certificate_pdf(signed_pdf, ["/nonexistent/root.pem"])
    assert check.signed and check.intact and not check.valid and check.message == "签名证书不受信任"


def test_signing_and_verifying_work_inside_a_running_event_loop(tmp_path):
    """A caller that already runs an asyncio loop (a browser driver, an async server) can still seal."""
    import asyncio

    from portal.certificates.dev_pki import DevPki
    from portal.certificates.signature_check import verify_certificate_pdf
    from portal.certificates.signing import sign_certificate_pdf
    pki = DevPki(tmp_path / "pki", b"passphrase")
    pki.ensure_root_ca()
    pki.create_authority_credentials("11140100MB0000002K", "太原市住房和城乡建设局")
    unsigned = _render_minimal_pdf()

    async def inside_loop():
        signed = sign_certificate_pdf(unsigned, pki.signer_for("11140100MB0000002K"), "太原市住房和城乡建设局")
        return verify_certificate_pdf(signed, pki.trust_roots())
    check = asyncio.run(inside_loop())
    assert check.signed and check.valid and check.intact


def _render_minimal_pdf():
    from io import BytesIO

    from reportlab.pdfgen import canvas
    buffer = BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(100, 700, "certificate")
    page.save()
    return buffer.getvalue()


@pytest.mark.skipif(not shutil.which("pdfsig"), reason="poppler-utils not installed")
def test_poppler_pdfsig_finds_the_signature_valid_and_a_changed_byte_a_digest_mismatch(signed_pdf, tmp_path):
    """A second, independent validator (poppler): the digest and CMS check out over the whole file.
    (Trust in the dev root would need it in an NSS database; pyHanko's check above covers trust.)"""
    def pdfsig(data: bytes) -> str:
        path = tmp_path / "c.pdf"
        path.write_bytes(data)
        return subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=60).stdout

    report = pdfsig(signed_pdf)
    assert "Signature Validation: Signature is Valid." in report and "Total document signed" in report
    assert "ETSI.CAdES.detached" in report
    assert "Signature Validation: Digest Mismatch." in pdfsig(_flip_in_content_stream(signed_pdf))
