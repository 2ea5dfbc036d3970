"""The one signing interface of the OFD electronic seal (GB/T 38540), and its local-key implementation.

Whoever seals an OFD needs three things from the issuing authority: its electronic seal (``SESeal``,
made once by the seal maker), its signer certificate, and an SM2 signature of the ``TBS_Sign`` bytes.
:class:`SealSigner` is exactly that, so a province's external 签章服务 (an HSM / seal server reached
over the network) can replace :class:`LocalSealSigner` by configuration (``SEAL_SIGNER``), without
touching the OFD code. Plain values: no Flask, no database.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

from .sm2 import Sm2PrivateKey

__all__ = ["LocalSealSigner", "SealSigner"]


@runtime_checkable
class SealSigner(Protocol):
    """An authority's sealing capability: SM2 with SM3, default ID 1234567812345678."""

    seal: bytes          # DER SESeal (v4) of the authority, naming `certificate` in its certList
    certificate: bytes   # DER X.509 SM2 signer certificate (签章者证书)
    name: str            # the authority's name, for messages and the Provider element

    def sign(self, tbs: bytes) -> bytes:
        """DER SM2Signature (r, s) of *tbs* with the key of ``certificate``."""
        ...


class LocalSealSigner:
    """SealSigner over a private key held in this process (the development PKI's, or a file's)."""

    __slots__ = ("_key", "seal", "certificate", "name", "__weakref__")

    def __init__(self, key: Sm2PrivateKey, certificate: bytes, seal: bytes, name: str):
        self._key = key
        self.certificate = certificate
        self.seal = seal
        self.name = name

    def sign(self, tbs: bytes) -> bytes:
        return self._key.sign(tbs)

    def __repr__(self) -> str:
        return f"<LocalSealSigner {self.name!r}>"

    __str__ = __repr__

    def __reduce__(self):
        raise TypeError("LocalSealSigner holds a private key and cannot be pickled")
