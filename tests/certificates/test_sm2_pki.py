"""The SM2 development PKI: certificates OpenSSL reads and chains, encrypted keys, the authority's electronic seal."""
import stat
import subprocess

import pytest
from asn1crypto import x509

from portal.certificates.ses import SESeal, cert_list
from portal.certificates.signing import PkiError
from portal.certificates.sm2_pki import Sm2DevPki, certificate_public_key, issued_by, load_certificate
from tests.certificates.ofd_helpers import AUTHORITY, AUTHORITY_USCC, make_pki

DISTID = ["-vfyopt", "distid:1234567812345678"]


@pytest.fixture
def pki(tmp_path):
    return make_pki(tmp_path / "sm2")


def test_openssl_reads_the_certificates_and_chains_them_to_the_root(pki):
    authority = pki.authority_dir(AUTHORITY_USCC) / "cert.pem"
    text = subprocess.run(["openssl", "x509", "-in", str(authority), "-text", "-noout"], capture_output=True,
                          text=True, check=True).stdout
    assert "Signature Algorithm: SM2-with-SM3" in text and "ASN1 OID: SM2" in text
    assert "Digital Signature, Non Repudiation" in text and "CA:FALSE" in text
    # GM/T 0015 certificates are signed with the default ID; OpenSSL 3.0 verifies with an empty one unless told
    for leaf in (authority, pki.root_dir / "seal-maker.pem"):
        result = subprocess.run(["openssl", "verify", *DISTID, "-CAfile", str(pki.root_cert_path), str(leaf)],
                                capture_output=True, text=True)
        assert result.returncode == 0 and ": OK" in result.stdout, result.stderr
    other = make_pki(pki.root_dir.parent / "other")
    result = subprocess.run(["openssl", "verify", *DISTID, "-CAfile", str(other.root_cert_path), str(authority)],
                            capture_output=True, text=True)
    assert result.returncode != 0


def test_keys_are_encrypted_and_private(pki):
    for path in (pki.root_dir / "root-ca.key.pem", pki.root_dir / "seal-maker.key.pem",
                 pki.authority_dir(AUTHORITY_USCC) / "key.pem"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    with pytest.raises(PkiError, match="wrong passphrase"):
        Sm2DevPki(pki.root_dir, b"wrong").signer_for(AUTHORITY_USCC)


def test_the_authority_seal_is_made_by_the_maker_for_the_authoritys_certificate(pki):
    signer = pki.signer_for(AUTHORITY_USCC)
    seal = SESeal.load(signer.seal)
    info = seal["e_seal_info"]
    assert info["header"]["id"].native == "ES" and info["header"]["version"].native == 4
    assert info["property"]["name"].native == f"{AUTHORITY}电子证照专用章"
    assert cert_list(info["property"]) == [signer.certificate]
    maker = load_certificate(seal["cert"].native)
    assert maker.subject.native["common_name"] == "Shanxi Crane Certificates Dev Seal Maker"
    assert certificate_public_key(maker).verify(info.dump(), seal["signed_value"].native)
    root = pki.trust_roots()[0]
    assert issued_by(maker, root) and issued_by(x509.Certificate.load(signer.certificate), root)
    assert not issued_by(root, maker)


def test_existing_credentials_are_kept_unless_overwritten(pki):
    first = pki.signer_for(AUTHORITY_USCC)
    with pytest.raises(FileExistsError):
        pki.create_authority_credentials(AUTHORITY_USCC, AUTHORITY)
    assert pki.signer_for(AUTHORITY_USCC) is first  # cached
    pki.create_authority_credentials(AUTHORITY_USCC, AUTHORITY, overwrite=True)
    assert pki.signer_for(AUTHORITY_USCC).certificate != first.certificate


def test_half_a_root_is_never_replaced(pki):
    (pki.root_dir / "root-ca.key.pem").unlink()
    with pytest.raises(PkiError, match="incomplete"):
        Sm2DevPki(pki.root_dir, b"test-passphrase").ensure_root_ca()


def test_bad_arguments_are_refused(pki):
    with pytest.raises(PkiError):
        pki.authority_dir("../../etc")
    with pytest.raises(PkiError):
        pki.create_authority_credentials(AUTHORITY_USCC, "  ")
    with pytest.raises(PkiError):
        Sm2DevPki(pki.root_dir, b"")
    assert "passphrase" not in repr(pki) and "test-passphrase" not in repr(pki.signer_for(AUTHORITY_USCC))
