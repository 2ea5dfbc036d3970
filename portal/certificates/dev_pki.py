"""The development PKI: one self-signed root and a key + certificate per issuing authority, on disk.

Plain values in and out: no Flask, no database. The app passes ``instance/pki``; every private key is
encrypted with the passphrase (mode 0600), and :meth:`DevPki.signer_for` parses each authority's key once
per process into an :class:`~.signing.AuthoritySigner`.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from portal import clock

from .key_directory import KeyDirectory, write_private_file, write_public_file
from .signing import AuthoritySigner, CredentialsMissing, PkiError

log = logging.getLogger(__name__)

__all__ = ["DevPki", "ROOT_CA_NAME"]

ROOT_CA_NAME = "Shanxi Crane Certificates Dev Root CA"

_signer_cache: dict[tuple[str, str], tuple[tuple, AuthoritySigner]] = {}
_signer_cache_lock = threading.Lock()


class DevPki(KeyDirectory):
    """A development PKI in *root_dir* (e.g. ``instance/pki``).

    Layout::

        root-ca.pem                 root certificate
        root-ca.key.pem             root key, encrypted, 0600
        authorities/<USCC>/cert.pem authority certificate (issued by the root)
        authorities/<USCC>/key.pem  authority key, encrypted, 0600
    """

    ROOT_VALIDITY = dt.timedelta(days=365 * 20)
    AUTHORITY_VALIDITY = dt.timedelta(days=365 * 10)

    @property
    def root_key_path(self) -> Path:
        return self.root_dir / "root-ca.key.pem"

    # -- keys ---------------------------------------------------------------
    def _encryption(self):
        return serialization.BestAvailableEncryption(self._passphrase)

    def _load_key(self, path: Path):
        try:
            return serialization.load_pem_private_key(path.read_bytes(), password=self._passphrase)
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
            now = clock.utcnow().replace(tzinfo=dt.timezone.utc)
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
            write_private_file(
                self.root_key_path,
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    self._encryption(),
                ),
            )
            write_public_file(self.root_cert_path, cert.public_bytes(serialization.Encoding.PEM))
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
            now = clock.utcnow().replace(tzinfo=dt.timezone.utc)
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
            write_private_file(
                adir / "key.pem",
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    self._encryption(),
                ),
            )
            write_public_file(adir / "cert.pem", cert.public_bytes(serialization.Encoding.PEM))
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
