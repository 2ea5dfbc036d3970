"""SM2 signatures with SM3 (GB/T 32918, GB/T 35276) and the key encodings around them.

Plain values in, bytes out: no Flask, no database.

* SM3 is hashlib's (OpenSSL 3 provides it, and it is fast). Verification is gmssl's (``gmssl`` on
  PyPI), used through this module only because of three traps: it draws nonces from :mod:`random`
  (not a CSPRNG) unless given one; gmssl 3.2.2's constructor strips a leading "04" from a public key
  with ``lstrip`` (corrupting keys whose X starts with 0 or 4) — we set the X‖Y hex ourselves; and it
  checks neither the range of r, s nor that a public key lies on the curve — we do.
* Signing needs only k·G for a fixed G, and gmssl's generic double-and-add on hex strings takes
  13–22 ms here — most of the OFD's 30 ms budget. :func:`_base_multiply` computes k·G with a table of
  the 15 multiples of each 4-bit window of G (fixed-base comb: 64 mixed Jacobian additions, ~0.3 ms),
  the nonce from :mod:`secrets`. It is checked against gmssl's point multiplication (hypothesis) and
  every signature it makes against OpenSSL's ``pkeyutl`` in the tests. Like gmssl, Python integers
  are not constant-time: a production seal belongs in the province's 签章服务 (HSM), which the
  SealSigner interface is for.
* Signatures are "SM2 with SM3" as GB/T 35276 §7 defines them: e = SM3(Z ‖ M) with
  Z = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA) and the default ID ``1234567812345678``; the value is
  the DER ``SM2Signature ::= SEQUENCE { r INTEGER, s INTEGER }`` (what OpenSSL's
  ``pkeyutl -rawin -digest sm3`` and ofdrw/BouncyCastle's "SM3withSM2" produce and accept).
* Keys: SubjectPublicKeyInfo / PKCS#8 with id-ecPublicKey and the SM2 curve OID 1.2.156.10197.1.301
  (GM/T 0015 / GB/T 35276 §6), private keys on disk as PKCS#8 ``ENCRYPTED PRIVATE KEY`` PEM
  (PBES2: PBKDF2-HMAC-SHA256 + AES-256-CBC) — the form OpenSSL 3 reads.

Private keys never appear in ``repr``/``str`` and cannot be pickled.
"""
from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache

from asn1crypto import algos, keys, pem
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from gmssl import sm2 as gm_sm2

__all__ = ["DEFAULT_ID", "OID_SM2", "OID_SM2_WITH_SM3", "OID_SM3", "Sm2Error", "Sm2PrivateKey", "Sm2PublicKey",
           "sm3"]

OID_SM2 = "1.2.156.10197.1.301"
OID_SM2_WITH_SM3 = "1.2.156.10197.1.501"
OID_SM3 = "1.2.156.10197.1.401"
DEFAULT_ID = b"1234567812345678"

_T = gm_sm2.default_ecc_table
P = int(_T["p"], 16)
A = int(_T["a"], 16)
B = int(_T["b"], 16)
N = int(_T["n"], 16)
GX, GY = int(_T["g"][:64], 16), int(_T["g"][64:], 16)
_CURVE_BYTES = b"".join(v.to_bytes(32, "big") for v in (A, B, GX, GY))
KDF_ITERATIONS = 100_000

if OID_SM2 not in keys.NamedCurve._map:  # asn1crypto needs the key size of a curve it serialises
    keys.NamedCurve.register("sm2p256v1", OID_SM2, 32)


class Sm2Error(ValueError):
    """An SM2 key or signature that cannot be used (message never holds secrets)."""


def sm3(data: bytes) -> bytes:
    """SM3 digest (GB/T 32905)."""
    return hashlib.new("sm3", data).digest()


def _verifier(public_hex: str) -> gm_sm2.CryptSM2:
    engine = gm_sm2.CryptSM2(private_key="", public_key="")
    engine.public_key = public_hex  # set directly: the constructor's lstrip("04") corrupts keys
    return engine


def _double(x1: int, y1: int, z1: int) -> tuple[int, int, int]:
    """2P in Jacobian coordinates (general a)."""
    if not y1 or not z1:
        return 0, 1, 0
    yy = y1 * y1 % P
    s = 4 * x1 * yy % P
    zz = z1 * z1 % P
    m = (3 * x1 * x1 + A * zz * zz) % P
    x3 = (m * m - 2 * s) % P
    return x3, (m * (s - x3) - 8 * yy * yy) % P, 2 * y1 * z1 % P


