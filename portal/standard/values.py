"""Value types of the standard: 证书编号, 备案编号, 统一社会信用代码, 身份证号码, a number with a note.

Each is a frozen dataclass with ``parse(text)`` (raises ``ValueError`` with a Chinese message that shows
the value and says how to fix it) and ``__str__`` giving the canonical text, so that
``str(X.parse(s)) == s`` for every valid ``s``. ``parse`` checks structure and check characters only;
table look-ups (division exists, prefix exists, …) are rules (``portal.standard.rules``).
"""
from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from portal import clock

__all__ = ["CertificateNumber", "RecordNumber", "Uscc", "IdNumber", "NumberWithNote"]

_CERT_RE = re.compile(r"(\d{6})([TSW])（(\d{4})）(\d{7})")
_CERT_HALF_RE = re.compile(r"(\d{6})([TSW])[(（](\d{4})[)）](\d{7})")
# Full-width digits and letters typed by a Chinese input method: ０-９ Ａ-Ｚ → 0-9 A-Z.
_FULL_WIDTH_ALNUM = {0xFF10 + i: 0x30 + i for i in range(10)} | {0xFF21 + i: 0x41 + i for i in range(26)}
# 省份简称 (one CJK character) + city letter + county letter + '-' + type letter + 5 digits
_RECORD_RE = re.compile(r"([\u4e00-\u9fff][A-Z]{2})-([TSW])(\d{5})")


@dataclass(frozen=True, slots=True)
class CertificateNumber:
    """证书编号 (R1): division + type letter + （year） + 7-digit serial, e.g. 140105T（2023）0000001."""

    division: str
    type_letter: str
    year: int
    serial: int

    @classmethod
    def parse(cls, text: str) -> "CertificateNumber":
        """Parse a 证书编号; full-width parentheses are required (manual 1.2.3 中文括号)."""
        m = _CERT_RE.fullmatch(text)
        if not m:
            if _CERT_HALF_RE.fullmatch(text):
                fixed = _CERT_HALF_RE.sub(r"\1\2（\3）\4", text)
                raise ValueError(f"证书编号“{text}”的年份须用中文全角括号“（）”，应为“{fixed}”")
            raise ValueError(f"证书编号“{text}”格式不正确，应为 6 位区划代码 + 设备类别字母(T/S/W) + "
                             f"（4 位颁发年份）+ 7 位流水号，例如 140105T（2023）0000001")
        division, letter, year, serial = m.groups()
        if int(serial) == 0:
            raise ValueError(f"证书编号“{text}”的流水号不能为 0000000，应在 0000001～9999999 之间")
        if not 1900 <= int(year) <= 2999:
            raise ValueError(f"证书编号“{text}”的颁发年份 {year} 不正确")
        return cls(division, letter, int(year), int(serial))

    def __str__(self) -> str:
        return f"{self.division}{self.type_letter}（{self.year:04d}）{self.serial:07d}"

    @staticmethod
    def normalize(text: str | None) -> str:
        """A typed 证书编号 as stored, for a search: trimmed, upper case, half-width year parentheses made
        full-width. Not checked: a text that is no 证书编号 simply finds nothing."""
        text = (text or "").strip().upper()
        return _CERT_HALF_RE.sub(r"\1\2（\3）\4", text) if _CERT_HALF_RE.fullmatch(text) else text

    @staticmethod
    def fragment(text: str | None) -> str:
        """Any part of a typed 证书编号 as it appears in stored numbers: no spaces, upper case, ASCII or
        full-width parentheses made the full-width ones numbers are written with (manual 1.2.3)."""
        text = re.sub(r"\s+", "", text or "").upper()
        return text.replace("(", "（").replace(")", "）").translate(_FULL_WIDTH_ALNUM)

    @staticmethod
    def search(text: str | None) -> str | None:
        """The first 证书编号 in a longer text (a PDF's document title), or None."""
        match = _CERT_RE.search(text or "")
        return match.group(0) if match else None


@dataclass(frozen=True, slots=True)
class RecordNumber:
    """备案编号 (R3): 省份简称 + city letter + county letter + '-' + type letter + 5 digits, e.g. 晋AA-T00001.

    The 备案 is made where the owner registered the machine (建质[2008]76号), in any province: 冀AA-T00001 is
    a well-formed number too. Whether its letters exist is rule R3.
    """

    prefix: str  # '晋AA': 省份简称 + city letter + county letter
    type_letter: str
    serial: int

    @property
    def province(self) -> str:
        """The 省份简称, e.g. '晋'."""
        return self.prefix[0]

    @classmethod
    def parse(cls, text: str) -> "RecordNumber":
        """Parse a canonical 备案编号 (structure only; ``normalize.clean_record_number`` makes it canonical)."""
        m = _RECORD_RE.fullmatch(text)
        if not m:
            raise ValueError(f"备案编号“{text}”格式不正确，应为 省份简称 + 地市字母 + 区县字母 + “-” + 设备类别字母"
                             f"(T/S/W) + 5 位流水号，例如 晋AA-T00001")
        prefix, letter, serial = m.groups()
        if int(serial) == 0:
            raise ValueError(f"备案编号“{text}”的流水号不能为 00000")
        return cls(prefix, letter, int(serial))

    def __str__(self) -> str:
        return f"{self.prefix}-{self.type_letter}{self.serial:05d}"


