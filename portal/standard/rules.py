"""The rules R1–R13 of the standard (SPEC §4, manual 三、证照录入规范标准) as pure functions.

One set of checks and messages for the web form, the batch import and the CLI. Entry points:

* ``check_and_clean(values, persons, ctx)`` – every error of every field and person (raw input ok) and, from
  the same single pass, the cleaned values and persons the issuing step stores (``CheckedCertificate``);
* ``check_certificate(values, persons, ctx)`` – only the errors;
* ``check_cancellation(persons, ctx)`` – R9 for the 1113 persons at a cancellation;
* ``clean_certificate(values)`` / ``clean_person(p)`` – canonical typed values (the same cleaning, alone);
* ``rule_r1_…`` … ``rule_r13_…`` – the single rules, each returning ``list[RuleError]``.

Every message is Chinese, names the field, shows the bad value and says how to fix it.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Callable, Iterable, Mapping, Sequence

from portal import clock

from . import codes
from .fields import FIELDS, PERSON_FIELD_BY_KEY, PERSON_FIELDS
from .normalize import (clean_code, clean_location, clean_record_number, clean_text, parse_crane_type, parse_date,
                        parse_number, parse_number_with_reeving, parse_personnel_type, split_attachments, to_halfwidth)
from .values import _RECORD_RE, CertificateNumber, IdNumber, RecordNumber, Uscc

__all__ = [
    "RuleError", "PersonStatus", "PersonLookup", "CheckContext", "CheckedCertificate", "FIELDS", "PERSON_FIELDS",
    "RULE_IDS", "check_and_clean", "check_certificate", "check_cancellation", "check_person_row",
    "clean_certificate", "clean_person",
    "rule_r1_certificate_number", "rule_r2_division", "rule_r3_record_number", "rule_r4_uscc",
    "rule_r4_authority", "rule_r4_authority_name", "rule_r5_jurisdiction", "rule_r6_location", "rule_r7_business",
    "rule_r8_persons", "rule_r9_platform", "rule_r10_permit", "rule_r11_dates", "rule_r12_unique",
    "rule_r12_same_file", "rule_r13_no_change", "NO_CHANGE",
]

RULE_IDS = tuple(f"R{i}" for i in range(1, 14)) + ("REQUIRED", "FORMAT")

# Shanxi bounding box for R6 (CGCS2000 degrees)
LON_MIN, LON_MAX = Decimal("110.2"), Decimal("114.6")
LAT_MIN, LAT_MAX = Decimal("34.5"), Decimal("40.8")
LOCATION_EXAMPLE = "112.5492,37.8570"


@dataclass(frozen=True, slots=True)
class RuleError:
    """One failed check: which rule, which field (key + Chinese label), the value seen, what to do."""

    rule: str  # 'R1'..'R13', 'REQUIRED', 'FORMAT'
    key: str  # field key ('holder_uscc', 'id_number', 'persons', 'seq', …)
    field: str  # Chinese label, e.g. '使用单位统一社会信用代码' or '相关人员第2行 身份证号码'
    value: str
    message: str
    person_index: int | None = None  # index into the persons list for person errors

    def __str__(self) -> str:
        return self.message


class PersonStatus(str, enum.Enum):
    """What the national platform's personnel lookup (R9) answered about one person."""

    FOUND = "found"
    NOT_FOUND = "not_found"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class PersonLookup:
    """The platform's answer about one person: its status, a Chinese message for people (FOUND / NOT_FOUND:
    what was found, naming the person; UNAVAILABLE: why the platform could not answer) and the record found."""

    status: PersonStatus
    message: str = ""
    person: dict | None = None

    @property
    def found(self) -> bool:
        return self.status is PersonStatus.FOUND


def _never(_record_number: str) -> bool:
    return False


@dataclass
class CheckContext:
    """Everything the rules need from outside: the date, the operator's authority and look-ups.

    ``find_person(name, id_number, cert_no, type_code) -> PersonLookup`` (a bare PersonStatus is an answer
    without a message); None skips R9.
    ``authority_name``: the name of the authority ``authority_uscc`` names (R4 checks 发证机关 against it).
    ``record_number_taken`` is asked with the canonical 备案编号 (``normalize.clean_record_number``).
    """

    today: date = field(default_factory=clock.today)  # the business date
    jurisdiction: frozenset[str] | None = None
    authority_uscc: str | None = None
    record_number_taken: Callable[[str], bool] = _never
    find_person: Callable[[str, str, str, str], PersonLookup | PersonStatus] | None = None
    authority_name: str | None = None


# ---------------------------------------------------------------------------------------------- helpers

_LABELS = {"attachments": "附件", "seq": "序号", "persons": "相关人员信息", "certificate_number": "证书编号",
           "certificate": "证书", **{f.key: f.label for f in PERSON_FIELDS}, **{f.key: f.label for f in FIELDS}}


