"""Code tables and value types (R1–R4 building blocks), incl. hypothesis round trips."""
from datetime import date

import pytest
from hypothesis import given, settings, strategies as st

from portal.standard import codes
from portal.standard.values import USCC_ALPHABET, CertificateNumber, IdNumber, RecordNumber, Uscc


def test_divisions_appendix_and_folded():
    divs = codes.all_divisions()
    assert len([d for d in divs if not d.folded]) == 155
    assert {d.code for d in divs if d.folded} == {"140105", "140106", "140107", "140108", "140109", "140110",
                                                  "140981", "141102"}
    d = codes.division("140105")
    assert (d.name, d.city_name, d.city_code, d.prefix, d.folded) == ("小店区", "太原市", "140100", "晋AA", True)
    assert codes.division("140251").prefix == "晋BE"  # stray space of the appendix stripped
    assert codes.division("140981").prefix == "晋HA" and codes.division("141102").prefix == "晋JA"
    assert codes.division("110101") is None
    assert all(" " not in p for p in codes.prefixes()) and len(codes.prefixes()) == 155


def test_taiyuan_jurisdiction():
    assert [d.code for d in codes.divisions_of_city("140100")] == [
        "140100", "140105", "140106", "140107", "140108", "140109", "140110", "140121", "140122", "140123",
        "140171", "140181"]
    assert len(codes.cities()) == 11


def test_other_tables():
    assert [t.letter for t in codes.crane_types()] == ["T", "S", "W"]
    assert [f.key for f in codes.crane_type("T").fields] == ["tower_jib_length", "tower_max_load",
                                                             "tower_max_height", "tower_tip_load"]
    assert codes.crane_type_letter("施工升降机") == "S" and codes.crane_type_letter("w") == "W"
    assert codes.required_personnel_codes() == ("1101", "1102", "1103", "1104", "1105", "1106", "1107", "1108",
                                                "1109", "1113")
    assert [p.code for p in codes.personnel_types() if p.needs_cert_no] == ["1108", "1109", "1113"]
    assert codes.personnel_type("1108").platform_check_at == "issue"
    assert codes.personnel_type("1113").platform_check_at == "cancel"
    assert codes.personnel_type("1101").unit_category == "监理单位"
    assert len(codes.permit_categories()) == 19 and codes.permit_category("19").name == "其他工程"


@pytest.mark.parametrize("text", ["140105T（2023）0000001", "141182W（2024）9999999"])
def test_certificate_number_valid(text):
    n = CertificateNumber.parse(text)
    assert str(n) == text


def test_certificate_number_parts():
    assert CertificateNumber.parse("140105T（2023）0000001") == CertificateNumber("140105", "T", 2023, 1)


@pytest.mark.parametrize("text,hint", [
    ("140105T(2023)0000001", "全角括号"), ("140105T（2023）000001", "格式不正确"), ("140105X（2023）0000001", "格式不正确"),
    ("140105T（2023）0000000", "0000000"), ("", "格式不正确")])
def test_certificate_number_invalid(text, hint):
    with pytest.raises(ValueError, match=hint):
        CertificateNumber.parse(text)


@pytest.mark.parametrize("text", ["晋AA-T00001", "晋JP-W99999", "京AA-T00001", "冀BC-S12345"])
def test_record_number_valid(text):
    n = RecordNumber.parse(text)
    assert str(n) == text and n.prefix == text[:3] and n.province == text[0]


@pytest.mark.parametrize("text,hint", [
    ("晋AA-T0001", "格式不正确"), ("晋A-T00001", "格式不正确"), ("晋AA-X00001", "格式不正确"),
    ("晋AAT00001", "格式不正确"),  # parse takes the canonical spelling only; clean_record_number inserts the dash
    ("AAA-T00001", "格式不正确"), ("晋AA-T00000", "不能为 00000")])
def test_record_number_invalid(text, hint):
    with pytest.raises(ValueError, match=hint):
        RecordNumber.parse(text)


@pytest.mark.parametrize("text", ["11140100MB0000002K", "11140200MB0000003U", "91350100M000100Y43"])
def test_uscc_valid(text):
    assert str(Uscc.parse(text)) == text


@pytest.mark.parametrize("text,hint", [
    ("91350100M000100Y4Z", "不允许的字符"), ("11140100MB0000002X", "校验位"), ("11140100MB000002K", "18 位"),
    ("1114010AMB0000002K", "第 3～8 位"), ("11140100mb0000002k", "不允许的字符")])
def test_uscc_invalid(text, hint):
    with pytest.raises(ValueError, match=hint):
        Uscc.parse(text)


def test_uscc_letters_in_first_two_positions():
    # GB 32100 allows registration-authority letters (A, N, Y …) in positions 1–2; stdnum would reject
    code = "N2140100MB000000" + "1"
    assert Uscc.parse(code + Uscc.check_char(code))


@pytest.mark.parametrize("text", ["11010519491231002X", "140105198001010011"])
def test_id_valid(text):
    assert IdNumber.parse(text).value == text


def test_id_birth_date_and_region_history():
    assert IdNumber.parse("11010519491231002X").birth_date == date(1949, 12, 31)
    # region 142301 (old 吕梁地区) no longer exists: still valid (issued there)
    body = "14230119700101001"
    assert IdNumber.parse(body + IdNumber.check_digit(body))


