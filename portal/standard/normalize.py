"""Turn raw values (form strings, calamine/openpyxl cells) into canonical values.

Inputs may be ``None``, ``str`` with junk (NBSP, full-width spaces, zero-width characters), ``int``,
``float`` (calamine gives every number as float: ``123.0``), ``date``/``datetime`` or an Excel serial.
Functions raise ``ValueError`` with a Chinese message naming the field (``label``), showing the value and
saying how to fix it; the rules turn those into ``FORMAT`` errors.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from . import codes
from .values import NumberWithNote

# Characters that are never meaningful at the ends of a cell: ASCII whitespace, NBSP, ideographic
# space, zero-width space/joiners and BOM (copy-paste from Word/web pages brings them).
_JUNK = " \t\r\n\v\f\u00a0\u3000\u200b\u200c\u200d\u2002\u2003\u2009\u202f\ufeff"
# Full-width ASCII block (！..～) → ASCII, ideographic space → space.
_HALFWIDTH = {i: i - 0xFEE0 for i in range(0xFF01, 0xFF5F)}
_HALFWIDTH[0x3000] = 0x20
# For 安装位置 keep the full-width comma so that R6 can tell the user about it.
_HALFWIDTH_KEEP_COMMA = dict(_HALFWIDTH)
del _HALFWIDTH_KEEP_COMMA[0xFF0C]
_INNER_SPACE = re.compile(r"[\s\u00a0\u3000\u200b\ufeff]+")
_SCIENTIFIC = re.compile(r"[+-]?\d+(\.\d+)?[eE][+-]?\d+")
_DATE_TEXT = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_DATE_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 = 1900-01-01 (Excel's fictitious 1900-02-29 is irrelevant here)
# Beyond 15 significant digits a spreadsheet number has lost digits (IEEE double)
_LOST_DIGITS = 10**15


def to_halfwidth(text: str) -> str:
    """Full-width digits/letters/punctuation (０-９Ａ-Ｚ，…) → ASCII."""
    return text if text.isascii() else text.translate(_HALFWIDTH)


def clean_text(value: object) -> str:
    """A cell as stripped text: None → '', 123.0 → '123', date → 'YYYY-MM-DD', junk spaces removed."""
    if value is None:
        return ""
    t = type(value)
    if t is str:
        return value.strip(_JUNK)
    if t is float:
        # integral floats are how calamine returns numbers typed into text columns
        return str(int(value)) if value.is_integer() else repr(value)
    if t is bool:
        return "是" if value else "否"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    if isinstance(value, (int, date, Decimal)):
        return str(value)
    return str(value).strip(_JUNK)


def clean_code(value: object, label: str) -> str:
    """A code-like cell (USCC, ID, permit, division, cert no): half-width, upper case, no spaces.

    Raises ValueError when a long number arrived as a spreadsheet number (digits already lost).
    """
    if type(value) is str:
        s = value.strip(_JUNK)
        if not s.isascii():
            s = s.translate(_HALFWIDTH)
        if " " in s or not s.isascii():
            s = _INNER_SPACE.sub("", s)
        if ("E" in s or "e" in s) and _SCIENTIFIC.fullmatch(s):
            raise ValueError(_lost_digits_message(label, s))
        return s.upper()
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if abs(value) >= _LOST_DIGITS or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(_lost_digits_message(label, clean_text(value) if abs(value) < _LOST_DIGITS
                                                  else f"{value:.14E}"))
        return str(int(value))
    return clean_text(value).upper()


def _lost_digits_message(label: str, shown: str) -> str:
    return (f"{label}“{shown}”已被 Excel 当作数字保存，超过 15 位的数字已经丢失、无法恢复：请把该列单元格设置为"
            f"“文本”格式（或在号码前加英文单引号 '），再重新输入完整的号码")


def parse_date(value: object, label: str) -> date | None:
    """A date from date/datetime, an Excel serial number, or text YYYY-MM-DD / YYYY/MM/DD / YYYY年MM月DD日.

    Returns None for an empty cell; raises ValueError for anything else that is not a real date.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 19000101 <= value <= 29991231 and float(value).is_integer():  # 20250601 typed as a number
            return parse_date(str(int(value)), label)
        if 1 <= value < 2958466:
            return _EXCEL_EPOCH + timedelta(days=int(value))
        raise ValueError(f"{label}“{clean_text(value)}”不是有效日期，请填写 YYYY-MM-DD 格式，例如 2025-06-01")
    text = to_halfwidth(clean_text(value))
    if not text:
        return None
    m = _DATE_TEXT.fullmatch(text) or _DATE_COMPACT.fullmatch(text)
    if m:
        try:
            return date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            raise ValueError(f"{label}“{text}”不是真实存在的日期，请核对年、月、日") from None
    raise ValueError(f"{label}“{text}”不是有效日期，请填写 YYYY-MM-DD 格式，例如 2025-06-01")