def _label(key: str) -> str:
    return _LABELS.get(key, key)


def _err(rule: str, key: str, value: object, message: str) -> RuleError:
    label = _label(key)
    return RuleError(rule, key, label, "" if value is None else str(value), f"{label}：{message}")


def _person_label(index: int, key: str, person_rows: Sequence[int] | None) -> str:
    where = f"人员信息表第{person_rows[index]}行" if person_rows else f"相关人员第{index + 1}行"
    return f"{where} {_label(key)}" if key else where


def _perr(rule: str, index: int, key: str, value: object, message: str,
          person_rows: Sequence[int] | None = None) -> RuleError:
    label = _person_label(index, key, person_rows)
    return RuleError(rule, key or "persons", label, "" if value is None else str(value), f"{label}：{message}",
                     person_index=index)


def _fmt(d: Decimal) -> str:
    return format(d.normalize(), "f")


@lru_cache(maxsize=65536)
def _uscc_problem(value: str) -> str | None:
    # cached: a batch repeats the same few companies thousands of times
    try:
        Uscc.parse(value)
    except ValueError as e:
        return str(e)
    return None


@lru_cache(maxsize=65536)
def _id_problem(value: str, today: date) -> str | None:
    try:
        IdNumber.parse(value, today)
    except ValueError as e:
        return str(e)
    return None


# ---------------------------------------------------------------------------------------------- cleaning

_TEXT_KEYS = tuple(f.key for f in FIELDS if f.kind == "text" and f.key not in
                   ("record_number", "location", "permit_number"))
_CODE_KEYS = tuple(f.key for f in FIELDS if f.kind in ("uscc", "division")) + ("record_number", "permit_number")
_REEVING_KEYS = frozenset(bf.key for bf in codes.business_fields() if bf.reeving)
_DATE_KEYS = tuple(f.key for f in FIELDS if f.kind == "date")
_BUSINESS = tuple((f.key, f.label, f.unit) for f in FIELDS if f.crane_type)
_MAXLEN = {f.key: f.max_length for f in FIELDS}


def _clean_certificate(values: Mapping[str, object]) -> tuple[dict, dict[str, RuleError]]:
    """Canonical values + FORMAT errors by key (a key with an error keeps its stripped text)."""
    get = values.get
    out: dict[str, object] = {}
    errors: dict[str, RuleError] = {}
    for key in _TEXT_KEYS:
        out[key] = clean_text(get(key))
    for key in _CODE_KEYS:
        raw = get(key)
        try:
            out[key] = clean_record_number(raw) if key == "record_number" else clean_code(raw, _LABELS[key])
        except ValueError as e:
            out[key] = clean_text(raw)
            errors[key] = _err("FORMAT", key, out[key], str(e))
    for key in _DATE_KEYS:
        raw = get(key)
        try:
            out[key] = parse_date(raw, _LABELS[key])
        except ValueError as e:
            out[key] = clean_text(raw)
            errors[key] = _err("FORMAT", key, out[key], str(e))
    raw = get("crane_type")
    try:
        out["crane_type"] = parse_crane_type(raw)
    except ValueError as e:
        out["crane_type"] = clean_text(raw)
        errors["crane_type"] = _err("FORMAT", "crane_type", out["crane_type"], str(e))
    out["location"] = clean_location(get("location"))
    for key, label, unit in _BUSINESS:
        raw = get(key)
        try:
            out[key] = (parse_number_with_reeving if key in _REEVING_KEYS else parse_number)(raw, label, unit)
        except ValueError as e:
            out[key] = clean_text(raw)
            errors[key] = _err("R7", key, out[key], str(e).removeprefix(label))
    out["attachments"] = split_attachments(get("attachments"))
    for key in _TEXT_KEYS + ("record_number", "permit_number", "location"):
        v = out[key]
        if len(v) > _MAXLEN[key] and key not in errors:
            errors[key] = _err("FORMAT", key, v[:30] + "…", f"内容过长（{len(v)} 个字符），最多 {_MAXLEN[key]} 个字符，请精简")
    return out, errors


def clean_certificate(values: Mapping[str, object]) -> dict:
    """Canonical values for storage: stripped text, upper-case codes, the canonical 备案编号, dates as ``date``
    (or None), crane type letter, business numbers as ``Decimal`` (or None; ``NumberWithNote`` for a number
    with its reeving), attachments as a list of names.

    Never raises: a value that cannot be read is returned as stripped text (the rules report it).
    """
    return _clean_certificate(values)[0]


_PERSON_CODES = frozenset(p.code for p in codes.personnel_types())


