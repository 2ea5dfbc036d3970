"""Code tables of the standard (data files in ``portal/standard/data``), loaded once per process.

Divisions (R2/R3/R5), Shanxi's abolished divisions (R2/R10), province-level 简称 (R3), crane types and
their 业务信息 fields (R7), personnel types (R8/R9) and construction-permit categories (R10). Everything
returned is immutable, so callers may share it.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

DATA_DIR = Path(__file__).with_name("data")


@dataclass(frozen=True, slots=True)
class Division:
    """A 6-digit division code usable for certificates (appendix row or folded GB/T 2260 district)."""

    code: str
    name: str  # county / zone name; the city name for a city row
    city_name: str
    city_code: str
    prefix: str  # 备案编号 prefix, e.g. 晋AA
    folded: bool  # True: not an appendix row, covered by its city row (e.g. 140105 小店区)

    @property
    def is_city(self) -> bool:
        """True for the city's own row (e.g. 140100 太原市)."""
        return self.code == self.city_code

    @property
    def full_name(self) -> str:
        """'太原市小店区' style name (just the city name for a city row)."""
        return self.city_name if self.is_city else self.city_name + self.name


@dataclass(frozen=True, slots=True)
class AbolishedDivision:
    """A Shanxi county-level (or prefecture) code abolished since 2000, with its successor code(s)."""

    code: str
    name: str
    city_name: str  # the prefecture it belonged to then, e.g. 晋中市 or 吕梁地区
    valid_until: date  # the last day the code was in use (see data/README.md for how each date was found)
    successors: tuple[str, ...]

    @property
    def full_name(self) -> str:
        """'晋中市太谷县' style name (just the prefecture's name for a prefecture row)."""
        return self.name if self.name == self.city_name else self.city_name + self.name


@dataclass(frozen=True, slots=True)
class Province:
    """A province-level division and its 简称 (the first character of a 备案编号)."""

    code: str
    name: str
    abbreviations: tuple[str, ...]  # e.g. ('川', '蜀')


@dataclass(frozen=True, slots=True)
class BusinessField:
    """One 业务信息 field of a crane type, with its plausible range (R7)."""

    crane_type: str
    key: str
    code: str  # the item's code in the report to 住建部 (businessInformation[].code)
    label: str
    unit: str
    min: Decimal
    max: Decimal
    note: str
    reeving: bool  # the value may carry a reeving note, e.g. 1.3(2倍率)

    @property
    def header(self) -> str:
        """Column header / form label with unit, e.g. '塔式起重机起重臂长度(m)'."""
        return f"{self.label}({self.unit})"


@dataclass(frozen=True, slots=True)
class CraneType:
    """设备类别: letter T/S/W, name and its 业务信息 fields."""

    letter: str
    name: str
    fields: tuple[BusinessField, ...]


@dataclass(frozen=True, slots=True)
class PersonnelType:
    """相关人员信息业务类型 (manual table, 1101–1113)."""

    code: str
    name: str
    unit_category: str  # 监理单位 / 安装单位 / 使用单位 / 拆卸单位
    required_at_issue: bool  # R8: at least one at a new issue
    needs_cert_no: bool  # R8: 特种作业操作资格证书编号 required
    platform_check_at: str | None  # R9: 'issue' / 'cancel' / None


@dataclass(frozen=True, slots=True)
class PermitCategory:
    """施工许可证编号 专业分类代码 (digits 17–18), 01–19."""

    code: str
    name: str