@pytest.mark.parametrize("text,hint", [
    ("110105194912310021", "校验位"), ("11010519491331002X", "出生日期"), ("1101051949123100", "18 位"),
    ("11010520991231002X", "不合理"), ("1101051949123100AX", "17 位数字")])
def test_id_invalid(text, hint):
    with pytest.raises(ValueError, match=hint):
        IdNumber.parse(text, today=date(2025, 6, 1))


# ------------------------------------------------------------------ property tests

_body17 = st.tuples(st.text(USCC_ALPHABET, min_size=2, max_size=2), st.text("0123456789", min_size=6, max_size=6),
                    st.text(USCC_ALPHABET, min_size=9, max_size=9)).map("".join)


def _mutate(text: str, pos: int, alphabet: str, data) -> str:
    c = data.draw(st.sampled_from([a for a in alphabet if a != text[pos]]))
    return text[:pos] + c + text[pos + 1:]


@settings(max_examples=200)
@given(_body17, st.data())
def test_uscc_generated_valid_and_one_change_fails(body, data):
    code = body + Uscc.check_char(body)
    assert str(Uscc.parse(code)) == code
    pos = data.draw(st.integers(0, 17))
    alphabet = "0123456789" if 2 <= pos <= 7 else USCC_ALPHABET
    with pytest.raises(ValueError):
        Uscc.parse(_mutate(code, pos, alphabet, data))


_ids = st.tuples(st.text("0123456789", min_size=6, max_size=6),
                 st.dates(min_value=date(1920, 1, 1), max_value=date(2010, 12, 31)),
                 st.text("0123456789", min_size=3, max_size=3)).map(lambda t: t[0] + t[1].strftime("%Y%m%d") + t[2])


@settings(max_examples=200)
@given(_ids, st.data())
def test_id_generated_valid_and_one_change_fails(body, data):
    idno = body + IdNumber.check_digit(body)
    assert str(IdNumber.parse(idno)) == idno
    pos = data.draw(st.integers(0, 17))
    with pytest.raises(ValueError):
        IdNumber.parse(_mutate(idno, pos, "0123456789X" if pos == 17 else "0123456789", data))


@given(st.sampled_from([d.code for d in codes.all_divisions()]), st.sampled_from("TSW"), st.integers(1990, 2099),
       st.integers(1, 9999999))
def test_certificate_number_round_trip(division, letter, year, serial):
    n = CertificateNumber(division, letter, year, serial)
    assert CertificateNumber.parse(str(n)) == n


@given(st.sampled_from(sorted(codes.prefixes())), st.sampled_from("TSW"), st.integers(1, 99999))
def test_record_number_round_trip(prefix, letter, serial):
    n = RecordNumber(prefix, letter, serial)
    assert RecordNumber.parse(str(n)) == n


def test_provinces_all_34_with_their_abbreviations():
    provinces = codes.provinces()
    assert len(provinces) == 34 and len({p.code for p in provinces}) == 34
    abbreviations = [a for p in provinces for a in p.abbreviations]
    assert len(abbreviations) == len(set(abbreviations))  # one 简称 names one province
    assert codes.province_by_abbreviation("晋").code == codes.HOME_PROVINCE_CODE == "140000"
    assert codes.province_by_abbreviation("冀").name == "河北省"
    assert codes.province_by_abbreviation("川") == codes.province_by_abbreviation("蜀") == codes.province("510000")
    assert codes.province_by_abbreviation("A") is None and codes.province_by_abbreviation("夏") is None


@pytest.mark.parametrize("old,name,until,successors", [
    ("140726", "太谷县", date(2020, 4, 26), ("140703",)),
    ("140421", "长治县", date(2018, 11, 23), ("140404",)),
    ("140424", "屯留县", date(2018, 11, 23), ("140405",)),
    ("140481", "潞城市", date(2018, 11, 23), ("140406",)),
    ("140402", "城区", date(2018, 11, 23), ("140403",)),
    ("140411", "郊区", date(2018, 11, 23), ("140403",)),
    ("140202", "城区", date(2018, 6, 30), ("140213", "140214")),
    ("140203", "矿区", date(2018, 6, 30), ("140214",)),
    ("140211", "南郊区", date(2018, 6, 30), ("140213", "140214", "140212")),
    ("140227", "大同县", date(2018, 6, 30), ("140215",)),
    ("140624", "怀仁县", date(2018, 8, 8), ("140681",)),
    ("142302", "离石市", date(2003, 12, 31), ("141102",)),
    ("142301", "孝义市", date(2003, 12, 31), ("141181",)),
    ("142201", "忻州市", date(2000, 12, 31), ("140902",)),
    ("142601", "临汾市", date(2000, 12, 31), ("141002",)),
    ("142701", "运城市", date(2000, 12, 31), ("140802",)),
])
def test_abolished_divisions(old, name, until, successors):
    d = codes.abolished_division(old)
    assert (d.name, d.valid_until, d.successors) == (name, until, successors)
    assert codes.division(old) is None


def test_abolished_divisions_table_is_consistent():
    table = codes.abolished_divisions()
    assert len(table) == 72
    for d in table:
        assert d.successors and all(codes.division(c) is not None for c in d.successors), d
        assert date(2000, 1, 1) <= d.valid_until < date(2025, 1, 1), d
        assert d.code.startswith("14") and codes.division(d.code) is None