def _clean_person(p: Mapping[str, object]) -> tuple[dict, dict[str, str]]:
    get = p.get
    problems: dict[str, str] = {}
    raw = get("type_code")
    if type(raw) is str and raw in _PERSON_CODES:  # fast path: the code exactly as the table has it
        code = raw
    else:
        try:
            code = parse_personnel_type(raw)
        except ValueError as e:
            code = clean_text(raw)
            problems["type_code"] = str(e)
    raw = get("id_number")
    try:
        idno = clean_code(raw, "身份证号码")
    except ValueError as e:
        idno = clean_text(raw)
        problems["id_number"] = str(e)
    raw = get("cert_no")
    try:
        cert = clean_code(raw, "证书编号")
    except ValueError as e:
        cert = clean_text(raw)
        problems["cert_no"] = str(e)
    phone = get("phone")
    phone = clean_text(phone) if type(phone) is str or phone is None or abs(phone) >= 10**15 \
        else clean_code(phone, "联系电话")
    return {"type_code": code, "name": clean_text(get("name")), "id_number": idno, "cert_no": cert,
            "phone": phone}, problems


def clean_person(p: Mapping[str, object]) -> dict:
    """Canonical person: type_code '1101'.., stripped name, upper-case id_number/cert_no, phone text.

    Never raises (see ``clean_certificate``).
    """
    try:
        return _clean_person(p)[0]
    except ValueError:  # pragma: no cover - phone as a 16+ digit number
        return {k: clean_text(p.get(k)) for k in PERSON_FIELD_BY_KEY}


# ---------------------------------------------------------------------------------------------- R1–R13

def rule_r1_certificate_number(number: object, *, project_division: str | None = None,
                               crane_type: str | None = None, issue_date: date | None = None) -> list[RuleError]:
    """R1 证书编号: structure (full-width （年份）), a valid division (R2) and, when given, division =
    project division, letter = 设备类别, year = issue year."""
    text = clean_text(number)
    try:
        n = CertificateNumber.parse(text)
    except ValueError as e:
        return [_err("R1", "certificate_number", text, str(e))]
    errors = []
    if codes.division(n.division) is None:
        errors.append(_err("R1", "certificate_number", text,
                           f"证书编号“{text}”中的区划代码 {n.division} 不是山西省有效的区划代码（见代码表）"
                           f"{_successor_hint(n.division)}"))
    if project_division and n.division != project_division:
        errors.append(_err("R1", "certificate_number", text,
                           f"证书编号“{text}”中的区划代码 {n.division} 应与工程项目地址所在区划代码 {project_division} 一致"))
    if crane_type and n.type_letter != crane_type:
        errors.append(_err("R1", "certificate_number", text,
                           f"证书编号“{text}”中的类别字母 {n.type_letter} 应与设备类别 {crane_type} 一致"))
    if issue_date and n.year != issue_date.year:
        errors.append(_err("R1", "certificate_number", text,
                           f"证书编号“{text}”中的年份（{n.year}）应为发证年份（{issue_date.year}）"))
    return errors


_DIVISION_RE = re.compile(r"\d{6}")


def _successors(old: codes.AbolishedDivision) -> str:
    """'140404 上党区' (several joined by 、)."""
    return "、".join(f"{c} {d.full_name}" if (d := codes.division(c)) else c for c in old.successors)


def _successor_hint(code: str) -> str:
    """'；140421 长治市长治县已撤销（2018-11-23 后不再使用），现为 140404 长治市上党区' for an abolished code, else ''."""
    old = codes.abolished_division(code)
    if old is None:
        return ""
    return f"；{code} {old.full_name}已撤销（{old.valid_until.isoformat()} 后不再使用），现为 {_successors(old)}"


def rule_r2_division(code: str, key: str = "project_division") -> list[RuleError]:
    """R2: a 6-digit GB/T 2260 code of the appendix or a folded Shanxi district; an abolished code is named with
    its successor(s)."""
    if not _DIVISION_RE.fullmatch(code):
        return [_err("R2", key, code, f"“{code}”不是 6 位数字的行政区划代码，请从代码表中选择，例如 140105（太原市小店区）")]
    if codes.division(code) is None:
        old = codes.abolished_division(code)
        if old is not None:
            return [_err("R2", key, code, f"“{code}”是已撤销的区划代码（{old.full_name}，{old.valid_until.isoformat()} 后不再"
                                          f"使用），现为 {_successors(old)}，请填写现行代码")]
        hint = ""
        city = codes.division(code[:4] + "00")
        if city is not None:
            hint = f"；{city.city_name}的有效代码为：" + "、".join(
                f"{d.code} {d.name}" for d in codes.divisions_of_city(city.code))
        return [_err("R2", key, code, f"“{code}”不是山西省建筑起重机械使用登记证书的有效区划代码，请按代码表填写{hint}")]
    return []


