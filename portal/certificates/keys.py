"""Which key signs for an authority: a configured PKCS#12 file, or the development PKI in instance/."""
import threading

from flask import current_app

from portal.certificates import seal_keys
from portal.certificates.dev_pki import DevPki
from portal.certificates.signing import CredentialsMissing, load_pkcs12_signer  # noqa: F401 (callers catch keys.CredentialsMissing)

_lock = threading.Lock()


def dev_pki():
    """The development PKI of this app (root CA + per-authority keys, encrypted on disk)."""
    extensions = current_app.extensions
    with _lock:
        if "dev_pki" not in extensions:
            extensions["dev_pki"] = DevPki(current_app.config["PKI_DIR"],
                                           current_app.config["PKI_PASSPHRASE"].encode())
    return extensions["dev_pki"]


def _pkcs12_entry(uscc):
    # SIGNING_PKCS12 = {"<USCC>": ("/path/key.p12", "password")} set by a production config class.
    return (current_app.config.get("SIGNING_PKCS12") or {}).get(uscc)


def signer_for(uscc):
    """The cached signer of an authority; raises CredentialsMissing when it has no key."""
    entry = _pkcs12_entry(uscc)
    if entry:
        cache = current_app.extensions.setdefault("pkcs12_signers", {})
        with _lock:
            if uscc not in cache:
                cache[uscc] = load_pkcs12_signer(*entry)
        return cache[uscc]
    return dev_pki().signer_for(uscc)


def has_key(uscc):
    """Can this authority sign now?"""
    return bool(_pkcs12_entry(uscc)) or dev_pki().has_credentials(uscc)


def trust_roots():
    """Roots a signature must chain to: the development root plus configured production roots."""
    roots = list(dev_pki().trust_roots()) if dev_pki().root_cert_path.exists() else []
    return roots + list(current_app.config.get("SIGNING_TRUST_ROOTS") or [])


def init_key(uscc, name, overwrite=False):
    """Create the development root CAs if needed and the authority's keys + certificates: ECDSA for the PDF,
    SM2 + electronic seal for the OFD (one that exists is kept unless overwrite)."""
    pki = dev_pki()
    pki.ensure_root_ca()
    if overwrite or not pki.has_credentials(uscc):
        pki.create_authority_credentials(uscc, name, overwrite=overwrite)
    seal_keys.init_seal_key(uscc, name, overwrite=overwrite)
    return pki.authority_dir(uscc)