def _add_affine(x1: int, y1: int, z1: int, x2: int, y2: int) -> tuple[int, int, int]:
    """P + Q with P Jacobian (z1 = 0: infinity) and Q affine."""
    if not z1:
        return x2, y2, 1
    z1z1 = z1 * z1 % P
    h = (x2 * z1z1 - x1) % P
    r = (y2 * z1 * z1z1 - y1) % P
    if not h:
        return _double(x1, y1, z1) if not r else (0, 1, 0)
    hh = h * h % P
    hhh = h * hh % P
    v = x1 * hh % P
    x3 = (r * r - hhh - 2 * v) % P
    return x3, (r * (v - x3) - y1 * hhh) % P, z1 * h % P


def _affine(x: int, y: int, z: int) -> tuple[int, int]:
    zi = pow(z, -1, P)
    zi2 = zi * zi % P
    return x * zi2 % P, y * zi2 * zi % P


@lru_cache(maxsize=1)
def _base_table() -> tuple[tuple[tuple[int, int], ...], ...]:
    """For each 4-bit window i: j·16^i·G (j = 1…15), affine. Built once per process (~50 ms)."""
    table, base = [], (GX, GY)
    for _ in range(64):
        row, point = [base], (base[0], base[1], 1)
        for _ in range(14):
            point = _add_affine(*point, *base)
            row.append(_affine(*point))
        table.append(tuple(row))
        point = (base[0], base[1], 1)
        for _ in range(4):
            point = _double(*point)
        base = _affine(*point)
    return tuple(table)


def _base_multiply(k: int) -> tuple[int, int]:
    """k·G (1 ≤ k < n) by the fixed-base comb."""
    table, point = _base_table(), (0, 1, 0)
    for i in range(64):
        j = (k >> (4 * i)) & 15
        if j:
            point = _add_affine(*point, *table[i][j - 1])
    return _affine(*point)


@dataclass(frozen=True, slots=True)
class Sm2PublicKey:
    """A point (x, y) on the SM2 curve; the constructor refuses anything else."""

    x: int
    y: int

    def __post_init__(self):
        if not (0 <= self.x < P and 0 <= self.y < P) or (self.y * self.y - self.x ** 3 - A * self.x - B) % P:
            raise Sm2Error("不是 SM2 曲线上的公钥")

    @classmethod
    def from_point(cls, point: bytes) -> "Sm2PublicKey":
        """From the uncompressed point 04 ‖ X ‖ Y (65 bytes)."""
        if len(point) != 65 or point[0] != 4:
            raise Sm2Error("SM2 公钥应为 65 字节的非压缩点（04‖X‖Y）")
        return cls(int.from_bytes(point[1:33], "big"), int.from_bytes(point[33:], "big"))

    @property
    def point(self) -> bytes:
        return b"\x04" + self.x.to_bytes(32, "big") + self.y.to_bytes(32, "big")

    def z(self, uid: bytes = DEFAULT_ID) -> bytes:
        """Z_A of GB/T 32918.2 §5.5 for this key and distinguishing ID."""
        return sm3((len(uid) * 8).to_bytes(2, "big") + uid + _CURVE_BYTES + self.point[1:])

    def digest(self, message: bytes, uid: bytes = DEFAULT_ID) -> bytes:
        """e = SM3(Z_A ‖ M), the value SM2 signs."""
        return sm3(self.z(uid) + message)

    def verify(self, message: bytes, signature: bytes, uid: bytes = DEFAULT_ID) -> bool:
        """True when *signature* (DER r, s) is this key's SM2-with-SM3 signature of *message*."""
        try:
            rs = algos.DSASignature.load(bytes(signature), strict=True)
            r, s = int(rs["r"].native), int(rs["s"].native)
        except Exception:
            return False
        if not (1 <= r < N and 1 <= s < N):
            return False
        return bool(_verifier(self.point[1:].hex()).verify("%064x%064x" % (r, s),
                                                                     self.digest(message, uid)))

    # -- encodings -----------------------------------------------------------------------
    def public_key_info(self) -> keys.PublicKeyInfo:
        return keys.PublicKeyInfo({
            "algorithm": {"algorithm": "ec", "parameters": keys.ECDomainParameters(
                name="named", value=OID_SM2)},
            "public_key": self.point,
        })

    def spki_der(self) -> bytes:
        """DER SubjectPublicKeyInfo (what ``openssl pkey -pubin`` reads)."""
        return self.public_key_info().dump()

    @classmethod
    def from_public_key_info(cls, info: keys.PublicKeyInfo) -> "Sm2PublicKey":
        try:
            algorithm = info["algorithm"]
            if algorithm["algorithm"].dotted != "1.2.840.10045.2.1" or \
                    algorithm["parameters"].chosen.dotted != OID_SM2:
                raise Sm2Error("不是 SM2 公钥")
            return cls.from_point(bytes(info["public_key"].native))
        except Sm2Error:
            raise
        except Exception:
            raise Sm2Error("无法解析 SM2 公钥") from None