def rule_r3_record_number(record_number: str, crane_type: str | None = None) -> list[RuleError]:
    """R3 备案编号 晋AA-T00001 (canonical): structure, a province's 简称, for 晋 a prefix of the appendix, and the
    type letter = 设备类别. The letters say where the *owner* registered the machine (建质[2008]76号), so the
    project's county plays no part; another province's letters are checked for shape only."""
    try:
        rn = RecordNumber.parse(record_number)
    except ValueError as e:
        return [_err("R3", "record_number", record_number, str(e))]
    errors = []
    province = codes.province_by_abbreviation(rn.province)
    if province is None:
        errors.append(_err("R3", "record_number", record_number,
                           f"备案编号“{record_number}”的第一位“{rn.province}”不是省级行政区的简称（如 晋、冀、京），"
                           f"应为产权单位备案所在省份的简称"))
    elif province.code == codes.HOME_PROVINCE_CODE and codes.division_by_prefix(rn.prefix) is None:
        errors.append(_err("R3", "record_number", record_number,
                           f"备案编号“{record_number}”的前缀“{rn.prefix}”不在附录编码表中，请核对产权备案所在地的地市和区县字母"
                           f"（见代码表“备案编号前缀”列）"))
    if crane_type and rn.type_letter != crane_type:
        errors.append(_err("R3", "record_number", record_number,
                           f"备案编号“{record_number}”中的类别字母 {rn.type_letter} 与设备类别 {crane_type} 不一致，"
                           f"应为 {rn.prefix}-{crane_type}{rn.serial:05d} 形式"))
    return errors


def rule_r4_uscc(key: str, value: str) -> list[RuleError]:
    """R4: a GB 32100-2015 统一社会信用代码 (18 chars, check character)."""
    problem = _uscc_problem(value)
    return [_err("R4", key, value, problem)] if problem else []


def rule_r4_authority(value: str, ctx: CheckContext) -> list[RuleError]:
    """R4: 发证机关代码 must be the operator's authority code when the context names one."""
    if ctx.authority_uscc and value != ctx.authority_uscc:
        return [_err("R4", "authority_uscc", value,
                     f"“{value}”不是您所在发证机关的代码，应为 {ctx.authority_uscc}；只能以本机关名义发证")]
    return []


def _name_key(name: str) -> str:
    return "".join(to_halfwidth(name).split())


def rule_r4_authority_name(name: str, code: str, ctx: CheckContext) -> list[RuleError]:
    """R4: 发证机关 must be the name of the authority whose code 发证机关代码 gives (spaces and full-width
    characters aside). Only known for the operator's own authority (a foreign code is refused by R4 already)."""
    if not ctx.authority_name or code != ctx.authority_uscc or _name_key(name) == _name_key(ctx.authority_name):
        return []
    return [_err("R4", "authority_name", name, f"“{name}”不是发证机关代码 {code} 对应的发证机关，"
                                               f"应为“{ctx.authority_name}”")]


def rule_r5_jurisdiction(code: str, ctx: CheckContext) -> list[RuleError]:
    """R5: the project division must be inside the issuing authority's jurisdiction (when known)."""
    if ctx.jurisdiction is None or code in ctx.jurisdiction:
        return []
    allowed = sorted(ctx.jurisdiction)
    names = "、".join(f"{c} {d.name}" if (d := codes.division(c)) else c for c in allowed[:30])
    more = " 等" if len(allowed) > 30 else ""
    d = codes.division(code)
    where = f"（{d.full_name}）" if d else ""
    return [_err("R5", "project_division", code,
                 f"{code}{where}不在本发证机关的管辖范围内，本机关可填写：{names}{more}；其他地区的设备请由当地发证机关办理")]


_COORD = re.compile(r"[+-]?\d{1,3}(?:\.(\d*))?")


def rule_r6_location(text: str) -> list[RuleError]:
    """R6 安装位置 '经度,纬度': ASCII comma, ≥ 4 decimals each, inside Shanxi; own hints for a full-width
    comma and for swapped order."""
    def err(msg: str) -> list[RuleError]:
        return [_err("R6", "location", text, msg)]

    if "，" in text:
        return err(f"“{text}”使用了中文逗号“，”，经度和纬度之间须用英文逗号“,”分隔，例如 {LOCATION_EXAMPLE}")
    parts = text.split(",")
    if len(parts) != 2:
        return err(f"“{text}”格式不正确，应为“经度,纬度”（英文逗号分隔，CGCS2000 坐标），例如 {LOCATION_EXAMPLE}")
    for name, part in zip(("经度", "纬度"), parts):
        m = _COORD.fullmatch(part)
        if not m:
            return err(f"{name}“{part}”不是数字，应为“经度,纬度”十进制度数，例如 {LOCATION_EXAMPLE}")
        decimals = len(m[1] or "")
        if decimals < 4:
            return err(f"{name} {part} 只有 {decimals} 位小数，至少需要 4 位，例如 {LOCATION_EXAMPLE}")
    lon, lat = Decimal(parts[0]), Decimal(parts[1])
    lon_ok, lat_ok = LON_MIN <= lon <= LON_MAX, LAT_MIN <= lat <= LAT_MAX
    if lon_ok and lat_ok:
        return []
    if LON_MIN <= lat <= LON_MAX and LAT_MIN <= lon <= LAT_MAX:
        return err(f"“{text}”的经度和纬度顺序颠倒了，应先写经度、后写纬度：{parts[1]},{parts[0]}")
    return err(f"“{text}”不在山西省范围内（经度 110.2～114.6、纬度 34.5～40.8），请填写设备在山西省内安装地点的"
               f"CGCS2000 经纬度，例如 {LOCATION_EXAMPLE}")


