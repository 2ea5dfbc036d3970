"""电子证照标识 (GB/T 36904-2018, Electronic certificate — Identifier specification).

    1.2.156.3005.2.<证照类型代码>.<发证机构统一社会信用代码>.<流水号>.<版本号 3 位>.<校验位>

* ``1.2.156.3005.2`` is the national e-licence arc the standard fixes.
* 证照类型代码: no official code for the 建筑起重机械使用登记证书 has been published, so it comes from
  configuration (``portal.config.Config.LICENSE_TYPE_CODE``, provisional default documented there).
* 流水号: for our certificates it is derived from the 证书编号 (R1) — division + type letter + year +
  7-digit serial, e.g. 140105T（2023）0000001 → ``140105T20230000001``. The number is unique and never
  reused, and is assigned once per authority, so the serial is stable and unique per 发证机构
  (:func:`serial_for_certificate_number`).
* 版本号: three digits, ``001`` for the first issue of a certificate.
* 校验位: ISO/IEC 7064 (GB/T 17710) hybrid system MOD 37,36 over the identifier's characters before
  the check character. That alphabet has no '.', so the separators are left out of the computation
  (the check character therefore also guards the prefix, the type code, the USCC, serial and version).

Pure Python, like every value type of :mod:`portal.standard.values`: ``parse(text)`` raises
``ValueError`` with a Chinese message that names the wrong part; ``str(LicenseId.parse(s)) == s``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from portal.standard.values import CertificateNumber, Uscc

__all__ = ["LICENSE_ID_PREFIX", "LicenseId", "mod37_36_check_char", "mod37_36_is_valid",
           "serial_for_certificate_number"]

LICENSE_ID_PREFIX = "1.2.156.3005.2"
MOD37_36_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_VALUE = {c: i for i, c in enumerate(MOD37_36_ALPHABET)}
_M = 36

_TYPE_CODE_RE = re.compile(r"[0-9A-Z]{1,32}")
_SERIAL_RE = re.compile(r"[0-9A-Z]{1,32}")
_VERSION_RE = re.compile(r"\d{3}")


def _running(text: str) -> int:
    """The hybrid-system running value P after every character of *text* (ISO/IEC 7064 §9)."""
    p = _M
    for ch in text:
        s = (p + _VALUE[ch]) % _M or _M
        p = (s * 2) % (_M + 1)
    return p


def mod37_36_check_char(text: str) -> str:
    """The MOD 37,36 check character of *text* (characters 0-9 A-Z; ValueError otherwise)."""
    bad = sorted({c for c in text if c not in _VALUE})
    if bad:
        raise ValueError(f"“{text}”含有 MOD 37,36 校验不允许的字符“{''.join(bad)}”（只允许数字和大写字母）")
    return MOD37_36_ALPHABET[(_M + 1 - _running(text)) % _M]


def mod37_36_is_valid(text_with_check: str) -> bool:
    """True when the last character of *text_with_check* is its MOD 37,36 check character."""
    if len(text_with_check) < 2 or any(c not in _VALUE for c in text_with_check):
        return False
    p = _running(text_with_check[:-1])
    return (p + _VALUE[text_with_check[-1]]) % _M == 1


def serial_for_certificate_number(number: str) -> str:
    """The 流水号 of a certificate: its 证书编号 without the parentheses, e.g. ``140105T20230000001``."""
    n = CertificateNumber.parse(number)
    return f"{n.division}{n.type_letter}{n.year:04d}{n.serial:07d}"


def _check_type_code(type_code: str) -> str:
    if not isinstance(type_code, str) or not _TYPE_CODE_RE.fullmatch(type_code):
        raise ValueError(f"电子证照标识的证照类型代码“{type_code}”不正确，应为 1～32 位数字或大写字母")
    return type_code


def _check_serial(serial: str) -> str:
    if not isinstance(serial, str) or not _SERIAL_RE.fullmatch(serial):
        raise ValueError(f"电子证照标识的流水号“{serial}”不正确，应为 1～32 位数字或大写字母")
    return serial


def _check_version(version: int) -> int:
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= 999:
        raise ValueError(f"电子证照标识的版本号“{version}”不正确，应为 001～999")
    return version


@dataclass(frozen=True, slots=True)
class LicenseId:
    """One 电子证照标识; ``str()`` gives the canonical text with its check character."""

    type_code: str
    authority_uscc: str
    serial: str
    version: int = 1

    @classmethod
    def build(cls, type_code: str, authority_uscc: str, serial: str, version: int = 1) -> "LicenseId":
        """The identifier of these parts; ValueError (Chinese) naming a part that is not valid."""
        _check_type_code(type_code)
        try:
            Uscc.parse(authority_uscc)
        except ValueError as exc:
            raise ValueError(f"电子证照标识的发证机构代码不正确：{exc}") from None
        return cls(type_code, authority_uscc, _check_serial(serial), _check_version(version))

    @property
    def body(self) -> str:
        """Everything before the check character, without the final '.'."""
        return f"{LICENSE_ID_PREFIX}.{self.type_code}.{self.authority_uscc}.{self.serial}.{self.version:03d}"

    @property
    def check_char(self) -> str:
        return mod37_36_check_char(self.body.replace(".", ""))

    def __str__(self) -> str:
        return f"{self.body}.{self.check_char}"

    @staticmethod
    def normalize(text: str | None) -> str:
        """A typed identifier as stored, for a search: no spaces, upper case, the full stops a Chinese input
        method types (。．) as '.'. Not checked: a text that is no identifier simply finds nothing."""
        return "".join((text or "").split()).upper().replace("。", ".").replace("．", ".")

    @classmethod
    def parse(cls, text: str) -> "LicenseId":
        """Parse an identifier: prefix, five parts, a valid USCC, 3-digit version, check character."""
        if not isinstance(text, str) or not text.startswith(LICENSE_ID_PREFIX + "."):
            raise ValueError(f"电子证照标识“{text}”应以“{LICENSE_ID_PREFIX}.”开头")
        parts = text[len(LICENSE_ID_PREFIX) + 1:].split(".")
        if len(parts) != 5:
            raise ValueError(f"电子证照标识“{text}”应由“{LICENSE_ID_PREFIX}.证照类型代码.发证机构代码.流水号."
                             f"版本号.校验位”组成，实际在前缀之后有 {len(parts)} 段")
        type_code, uscc, serial, version, check = parts
        if not _VERSION_RE.fullmatch(version) or version == "000":
            raise ValueError(f"电子证照标识“{text}”的版本号“{version}”不正确，应为 3 位数字 001～999")
        value = cls.build(type_code, uscc, serial, int(version))
        if len(check) != 1 or check != value.check_char:
            raise ValueError(f"电子证照标识“{text}”的校验位“{check}”不正确（按前面各段计算应为“{value.check_char}”），"
                             f"请核对标识")
        return value
