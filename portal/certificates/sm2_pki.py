"""Development PKI for SM2 (国密): root, seal maker, and per-authority key, certificate and seal.

Plain values in, bytes out: no Flask, no database. Lives beside the ECDSA development PKI of
:mod:`.signing` (``DevPki``), in its ``sm2/`` sub-directory, every private key encrypted with the same
passphrase (PKCS#8 PBES2, mode 0600)::

    sm2/root-ca.pem                     SM2 root certificate (self-signed)
    sm2/root-ca.key.pem                 its key, encrypted
    sm2/seal-maker.pem, .key.pem        the 制章者 (seal maker) certificate, issued by the root
    sm2/authorities/<USCC>/cert.pem     the authority's signer certificate (签章者证书), issued by the root
    sm2/authorities/<USCC>/key.pem      its key, encrypted
    sm2/authorities/<USCC>/seal.esl     its electronic seal: DER SESeal v4 (GB/T 38540), made and signed
                                        by the seal maker, picture = the red round seal (PNG)

Certificates are X.509 v3 (GM/T 0015): SM2 keys (id-ecPublicKey with curve 1.2.156.10197.1.301),
signed SM2 with SM3 (1.2.156.10197.1.501, default ID), built with asn1crypto because ``cryptography``
has no SM2. ``openssl x509 -text`` reads them.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import secrets
from pathlib import Path

from asn1crypto import pem, x509

from .seal_picture import seal_png
from .seal_signer import LocalSealSigner
from .ses import make_seal
from .key_directory import KeyDirectory, write_private_file, write_public_file
from .signing import CredentialsMissing, PkiError
from .sm2 import KDF_ITERATIONS, OID_SM2_WITH_SM3, Sm2Error, Sm2PrivateKey, Sm2PublicKey

log = logging.getLogger(__name__)

__all__ = ["SM2_ROOT_CA_NAME", "SEAL_MAKER_NAME", "SEAL_VENDOR_ID", "Sm2DevPki", "load_certificate",
           "sm2_certificate"]

SM2_ROOT_CA_NAME = "Shanxi Crane Certificates Dev SM2 Root CA"
SEAL_MAKER_NAME = "Shanxi Crane Certificates Dev Seal Maker"
SEAL_VENDOR_ID = "SXCRANE-DEV"  # SES_Header.Vid: who made the seal software
SEAL_SIZE_MM = 42  # the usual diameter of an official round seal

ROOT_VALIDITY = dt.timedelta(days=365 * 20)
LEAF_VALIDITY = dt.timedelta(days=365 * 10)


def load_certificate(data: bytes) -> x509.Certificate:
    """A PEM or DER certificate (PkiError when it is neither)."""
    try:
        if pem.detect(data):
            _, _, data = pem.unarmor(data)
        cert = x509.Certificate.load(bytes(data))
        cert.native  # parse everything now, not at first use
        return cert
    except Exception:
        raise PkiError("not an X.509 certificate") from None


def sm2_certificate(*, subject: x509.Name, public_key: Sm2PublicKey, issuer: x509.Name, issuer_key: Sm2PrivateKey,
                    issuer_key_id: bytes | None, not_before: dt.datetime, not_after: dt.datetime, ca: bool) -> bytes:
    """DER X.509 v3 certificate of an SM2 key, signed SM2-with-SM3 by *issuer_key*."""
    key_id = hashlib.sha1(public_key.point).digest()  # RFC 5280 §4.2.1.2 method (1)
    usage = {"key_cert_sign", "crl_sign"} if ca else {"digital_signature", "non_repudiation"}
    extensions = [
        {"extn_id": "basic_constraints", "critical": True,
         "extn_value": {"ca": ca, "path_len_constraint": 0 if ca else None}},
        {"extn_id": "key_usage", "critical": True, "extn_value": usage},
        {"extn_id": "key_identifier", "critical": False, "extn_value": key_id},
        {"extn_id": "authority_key_identifier", "critical": False,
         "extn_value": {"key_identifier": issuer_key_id or key_id}},
    ]
    tbs = x509.TbsCertificate({
        "version": "v3",
        "serial_number": secrets.randbits(63) | 1,
        "signature": {"algorithm": OID_SM2_WITH_SM3},
        "issuer": issuer,
        "validity": {"not_before": x509.Time(name="utc_time", value=not_before.replace(microsecond=0)),
                     "not_after": x509.Time(name="utc_time", value=not_after.replace(microsecond=0))},
        "subject": subject,
        "subject_public_key_info": public_key.public_key_info(),
        "extensions": extensions,
    })
    tbs_der = tbs.dump()  # re-loaded below: asn1crypto re-walks a built structure on every dump()
    return x509.Certificate({"tbs_certificate": x509.TbsCertificate.load(tbs_der),
                             "signature_algorithm": {"algorithm": OID_SM2_WITH_SM3},
                             "signature_value": issuer_key.sign(tbs_der)}).dump()


def _pem_cert(der: bytes) -> bytes:
    return pem.armor("CERTIFICATE", der)


def _key_id(cert: x509.Certificate) -> bytes | None:
    return cert.key_identifier


class Sm2DevPki(KeyDirectory):
    """The SM2 development PKI under *root_dir* (``<PKI_DIR>/sm2``)."""

    def __init__(self, root_dir: str | os.PathLike, passphrase: bytes | str, kdf_iterations: int = KDF_ITERATIONS):
        super().__init__(root_dir, passphrase)
        self._kdf_iterations = kdf_iterations
        self._signers: dict[str, tuple[tuple, LocalSealSigner]] = {}
        self._cas: dict[str, tuple[tuple, tuple[x509.Certificate, Sm2PrivateKey]]] = {}

    # -- files ---------------------------------------------------------------------------
    def _load_key(self, path: Path) -> Sm2PrivateKey:
        try:
            return Sm2PrivateKey.from_encrypted_pem(path.read_bytes(), self._passphrase)
        except FileNotFoundError:
            raise CredentialsMissing(f"SM2 key file missing: {path}") from None
        except Sm2Error:
            raise PkiError(f"cannot decrypt {path} (wrong passphrase or damaged file)") from None

    @staticmethod
    def _load_cert(path: Path) -> x509.Certificate:
        try:
            return load_certificate(path.read_bytes())
        except FileNotFoundError:
            raise CredentialsMissing(f"SM2 certificate missing: {path}") from None

    def _issue(self, path_stem: str, subject: x509.Name, issuer: tuple[x509.Certificate, Sm2PrivateKey] | None,
               validity: dt.timedelta, ca: bool,
               directory: Path | None = None) -> tuple[x509.Certificate, Sm2PrivateKey]:
        """Create key + certificate ``<stem>.pem`` / ``<stem>.key.pem`` (or cert.pem / key.pem in *directory*)."""
        key = Sm2PrivateKey.generate()
        now = dt.datetime.now(dt.timezone.utc)
        if issuer is None:
            issuer_name, issuer_key, issuer_key_id, not_after = subject, key, None, now + validity
        else:
            issuer_cert, issuer_key = issuer
            issuer_name, issuer_key_id = issuer_cert.subject, _key_id(issuer_cert)
            not_after = min(now + validity, issuer_cert.not_valid_after)
        der = sm2_certificate(subject=subject, public_key=key.public_key, issuer=issuer_name, issuer_key=issuer_key,
                              issuer_key_id=issuer_key_id, not_before=now - dt.timedelta(days=1),
                              not_after=not_after, ca=ca)
        if directory is None:
            cert_path, key_path = self.root_dir / f"{path_stem}.pem", self.root_dir / f"{path_stem}.key.pem"
        else:
            cert_path, key_path = directory / "cert.pem", directory / "key.pem"
        write_private_file(key_path, key.encrypted_pem(self._passphrase, self._kdf_iterations))
        write_public_file(cert_path, _pem_cert(der))
        return load_certificate(der), key

    def _ensure(self, stem: str, subject: x509.Name, issuer, validity, ca) -> tuple[x509.Certificate, Sm2PrivateKey]:
        cert_path, key_path = self.root_dir / f"{stem}.pem", self.root_dir / f"{stem}.key.pem"
        if cert_path.is_file() and key_path.is_file():
            stamp = (cert_path.stat().st_mtime_ns, key_path.stat().st_mtime_ns)
            hit = self._cas.get(stem)
            if hit is None or hit[0] != stamp:  # decrypt a CA key once, not for every authority
                hit = self._cas[stem] = (stamp, (self._load_cert(cert_path), self._load_key(key_path)))
            return hit[1]
        if cert_path.is_file() or key_path.is_file():
            # Never replace half a CA: every certificate it issued (and every seal under it) would break.
            raise PkiError(f"incomplete SM2 {stem} in {self.root_dir}: restore the missing file")
        log.info("creating SM2 %s in %s", stem, self.root_dir)
        return self._issue(stem, subject, issuer() if issuer else None, validity, ca)

    def _root(self) -> tuple[x509.Certificate, Sm2PrivateKey]:
        return self._ensure("root-ca", x509.Name.build({"country_name": "CN", "organization_name": SM2_ROOT_CA_NAME,
                                                        "common_name": SM2_ROOT_CA_NAME}), None, ROOT_VALIDITY, True)

    def _maker(self) -> tuple[x509.Certificate, Sm2PrivateKey]:
        return self._ensure("seal-maker", x509.Name.build({"country_name": "CN", "organization_name": SEAL_MAKER_NAME,
                                                           "common_name": SEAL_MAKER_NAME}),
                            self._root, LEAF_VALIDITY, False)

    def ensure_root_ca(self) -> x509.Certificate:
        """The SM2 root (and the seal maker), created once if missing."""
        with self._locked():
            cert, _ = self._root()
            self._maker()
        return cert

    def trust_roots(self) -> list[x509.Certificate]:
        """The SM2 root to trust when verifying seals."""
        return [self.ensure_root_ca()]

    # -- authorities ---------------------------------------------------------------------
    def has_credentials(self, uscc: str) -> bool:
        d = self.authority_dir(uscc)
        return all((d / name).is_file() for name in ("key.pem", "cert.pem", "seal.esl"))

    def create_authority_credentials(self, uscc: str, name: str, overwrite: bool = False) -> Path:
        """Create the authority's SM2 key, signer certificate and electronic seal; return its directory.

        Refuses (``FileExistsError``) to replace existing credentials unless *overwrite*.
        """
        name = (name or "").strip()
        if not name:
            raise PkiError("the authority's name is required")
        adir = self.authority_dir(uscc)
        with self._locked():
            if self.has_credentials(uscc) and not overwrite:
                raise FileExistsError(f"SM2 seal credentials for {uscc} already exist")
            root = self._root()
            maker_cert, maker_key = self._maker()
            adir.mkdir(parents=True, exist_ok=True)
            os.chmod(adir, 0o700)
            subject = x509.Name.build({"country_name": "CN", "state_or_province_name": "山西省",
                                       "organization_name": name, "common_name": name, "serial_number": uscc})
            cert, _ = self._issue("", subject, root, LEAF_VALIDITY, False, directory=adir)
            now = dt.datetime.now(dt.timezone.utc)
            seal = make_seal(
                es_id=f"{uscc}{now:%Y%m%d%H%M%S}", vendor_id=SEAL_VENDOR_ID, name=f"{name}电子证照专用章",
                signer_certs=[cert.dump()], picture_png=seal_png(name), picture_mm=(SEAL_SIZE_MM, SEAL_SIZE_MM),
                valid_start=now - dt.timedelta(days=1), valid_end=cert.not_valid_after, created=now,
                maker_cert=maker_cert.dump(), maker_sign=maker_key.sign)
            write_public_file(adir / "seal.esl", seal)
        with self._lock:
            self._signers.pop(uscc, None)
        log.info("created SM2 seal credentials for authority %s", uscc)
        return adir

    def _stamp(self, uscc: str) -> tuple:
        adir = self.authority_dir(uscc)
        try:
            return tuple((s.st_mtime_ns, s.st_size) for s in
                         ((adir / n).stat() for n in ("key.pem", "cert.pem", "seal.esl")))
        except FileNotFoundError:
            raise CredentialsMissing(f"no SM2 seal credentials for authority {uscc}") from None

    def signer_for(self, uscc: str) -> LocalSealSigner:
        """The (cached) seal signer of authority *uscc*; CredentialsMissing when it has none yet."""
        stamp = self._stamp(uscc)
        with self._lock:
            hit = self._signers.get(uscc)
            if hit is not None and hit[0] == stamp:
                return hit[1]
            adir = self.authority_dir(uscc)
            cert = self._load_cert(adir / "cert.pem")
            signer = LocalSealSigner(self._load_key(adir / "key.pem"), cert.dump(), (adir / "seal.esl").read_bytes(),
                                     cert.subject.native.get("common_name") or uscc)
            self._signers[uscc] = (stamp, signer)
            return signer


def certificate_public_key(cert: x509.Certificate) -> Sm2PublicKey:
    """The SM2 public key of *cert* (Sm2Error when it is not an SM2 key)."""
    return Sm2PublicKey.from_public_key_info(cert["tbs_certificate"]["subject_public_key_info"])


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """True when *issuer* (a CA) names and signed *cert*, SM2 with SM3."""
    try:
        if cert.issuer != issuer.subject or not issuer.ca:
            return False
        if cert["signature_algorithm"]["algorithm"].dotted != OID_SM2_WITH_SM3:
            return False
        return certificate_public_key(issuer).verify(cert["tbs_certificate"].dump(), cert["signature_value"].native)
    except Exception:
        return False