def rule_r7_business(values: Mapping[str, object]) -> list[RuleError]:
    """R7 业务信息: exactly the fields of the chosen 设备类别, positive and within plausible ranges; the other
    types' fields empty. ``values`` are cleaned (numbers as Decimal, None when empty)."""
    letter = values.get("crane_type")
    ctype = codes.crane_type(letter) if isinstance(letter, str) else None
    if ctype is None:
        return []
    errors = []
    for f in codes.business_fields():
        v = values.get(f.key)
        if f.crane_type != letter:
            if v not in (None, ""):
                errors.append(_err("R7", f.key, v if not isinstance(v, Decimal) else _fmt(v),
                                   f"设备类别为{ctype.name}（{letter}）时不可填写此项，请清空"))
            continue
        if v is None or v == "":
            errors.append(_err("R7", f.key, "", f"设备类别为{ctype.name}（{letter}）时必须填写此项（单位：{f.unit}）"))
        elif isinstance(v, Decimal):
            if v <= 0:
                errors.append(_err("R7", f.key, _fmt(v), f"“{_fmt(v)}”须为正数（单位：{f.unit}）"))
            elif not f.min <= v <= f.max:
                errors.append(_err("R7", f.key, _fmt(v), f"“{_fmt(v)}”超出合理范围 {_fmt(f.min)}～{_fmt(f.max)}"
                                                         f"（单位：{f.unit}），请核对数值和单位"))
    tip, top = values.get("tower_tip_load"), values.get("tower_max_load")
    if letter == "T" and isinstance(tip, Decimal) and isinstance(top, Decimal) and 0 < top < tip:
        errors.append(_err("R7", "tower_tip_load", _fmt(tip),
                           f"最大幅度起重量 {_fmt(tip)} t 不能大于最大起重量 {_fmt(top)} t，请核对"))
    return errors


def rule_r8_persons(persons: Sequence[Mapping[str, str]], today: date, *, new_issue: bool = True,
                    skip: Mapping[int, set[str]] | None = None,
                    person_rows: Sequence[int] | None = None) -> list[RuleError]:
    """R8 相关人员信息 (cleaned persons): valid ID numbers, 证书编号 for 1108/1109/1113, no person twice with the
    same type, and at a new issue at least one of each of 1101–1109 and 1113.

    ``skip`` maps a person index to keys already reported (FORMAT/REQUIRED) so they are not reported twice.
    """
    errors = []
    seen: dict[tuple[str, str], int] = {}
    present = set()
    skip = skip or {}
    for i, p in enumerate(persons):
        done = skip.get(i, ())
        code, idno = p.get("type_code", ""), p.get("id_number", "")
        ptype = codes.personnel_type(code)
        if ptype is not None:
            present.add(code)
        if idno and "id_number" not in done:
            problem = _id_problem(idno, today)
            if problem:
                errors.append(_perr("R8", i, "id_number", idno, problem, person_rows))
        if ptype is not None and ptype.needs_cert_no and not p.get("cert_no") and "cert_no" not in done:
            errors.append(_perr("R8", i, "cert_no", "", f"人员类型 {code} {ptype.name} 必须填写特种作业操作资格证书编号",
                                person_rows))
        if ptype is not None and idno:
            first = seen.setdefault((code, idno), i)
            if first != i:
                errors.append(_perr("R8", i, "id_number", idno,
                                    f"{p.get('name', '')}（{idno}）以人员类型 {code} 重复填写（与"
                                    f"{_person_label(first, '', person_rows)}相同），请删除重复行", person_rows))
    if new_issue:
        for code in codes.required_personnel_codes():
            if code not in present:
                t = codes.personnel_type(code)
                errors.append(RuleError("R8", "persons", "相关人员信息", "",
                                        f"相关人员信息：缺少人员类型 {code} {t.name}（{t.unit_category}），新发证须至少填写"
                                        f" 1101～1109 和 1113 各一人，请补充"))
    return errors


_PLATFORM = "全国工程质量安全监管信息平台"


