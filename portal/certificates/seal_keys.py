"""Which SealSigner seals an authority's OFD (config SEAL_SIGNER), and the SM2 roots a seal must chain to.

The Flask side of :mod:`.sm2_pki` / :mod:`.seal_signer`, as :mod:`.keys` is for the PDF's ECDSA keys.
"""
import threading

from flask import current_app

from portal.certificates.signing import CredentialsMissing, PkiError  # noqa: F401 (callers catch these)
from portal.certificates.sm2 import KDF_ITERATIONS
from portal.certificates.sm2_pki import Sm2DevPki, load_certificate

_lock = threading.Lock()


def sm2_pki():
    """The SM2 development PKI of this app: PKI_DIR/sm2, keys encrypted with PKI_PASSPHRASE."""
    extensions = current_app.extensions
    with _lock:
        if "sm2_pki" not in extensions:
            extensions["sm2_pki"] = Sm2DevPki(f"{current_app.config['PKI_DIR']}/sm2",
                                              current_app.config["PKI_PASSPHRASE"].encode(),
                                              current_app.config.get("PKI_KDF_ITERATIONS", KDF_ITERATIONS))
    return extensions["sm2_pki"]


def seal_signer_for(uscc):
    """The SealSigner of an authority, chosen by SEAL_SIGNER; CredentialsMissing when it has no seal yet."""
    kind = current_app.config.get("SEAL_SIGNER", "local")
    if kind == "local":
        return sm2_pki().signer_for(uscc)
    # A province's 签章服务 is added here as another kind (its client implements SealSigner).
    raise PkiError(f"unknown SEAL_SIGNER {kind!r} (supported: local)")


def has_seal_key(uscc):
    """Can this authority seal an OFD now?"""
    return current_app.config.get("SEAL_SIGNER", "local") != "local" or sm2_pki().has_credentials(uscc)


def init_seal_key(uscc, name, overwrite=False):
    """SM2 key, signer certificate and electronic seal for the authority (kept when present, unless overwrite)."""
    pki = sm2_pki()
    if overwrite or not pki.has_credentials(uscc):
        pki.create_authority_credentials(uscc, name, overwrite=True)


def seal_trust_roots():
    """SM2 roots an OFD seal must chain to: the development root (when present) plus SEAL_TRUST_ROOTS files."""
    pki = sm2_pki()
    roots = [load_certificate(pki.root_cert_path.read_bytes())] if pki.root_cert_path.is_file() else []
    return roots + list(current_app.config.get("SEAL_TRUST_ROOTS") or [])