class Sm2PrivateKey:
    """An SM2 private key d with its public key; never shown, never pickled."""

    __slots__ = ("_d", "_inverse", "public_key", "__weakref__")

    def __init__(self, d: int, public_key: Sm2PublicKey | None = None):
        if not 1 <= d < N - 1:
            raise Sm2Error("SM2 私钥超出范围")
        self._d = d
        self._inverse = pow(1 + d, -1, N)
        self.public_key = public_key or Sm2PublicKey(*_base_multiply(d))

    @classmethod
    def generate(cls) -> "Sm2PrivateKey":
        return cls(secrets.randbelow(N - 2) + 1)

    def sign(self, message: bytes, uid: bytes = DEFAULT_ID) -> bytes:
        """The SM2-with-SM3 signature of *message* as DER (r, s)."""
        e = int.from_bytes(self.public_key.digest(message, uid), "big")
        while True:  # GB/T 32918.2 §6.1; a nonce giving r = 0, r + k = n or s = 0 is drawn again
            k = secrets.randbelow(N - 1) + 1
            r = (e + _base_multiply(k)[0]) % N
            if r == 0 or r + k == N:
                continue  # pragma: no cover - probability ~2^-255
            s = self._inverse * (k - r * self._d) % N
            if s:
                return algos.DSASignature({"r": r, "s": s}).dump()

    # -- encodings -----------------------------------------------------------------------
    def _private_key_info(self) -> keys.PrivateKeyInfo:
        ec_key = keys.ECPrivateKey({"version": "ecPrivkeyVer1", "private_key": self._d,
                                    "public_key": self.public_key.point})
        return keys.PrivateKeyInfo({
            "version": 0,
            "private_key_algorithm": {"algorithm": "ec", "parameters": keys.ECDomainParameters(
                name="named", value=OID_SM2)},
            "private_key": ec_key,
        })

    def encrypted_pem(self, passphrase: bytes, iterations: int = KDF_ITERATIONS) -> bytes:
        """PKCS#8 ``ENCRYPTED PRIVATE KEY`` PEM (PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC)."""
        if not passphrase:
            raise Sm2Error("a non-empty passphrase is required")
        salt, iv = os.urandom(16), os.urandom(16)
        key = PBKDF2HMAC(hashes.SHA256(), 32, salt, iterations).derive(passphrase)
        padder = padding.PKCS7(128).padder()
        plain = padder.update(self._private_key_info().dump()) + padder.finalize()
        encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
        encrypted = encryptor.update(plain) + encryptor.finalize()
        info = keys.EncryptedPrivateKeyInfo({
            "encryption_algorithm": {
                "algorithm": "pbes2",
                "parameters": {
                    "key_derivation_func": {"algorithm": "pbkdf2", "parameters": {
                        "salt": algos.Pbkdf2Salt(name="specified", value=salt), "iteration_count": iterations,
                        "key_length": 32,
                        "prf": {"algorithm": "sha256"}}},
                    "encryption_scheme": {"algorithm": "aes256_cbc", "parameters": iv},
                },
            },
            "encrypted_data": encrypted,
        })
        return pem.armor("ENCRYPTED PRIVATE KEY", info.dump())

    @classmethod
    def from_encrypted_pem(cls, data: bytes, passphrase: bytes) -> "Sm2PrivateKey":
        """Load what :meth:`encrypted_pem` wrote (Sm2Error on a wrong passphrase or damaged file)."""
        try:
            _, _, der = pem.unarmor(data)
            info = keys.EncryptedPrivateKeyInfo.load(der)
            params = info["encryption_algorithm"]["parameters"]
            kdf = params["key_derivation_func"]["parameters"]
            if params["encryption_scheme"]["algorithm"].native != "aes256_cbc" or \
                    kdf["prf"]["algorithm"].native != "sha256":
                raise Sm2Error("unsupported key encryption")
            key = PBKDF2HMAC(hashes.SHA256(), 32, kdf["salt"].native,
                             kdf["iteration_count"].native).derive(passphrase)
            decryptor = Cipher(algorithms.AES(key), modes.CBC(params["encryption_scheme"]["parameters"].native)
                               ).decryptor()
            padded = decryptor.update(info["encrypted_data"].native) + decryptor.finalize()
            unpadder = padding.PKCS7(128).unpadder()
            plain = unpadder.update(padded) + unpadder.finalize()
            pki = keys.PrivateKeyInfo.load(plain)
            if pki["private_key_algorithm"]["parameters"].chosen.dotted != OID_SM2:
                raise Sm2Error("not an SM2 key")
            ec_key = pki["private_key"].parsed
            d = int(ec_key["private_key"].native)
            return cls(d)
        except Sm2Error:
            raise
        except Exception:
            raise Sm2Error("cannot decrypt the SM2 key (wrong passphrase or damaged file)") from None

    def __repr__(self) -> str:
        return f"<Sm2PrivateKey public={self.public_key.point[1:5].hex()}…>"

    __str__ = __repr__

    def __reduce__(self):
        raise TypeError("Sm2PrivateKey holds a private key and cannot be pickled")