def rule_r9_platform(persons: Sequence[Mapping[str, str]], ctx: CheckContext, at: str = "issue",
                     *, skip: Iterable[int] = (), person_rows: Sequence[int] | None = None) -> list[RuleError]:
    """R9: persons whose type is checked ``at`` ('issue': 1108/1109, 'cancel': 1113) must be found on the
    national platform. Skipped when ``ctx.find_person`` is None; an unreachable platform gets its own message
    (and is asked only once per call)."""
    if ctx.find_person is None:
        return []
    skip = set(skip)
    errors = []
    down = False
    action = "发证" if at == "issue" else "注销"
    for i, p in enumerate(persons):
        ptype = codes.personnel_type(p.get("type_code", ""))
        if ptype is None or ptype.platform_check_at != at or i in skip:
            continue
        name, idno, cert = p.get("name", ""), p.get("id_number", ""), p.get("cert_no", "")
        if not down:
            try:
                answer = ctx.find_person(name, idno, cert, ptype.code)
            except Exception:  # a client bug or timeout must not look like «查无此人»
                answer = PersonStatus.UNAVAILABLE
            if not isinstance(answer, PersonLookup):
                answer = PersonLookup(answer)
            down = answer.status is PersonStatus.UNAVAILABLE
        else:
            answer = PersonLookup(PersonStatus.UNAVAILABLE)
        who = f"{ptype.code} {ptype.name} {name}（身份证号码 {idno}，证书编号 {cert or '无'}）"
        if answer.status is PersonStatus.NOT_FOUND:
            errors.append(_perr("R9", i, "name", name,
                                f"{who}在{_PLATFORM}查无此人，无法{action}；请核对姓名、身份证号码和证书编号与平台登记一致",
                                person_rows))
        elif answer.status is PersonStatus.UNAVAILABLE:
            if answer.message:  # the platform client's words name the person and say why (timeout, refused, …)
                message = f"{answer.message}；本次{action}未办理"
            else:
                message = f"{_PLATFORM}暂时无法访问，未能核验{who}，本次{action}未办理；请稍后重试"
            errors.append(_perr("R9", i, "name", name, message, person_rows))
    return errors


_PERMIT_RE = re.compile(r"\d{18}")


def _permit_division_problem(div: str, day: date | None) -> str | None:
    """Why the permit's first 6 digits are not the permit authority's code on the permit's date, or None.

    Valid: a current code, the province's own code (140000), or a code abolished since but still in use on
    ``day`` (太谷县 140726 until 太谷区 140703 was set up)."""
    if codes.division(div) is not None or div == codes.HOME_PROVINCE_CODE:
        return None
    old = codes.abolished_division(div)
    if old is None:
        return (f"前 6 位“{div}”不是山西省的行政区划代码（见代码表；撤销前的旧代码也可使用），"
                f"应为发证机关所在地的区划代码")
    if day is not None and day > old.valid_until:
        return (f"前 6 位“{div}”是{old.full_name}的代码，{old.valid_until.isoformat()} 后已撤销（现为 {_successors(old)}），"
                f"报建日期为 {day.isoformat()} 的施工许可证不应使用该代码，请核对施工许可证编号")
    return None


def rule_r10_permit(text: str, today: date) -> list[RuleError]:
    """R10 建筑工程施工许可证编号: 18 digits = the permit authority's division code *on the permit's date* (the
    current table, 140000, or an abolished code before its change) + date YYYYMMDD (real, not in the future)
    + same-day serial 01–99 + category 01–19."""
    def err(msg: str) -> RuleError:
        return _err("R10", "permit_number", text, msg)

    if not _PERMIT_RE.fullmatch(text):
        return [err(f"“{text}”应为 18 位数字（实际 {len(text)} 位）：6 位区划代码 + 8 位报建日期 + 2 位序号 + "
                    f"2 位专业分类代码，例如 140105202501150101")]
    errors = []
    div, day, serial, category = text[:6], text[6:14], text[14:16], text[16:18]
    try:
        d: date | None = date(int(day[:4]), int(day[4:6]), int(day[6:]))
    except ValueError:
        d = None
    problem = _permit_division_problem(div, d)
    if problem:
        errors.append(err(problem))
    if d is None:
        errors.append(err(f"第 7～14 位“{day}”不是有效的报建日期（YYYYMMDD）"))
    elif d > today:
        errors.append(err(f"第 7～14 位的报建日期 {d.isoformat()} 晚于今天，请核对"))
    elif d.year < 1990:
        errors.append(err(f"第 7～14 位的报建日期 {d.isoformat()} 不合理，请核对"))
    if serial == "00":
        errors.append(err("第 15～16 位同日报建序号“00”无效，应为 01～99"))
    if codes.permit_category(category) is None:
        errors.append(err(f"最后 2 位专业分类代码“{category}”无效，应为 01～19（见代码表，例如 01 一般工业与民用建筑工程）"))
    return errors