def _rows(name: str) -> list[dict[str, str]]:
    with open(DATA_DIR / name, encoding="utf-8", newline="") as fh:
        # strip every cell: the appendix came with stray spaces ('晋BE ')
        return [{k.strip(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(fh)]


@cache
def _divisions() -> Mapping[str, Division]:
    result = {}
    for r in _rows("divisions.csv"):
        d = Division(r["code"], r["name"], r["city_name"], r["city_code"], r["prefix"], r["folded"] == "1")
        if d.code in result:
            raise ValueError(f"divisions.csv: duplicate code {d.code}")
        result[d.code] = d
    return MappingProxyType(result)


@cache
def _by_city() -> Mapping[str, tuple[Division, ...]]:
    groups: dict[str, list[Division]] = {}
    for d in _divisions().values():
        groups.setdefault(d.city_code, []).append(d)
    return MappingProxyType({c: tuple(sorted(ds, key=lambda d: d.code)) for c, ds in groups.items()})


@cache
def _by_prefix() -> Mapping[str, Division]:
    # folded districts share their city's prefix: the prefix names the appendix row
    return MappingProxyType({d.prefix: d for d in _divisions().values() if not d.folded})


def division(code: str) -> Division | None:
    """The division with this 6-digit code, or None if it is not a valid Shanxi code (R2)."""
    return _divisions().get(code)


def divisions_of_city(city_code: str) -> list[Division]:
    """Every division of a city incl. the city row itself, sorted by code (an authority's jurisdiction)."""
    return list(_by_city().get(city_code, ()))


def all_divisions() -> list[Division]:
    """All valid divisions: appendix order first, then the folded districts."""
    return list(_divisions().values())


def cities() -> list[Division]:
    """The city rows (140100 太原市 … 141100 吕梁市)."""
    return [d for d in _divisions().values() if d.is_city]


def prefixes() -> frozenset[str]:
    """All 备案编号 prefixes of the appendix (e.g. '晋AA')."""
    return frozenset(_by_prefix())


def division_by_prefix(prefix: str) -> Division | None:
    """The appendix row that owns a 备案编号 prefix, or None."""
    return _by_prefix().get(prefix)


@cache
def _abolished() -> Mapping[str, AbolishedDivision]:
    result = {}
    for r in _rows("abolished_divisions.csv"):
        if r["code"] in result or r["code"] in _divisions():
            raise ValueError(f"abolished_divisions.csv: code {r['code']} listed twice or still valid")
        result[r["code"]] = AbolishedDivision(r["code"], r["name"], r["city_name"], date.fromisoformat(r["valid_until"]),
                                              tuple(r["successors"].split()))
    return MappingProxyType(result)


def abolished_division(code: str) -> AbolishedDivision | None:
    """The Shanxi division that this code named before it was abolished, or None."""
    return _abolished().get(code)


def abolished_divisions() -> list[AbolishedDivision]:
    """Every abolished code of the data file, in code order."""
    return list(_abolished().values())


@cache
def _provinces() -> Mapping[str, Province]:
    return MappingProxyType({r["code"]: Province(r["code"], r["name"], tuple(a for a in (r["abbr"], r["alt_abbr"]) if a))
                             for r in _rows("provinces.csv")})


@cache
def _provinces_by_abbreviation() -> Mapping[str, Province]:
    return MappingProxyType({a: p for p in _provinces().values() for a in p.abbreviations})


def province_by_abbreviation(abbreviation: str) -> Province | None:
    """The province whose 简称 this is ('晋' → 山西省, '蜀' → 四川省), or None."""
    return _provinces_by_abbreviation().get(abbreviation)


def province(code: str) -> Province | None:
    """The province-level division with this 6-digit code (e.g. '140000' 山西省), or None."""
    return _provinces().get(code)


def provinces() -> list[Province]:
    """All 34 province-level divisions in code order."""
    return list(_provinces().values())


HOME_PROVINCE_CODE = "140000"  # Shanxi: the appendix and the division tables are its own


@cache
def _crane_types() -> Mapping[str, CraneType]:
    fields: dict[str, list[BusinessField]] = {}
    for r in _rows("business_fields.csv"):
        fields.setdefault(r["crane_type"], []).append(
            BusinessField(r["crane_type"], r["key"], r["code"], r["label"], r["unit"], Decimal(r["min"]),
                          Decimal(r["max"]), r["note"], r["reeving"] == "1"))
    return MappingProxyType({r["letter"]: CraneType(r["letter"], r["name"], tuple(fields.get(r["letter"], ())))
                             for r in _rows("crane_types.csv")})


def crane_type(letter: str) -> CraneType | None:
    """The crane type for a letter T/S/W, or None."""
    return _crane_types().get(letter)


def crane_types() -> list[CraneType]:
    """T, S, W in table order."""
    return list(_crane_types().values())


@cache
def _crane_type_lookup() -> Mapping[str, str]:
    m = {}
    for t in _crane_types().values():
        for alias in (t.letter, t.letter.lower(), t.name, f"{t.name}({t.letter})", f"{t.name}（{t.letter}）",
                      f"{t.letter} {t.name}", f"{t.letter}{t.name}", f"{t.letter}-{t.name}"):
            m[alias] = t.letter
    m["物理提升机"] = "W"  # the manual itself misspells 物料提升机 once
    return MappingProxyType(m)


def crane_type_letter(text: str) -> str | None:
    """Normalise '塔式起重机' / 't' / 'T' / '塔式起重机（T）' to the letter, None if unknown."""
    return _crane_type_lookup().get(text.strip())


@cache
def business_fields() -> tuple[BusinessField, ...]:
    """All 业务信息 fields of all types, in template column order (T, S, W)."""
    return tuple(f for t in _crane_types().values() for f in t.fields)


@cache
def _personnel_types() -> Mapping[str, PersonnelType]:
    return MappingProxyType({
        r["code"]: PersonnelType(r["code"], r["name"], r["unit_category"], r["required_at_issue"] == "1",
                                 r["needs_cert_no"] == "1", r["platform_check_at"] or None)
        for r in _rows("personnel_types.csv")})


def personnel_type(code: str) -> PersonnelType | None:
    """The personnel type for a code '1101'..'1113', or None."""
    return _personnel_types().get(code)


def personnel_types() -> list[PersonnelType]:
    """1101..1113 in order."""
    return list(_personnel_types().values())


@cache
def _personnel_lookup() -> Mapping[str, str]:
    m = {}
    for p in _personnel_types().values():
        for alias in (p.code, p.name, f"{p.code}{p.name}", f"{p.code} {p.name}", f"{p.code}-{p.name}",
                      f"{p.name}({p.code})", f"{p.name}（{p.code}）"):
            m[alias] = p.code
    return MappingProxyType(m)


def personnel_type_code(text: str) -> str | None:
    """Normalise '1101' / '总监理工程师' / '1101 总监理工程师' to the code, None if unknown."""
    return _personnel_lookup().get(text.strip())


@cache
def required_personnel_codes() -> tuple[str, ...]:
    """Codes needed at least once at a new issue (R8): 1101–1109 and 1113."""
    return tuple(p.code for p in _personnel_types().values() if p.required_at_issue)


@cache
def _permit_categories() -> Mapping[str, PermitCategory]:
    return MappingProxyType({r["code"]: PermitCategory(r["code"], r["name"]) for r in _rows("permit_categories.csv")})


def permit_category(code: str) -> PermitCategory | None:
    """The permit category for a 2-digit code '01'..'19', or None."""
    return _permit_categories().get(code)


def permit_categories() -> list[PermitCategory]:
    """01..19 in order."""
    return list(_permit_categories().values())