def parse_number(value: object, label: str, unit: str = "") -> Decimal | None:
    """A decimal number from a number cell or text ('45', '45.0', '４５', '45m'); None when empty."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{label}“{clean_text(value)}”不是数字，请填写数字{('（单位：' + unit + '）') if unit else ''}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)).normalize() if value == value else None
    if isinstance(value, Decimal):
        return value
    text = _INNER_SPACE.sub("", to_halfwidth(clean_text(value)))
    if not text:
        return None
    if unit and text.lower().endswith(unit.lower()):  # '45m' — the unit is already in the header
        text = text[: -len(unit)]
    text = text.replace(",", "")
    if not _NUMBER.fullmatch(text):
        raise ValueError(f"{label}“{clean_text(value)}”不是数字，请只填写数字{('（单位：' + unit + '）') if unit else ''}，"
                         f"例如 45.5")
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the regex already guarantees a number
        raise ValueError(f"{label}“{text}”不是数字") from None


# 最大幅度起重量 «几倍率»: '1.3(2倍率)', '1.3（2倍率）', '1.3 (2倍)' (matched on the half-width text)
_REEVING_NOTE = re.compile(r"(.*?)\s*\(\s*\d+\s*倍率?\s*\)")


def parse_number_with_reeving(value: object, label: str, unit: str = "") -> Decimal | None:
    """A number that may carry its reeving: '1.3' → Decimal, '1.3(2倍率)' → NumberWithNote (str() is the text as
    entered, stripped); None when empty. The range checks use the number."""
    if isinstance(value, str):
        text = clean_text(value)
        m = _REEVING_NOTE.fullmatch(to_halfwidth(text))
        if m:
            number = parse_number(m[1], label, unit) if m[1] else None
            if number is None:
                raise ValueError(f"{label}“{text}”缺少数值，请在倍率前填写数字，例如 1.3(2倍率)")
            return NumberWithNote(number, text)
    try:
        return parse_number(value, label, unit)
    except ValueError:
        raise ValueError(f"{label}“{clean_text(value)}”不是数字，请填写数字（单位：{unit}），可注明倍率，"
                         f"例如 1.3 或 1.3(2倍率)") from None


def parse_crane_type(value: object) -> str:
    """设备类别 as its letter T/S/W (accepts the names 塔式起重机/施工升降机/物料提升机); '' when empty."""
    text = to_halfwidth(clean_text(value))
    if not text:
        return ""
    letter = codes.crane_type_letter(text)
    if letter is None:
        raise ValueError(f"设备类别“{text}”无效，请填写 T（塔式起重机）、S（施工升降机）或 W（物料提升机）")
    return letter


def parse_personnel_type(value: object, label: str = "人员类型代码") -> str:
    """人员类型代码 as '1101'..'1113' (accepts 1101.0 and the type names); '' when empty."""
    text = clean_code(value, label) if not isinstance(value, str) else to_halfwidth(clean_text(value))
    if not text:
        return ""
    code = codes.personnel_type_code(text)
    if code is None:
        raise ValueError(f"{label}“{text}”无效，请填写 1101～1113 中的代码（见代码表），例如 1101（总监理工程师）")
    return code


# Dash-like characters clerks type between the letters and the type letter (the IME's 一 included)
_RECORD_SPELLING = re.compile(r"([\u4e00-\u9fff][A-Z]{2})[-\u2010-\u2015\u2212\ufe63\u4e00]?([TSW]\d{5})")


def clean_record_number(value: object) -> str:
    """备案编号 in its one canonical spelling, so that R12 compares numbers, not spellings: '晋aa－t23232',
    '晋AA—T23232', '晋AA T23232' and '晋AAT23232' all become '晋AA-T23232'. Anything else comes back as
    ``clean_code`` leaves it (R3 then says what is wrong); a spreadsheet number raises ValueError like
    ``clean_code``."""
    text = clean_code(value, "备案编号")
    m = _RECORD_SPELLING.fullmatch(text)
    return f"{m[1]}-{m[2]}" if m else text


def clean_location(value: object) -> str:
    """安装位置: stripped, full-width digits → ASCII, but a full-width comma is kept for R6's hint."""
    text = clean_text(value)
    if not text.isascii():
        text = text.translate(_HALFWIDTH_KEEP_COMMA)
    return _INNER_SPACE.sub("", text)


def clean_seq(value: object) -> str:
    """序号 as canonical text: 1.0 → '1', ' 01 ' → '1'; other text is kept as typed."""
    text = clean_code(value, "序号") if not isinstance(value, float) or value.is_integer() else clean_text(value)
    if text.isdigit():
        return str(int(text))
    return text


def split_attachments(value: object) -> list[str]:
    """附件 cell → file names ('a.pdf;b.jpg', also full-width ；, 、 and newlines), order kept, no blanks."""
    text = clean_text(value)
    if not text:
        return []
    parts = re.split(r"[;；、\n\r]+", text)
    return [p.strip(_JUNK) for p in parts if p.strip(_JUNK)]