def rule_r11_dates(issue_date: date | None, valid_until: date | None, manufacture_date: date | None,
                   today: date) -> list[RuleError]:
    """R11: 发证日期 not in the future; 有效期至 after 发证日期; 出厂日期 not after 发证日期 (nor in the future)."""
    errors = []
    if issue_date and issue_date > today:
        errors.append(_err("R11", "issue_date", issue_date, f"{issue_date.isoformat()} 晚于今天（{today.isoformat()}），"
                                                            f"发证日期不能是将来的日期"))
    if issue_date and valid_until and valid_until <= issue_date:
        errors.append(_err("R11", "valid_until", valid_until,
                           f"{valid_until.isoformat()} 须晚于发证日期 {issue_date.isoformat()}；长期有效请留空"))
    if manufacture_date:
        if issue_date and manufacture_date > issue_date:
            errors.append(_err("R11", "manufacture_date", manufacture_date,
                               f"{manufacture_date.isoformat()} 晚于发证日期 {issue_date.isoformat()}，请核对出厂日期"))
        elif manufacture_date > today:
            errors.append(_err("R11", "manufacture_date", manufacture_date,
                               f"{manufacture_date.isoformat()} 晚于今天，请核对出厂日期"))
    return errors


def rule_r12_unique(record_number: str, ctx: CheckContext) -> list[RuleError]:
    """R12: one valid (not cancelled) certificate per 备案编号."""
    if ctx.record_number_taken(record_number):
        return [_err("R12", "record_number", record_number,
                     f"备案编号 {record_number} 的设备已有一张有效（未注销）的使用登记证书，不能重复发证；"
                     f"如已导入成功请勿重复提交，如需重新登记请先注销原证书")]
    return []


NO_CHANGE = "建筑起重机械使用登记证书只提供新申请录入、注销，不可变更"  # people read it: no rule code


def rule_r12_same_file(record_number: str, other_row: int, other_seq: str) -> list[RuleError]:
    """R12 inside one import file: an earlier row that would itself be issued has the same (canonical) 备案编号."""
    return [_err("R12", "record_number", record_number,
                 f"备案编号 {record_number} 与第 {other_row} 行的备案编号相同（序号 {other_seq}），同一设备在一个文件中只能"
                 f"登记一次；请删除重复的行或核对备案编号")]


def rule_r13_no_change(operation: str = "变更") -> list[RuleError]:
    """R13: this certificate type has no change operation — always refuses with the manual's reason.

    ``NO_CHANGE`` is the rule in one sentence: every page that shows a disabled 变更, and every refusal of a
    change, says it with these words."""
    return [RuleError("R13", "certificate", "证书", operation,
                      f"不可进行{operation}操作：{NO_CHANGE}；人员信息须在新申请录入时一次性录入完成。如信息有误，"
                      f"请注销原证书后重新申请录入")]


# ---------------------------------------------------------------------------------------------- entry points

_REQUIRED_KEYS = tuple(f.key for f in FIELDS if f.required)
_USCC_KEYS = tuple(f.key for f in FIELDS if f.kind == "uscc")


_PERSON_LIMITS = tuple((f.key, f.required, f.max_length) for f in PERSON_FIELDS)
_NAME_MAX, _CERT_MAX, _PHONE_MAX = (PERSON_FIELD_BY_KEY[k].max_length for k in ("name", "cert_no", "phone"))


def _check_persons(persons: Sequence[Mapping[str, object]], today: date,
                   person_rows: Sequence[int] | None) -> tuple[list[dict], list[RuleError], dict[int, set[str]]]:
    cleaned, errors, reported = [], [], {}
    for i, raw in enumerate(persons):
        p, problems = _clean_person(raw)
        cleaned.append(p)
        if not problems and p["type_code"] and p["name"] and p["id_number"] and len(p["name"]) <= _NAME_MAX \
                and len(p["id_number"]) <= 18 and len(p["cert_no"]) <= _CERT_MAX and len(p["phone"]) <= _PHONE_MAX:
            continue  # fast path: nothing to report at the field level
        done = set()
        for key, msg in problems.items():
            errors.append(_perr("R8" if key == "type_code" else "FORMAT", i, key, p[key], msg, person_rows))
            done.add(key)
        for key, required, max_length in _PERSON_LIMITS:
            v = p[key]
            if required and not v and key not in done:
                errors.append(_perr("REQUIRED", i, key, "", "为必填项，请填写", person_rows))
                done.add(key)
            elif len(v) > max_length and key not in done:
                errors.append(_perr("FORMAT", i, key, v[:30], f"内容过长，最多 {max_length} 个字符", person_rows))
                done.add(key)
        if done:
            reported[i] = done
    return cleaned, errors, reported