class NumberWithNote(Decimal):
    """A number the clerk wrote with a note, e.g. 最大幅度起重量 ``1.3(2倍率)`` (the manual's «几倍率»).

    It compares and computes as its number (the range checks use it); ``str()`` gives the text as entered,
    which is what is stored and printed.
    """

    __slots__ = ("text",)

    def __new__(cls, number: Decimal, text: str) -> "NumberWithNote":
        obj = super().__new__(cls, number)
        obj.text = text
        return obj

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"NumberWithNote({Decimal(self)!r}, {self.text!r})"

    def __reduce__(self):
        return NumberWithNote, (Decimal(self), self.text)


# GB 32100-2015: 31 characters (no I, O, S, V, Z); weights 3^(i-1) mod 31
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_USCC_RE = re.compile(r"[0-9A-HJ-NP-RTUWXY]{2}\d{6}[0-9A-HJ-NP-RTUWXY]{10}")


@dataclass(frozen=True, slots=True)
class Uscc:
    """统一社会信用代码 (GB 32100-2015), 18 characters with a MOD 31 check character."""

    value: str

    @staticmethod
    def check_char(first17: str) -> str:
        """The check character (18th) for the first 17 characters (ValueError for a character not allowed)."""
        if len(first17) != 17 or any(c not in _USCC_VALUE for c in first17):
            raise ValueError(f"“{first17}”不是 17 位统一社会信用代码本体（允许字符 0-9、A-H、J-N、P-R、T、U、W-Y）")
        total = sum(_USCC_VALUE[c] * w for c, w in zip(first17, _USCC_WEIGHTS))
        return USCC_ALPHABET[(31 - total % 31) % 31]

    @classmethod
    def parse(cls, text: str) -> "Uscc":
        """Parse a USCC: 18 chars of 0-9A-HJ-NP-RTUW-Y, letters allowed in positions 1–2, digits 3–8."""
        if len(text) != 18:
            raise ValueError(f"统一社会信用代码“{text}”应为 18 位，实际为 {len(text)} 位，请核对营业执照上的代码")
        if not _USCC_RE.fullmatch(text):
            bad = [c for c in text if c not in _USCC_VALUE]
            if bad:
                raise ValueError(f"统一社会信用代码“{text}”含有不允许的字符“{''.join(dict.fromkeys(bad))}”"
                                 f"（代码中没有 I、O、S、V、Z，字母须大写），请核对营业执照上的代码")
            raise ValueError(f"统一社会信用代码“{text}”的第 3～8 位应为 6 位数字的行政区划码，请核对营业执照上的代码")
        expected = cls.check_char(text[:17])
        if text[17] != expected:
            raise ValueError(f"统一社会信用代码“{text}”的校验位不正确（按前 17 位计算应为“{expected}”），"
                             f"请核对营业执照上的代码，注意区分数字与字母")
        return cls(text)

    def __str__(self) -> str:
        return self.value


_ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_ID_CHECK = "10X98765432"
_DIGIT = {str(d): d for d in range(10)}  # faster than int() per character, on the import's hot path
_ID_RE = re.compile(r"\d{17}[\dX]")


@dataclass(frozen=True, slots=True)
class IdNumber:
    """居民身份证号码 (GB 11643-1999): 17 digits + ISO 7064 MOD 11-2 check digit (0-9 or X)."""

    value: str

    @staticmethod
    def check_digit(first17: str) -> str:
        """The check digit (18th) for the first 17 digits."""
        return _ID_CHECK[sum(map(operator.mul, map(_DIGIT.__getitem__, first17), _ID_WEIGHTS)) % 11]

    @property
    def birth_date(self) -> date:
        """The birth date encoded in digits 7–14."""
        v = self.value
        return date(int(v[6:10]), int(v[10:12]), int(v[12:14]))

    @classmethod
    def parse(cls, text: str, today: date | None = None) -> "IdNumber":
        """Parse an 18-digit ID number: format, real birth date not after ``today``, check digit.

        The region code (digits 1–6) is deliberately not checked against division history: it is where
        the ID was issued and many real, older codes no longer exist.
        """
        if len(text) != 18:
            raise ValueError(f"身份证号码“{text}”应为 18 位，实际为 {len(text)} 位（15 位旧号码请换用 18 位号码）")
        if not _ID_RE.fullmatch(text):
            raise ValueError(f"身份证号码“{text}”只能由 17 位数字和最后一位数字或大写 X 组成")
        try:
            born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
        except ValueError:
            raise ValueError(f"身份证号码“{text}”中的出生日期 {text[6:14]} 不是有效日期") from None
        if born.year < 1900 or born > (today or clock.today()):
            raise ValueError(f"身份证号码“{text}”中的出生日期 {text[6:14]} 不合理")
        expected = cls.check_digit(text[:17])
        if text[17] != expected:
            raise ValueError(f"身份证号码“{text}”的校验位不正确（按前 17 位计算应为“{expected}”），请核对号码")
        return cls(text)

    def __str__(self) -> str:
        return self.value