@dataclass(frozen=True, slots=True)
class CheckedCertificate:
    """A new issue checked by every rule: ALL its errors ([] = valid) and, from the same cleaning pass, its
    values and persons as the issuing step stores them (``clean_certificate`` / ``clean_person``)."""

    errors: list[RuleError]
    certificate: dict
    persons: list[dict]


def check_certificate(values: Mapping[str, object], persons: Sequence[Mapping[str, object]],
                      ctx: CheckContext, *, person_rows: Sequence[int] | None = None) -> list[RuleError]:
    """Check a new issue: every rule on every field and every person; returns ALL errors ([] = valid).

    ``values`` / ``persons`` may be raw (strings with junk, spreadsheet numbers, dates). ``person_rows``
    (optional, import) gives each person's sheet row so messages say «人员信息表第15行» instead of «相关人员第2行».
    """
    return check_and_clean(values, persons, ctx, person_rows=person_rows).errors


def check_and_clean(values: Mapping[str, object], persons: Sequence[Mapping[str, object]],
                    ctx: CheckContext, *, person_rows: Sequence[int] | None = None) -> CheckedCertificate:
    """``check_certificate``'s errors and the cleaned values and persons, each value cleaned once."""
    clean, fmt = _clean_certificate(values)
    errors: list[RuleError] = list(fmt.values())
    bad = set(fmt)
    for key in _REQUIRED_KEYS:
        if key not in bad and (clean[key] is None or clean[key] == ""):
            errors.append(_err("REQUIRED", key, "", "为必填项，请填写"))
            bad.add(key)

    def ok(key: str) -> bool:
        return key not in bad and clean[key] not in ("", None)

    for key in _USCC_KEYS:
        if ok(key):
            errors += rule_r4_uscc(key, clean[key])
    if ok("authority_uscc"):
        errors += rule_r4_authority(clean["authority_uscc"], ctx)
        if ok("authority_name"):
            errors += rule_r4_authority_name(clean["authority_name"], clean["authority_uscc"], ctx)
    if ok("contractor_name") != ok("contractor_uscc") and "contractor_uscc" not in bad:
        missing = "contractor_uscc" if ok("contractor_name") else "contractor_name"
        errors.append(_err("REQUIRED", missing, "", "填写施工总承包单位时，名称和统一社会信用代码须同时填写"))
    division_ok = False
    if ok("project_division"):
        r2 = rule_r2_division(clean["project_division"])
        errors += r2
        division_ok = not r2
        if division_ok:
            errors += rule_r5_jurisdiction(clean["project_division"], ctx)
    letter = clean["crane_type"] if ok("crane_type") else None
    if ok("record_number"):
        errors += rule_r3_record_number(clean["record_number"], letter)
        if _RECORD_RE.fullmatch(clean["record_number"]):  # a malformed number cannot be looked up
            errors += rule_r12_unique(clean["record_number"], ctx)
    if ok("location"):
        errors += rule_r6_location(clean["location"])
    if letter:
        # unreadable numbers stay as text: already reported, but still "filled" for the other-type check
        errors += rule_r7_business(clean)
    if ok("permit_number"):
        errors += rule_r10_permit(clean["permit_number"], ctx.today)
    errors += rule_r11_dates(clean["issue_date"] if ok("issue_date") else None,
                             clean["valid_until"] if ok("valid_until") else None,
                             clean["manufacture_date"] if ok("manufacture_date") else None, ctx.today)
    cleaned_persons, person_errors, reported = _check_persons(persons, ctx.today, person_rows)
    errors += person_errors
    r8 = rule_r8_persons(cleaned_persons, ctx.today, skip=reported, person_rows=person_rows)
    errors += r8
    if ctx.find_person is not None:
        skip = set(reported) | {e.person_index for e in r8 if e.person_index is not None}
        errors += rule_r9_platform(cleaned_persons, ctx, "issue", skip=skip, person_rows=person_rows)
    return CheckedCertificate(errors, clean, cleaned_persons)


def check_person_row(person: Mapping[str, object], today: date, sheet_row: int) -> list[RuleError]:
    """The checks of one person on its own (an import's 人员信息 row that belongs to no certificate row)."""
    cleaned, errors, reported = _check_persons([person], today, [sheet_row])
    return errors + rule_r8_persons(cleaned, today, new_issue=False, skip=reported, person_rows=[sheet_row])


def check_cancellation(persons: Sequence[Mapping[str, object]], ctx: CheckContext) -> list[RuleError]:
    """Check a cancellation (注销): every 1113 person must be found on the national platform (R9)."""
    cleaned = [clean_person(p) for p in persons]
    return rule_r9_platform(cleaned, ctx, "cancel")


def attachment_too_large(name: str, size: int, max_bytes: int) -> str:
    """The message for an attachment over the size limit (a form upload and an import entry alike)."""
    return (f"附件“{name}”大小 {size / 1048576:.1f} MB，超过上限 {max_bytes // 1048576} MB，"
            "请压缩后重新上传")
