"""电子证照标识 (GB/T 36904): the MOD 37,36 check character, build/parse round trips, error detection."""
import pytest
from hypothesis import assume, given, settings, strategies as st
from stdnum.iso7064 import mod_37_36  # an independent implementation of ISO/IEC 7064 MOD 37,36

from portal.standard.license_id import (MOD37_36_ALPHABET, LicenseId, mod37_36_check_char, mod37_36_is_valid,
                                        serial_for_certificate_number)
from tests.standard.factories import AUTHORITY_USCC, make_uscc

ALNUM = st.text(alphabet=MOD37_36_ALPHABET, min_size=1, max_size=40)
TYPE_CODES = st.text(alphabet=MOD37_36_ALPHABET, min_size=1, max_size=32)
USCCS = st.builds(lambda body: make_uscc("9114" + body), st.text(alphabet="0123456789", min_size=13, max_size=13))
VERSIONS = st.integers(min_value=1, max_value=999)


def test_check_character_of_the_iso_7064_worked_example():
    # ISO/IEC 7064 (GB/T 17710) hybrid MOD 37,36 example: A12425GABC1234002 → M
    assert mod37_36_check_char("A12425GABC1234002") == "M"
    assert mod37_36_is_valid("A12425GABC1234002M")
    assert not mod37_36_is_valid("A12425GABC1234002N")


@given(ALNUM)
def test_check_character_agrees_with_python_stdnum(text):
    assert mod37_36_check_char(text) == mod_37_36.calc_check_digit(text)
    assert mod37_36_is_valid(text + mod37_36_check_char(text))


def test_worked_identifier_of_a_certificate():
    serial = serial_for_certificate_number("140105T（2023）0000001")
    assert serial == "140105T20230000001"
    lid = LicenseId.build("JZQZJXSYDJZ", AUTHORITY_USCC, serial)
    body = "1.2.156.3005.2.JZQZJXSYDJZ.11140100MB0000002K.140105T20230000001.001"
    assert lid.body == body
    # the check character is computed over the characters without the '.' separators
    assert str(lid) == body + "." + mod_37_36.calc_check_digit(body.replace(".", ""))
    assert LicenseId.parse(str(lid)) == lid


@settings(max_examples=200)
@given(TYPE_CODES, USCCS, ALNUM.filter(lambda s: len(s) <= 32), VERSIONS)
def test_build_then_parse_round_trips(type_code, uscc, serial, version):
    lid = LicenseId.build(type_code, uscc, serial, version)
    text = str(lid)
    assert LicenseId.parse(text) == lid and str(LicenseId.parse(text)) == text


@settings(max_examples=300)
@given(TYPE_CODES, USCCS, ALNUM.filter(lambda s: len(s) <= 32), VERSIONS, st.data())
def test_any_one_changed_character_is_refused(type_code, uscc, serial, version, data):
    text = str(LicenseId.build(type_code, uscc, serial, version))
    positions = [i for i, c in enumerate(text) if c != "."]
    i = data.draw(st.sampled_from(positions))
    replacement = data.draw(st.sampled_from(MOD37_36_ALPHABET))
    assume(replacement != text[i])
    with pytest.raises(ValueError):
        LicenseId.parse(text[:i] + replacement + text[i + 1:])


def test_swapped_neighbours_are_caught_nearly_always():
    # A hybrid MOD 37,36 system catches every single substitution but not every adjacent transposition
    # (ISO/IEC 7064 §9): over all pairs of distinct characters in a serial, at least 99.5 % are caught.
    body = "1.2.156.3005.2.JZQZJXSYDJZ." + AUTHORITY_USCC + ".{}.001"
    pairs = [(a, b) for a in MOD37_36_ALPHABET for b in MOD37_36_ALPHABET if a != b]
    caught = sum(mod37_36_check_char(body.format("X" + a + b + "7").replace(".", ""))
                 != mod37_36_check_char(body.format("X" + b + a + "7").replace(".", "")) for a, b in pairs)
    assert caught / len(pairs) >= 0.995


@pytest.mark.parametrize("text,hint", [
    ("", "开头"),
    ("1.2.156.3005.1.JZQZJXSYDJZ.11140100MB0000002K.140105T20230000001.001.I", "开头"),
    ("1.2.156.3005.2.JZQZJXSYDJZ.11140100MB0000002K.140105T20230000001.001", "有 4 段"),
    ("1.2.156.3005.2.JZQZJXSYDJZ.11140100MB0000002K.140105T20230000001.01.I", "版本号"),
    ("1.2.156.3005.2.JZQZJXSYDJZ.11140100MB0000002K.140105T20230000001.000.I", "版本号"),
    ("1.2.156.3005.2.jzqz.11140100MB0000002K.140105T20230000001.001.I", "证照类型代码"),
    ("1.2.156.3005.2.JZQZJXSYDJZ.11140100MB0000002A.140105T20230000001.001.I", "发证机构代码.*校验位"),
    ("1.2.156.3005.2.JZQZJXSYDJZ.11140100MB0000002K.140105T（2023）0000001.001.I", "流水号"),
    ("1.2.156.3005.2.JZQZJXSYDJZ.11140100MB0000002K.140105T20230000001.001.II", "校验位"),
])
def test_malformed_identifiers_get_a_chinese_message_naming_the_part(text, hint):
    with pytest.raises(ValueError, match=hint):
        LicenseId.parse(text)


def test_build_refuses_bad_parts():
    with pytest.raises(ValueError, match="版本号"):
        LicenseId.build("JZQZJXSYDJZ", AUTHORITY_USCC, "1", version=1000)
    with pytest.raises(ValueError, match="流水号"):
        LicenseId.build("JZQZJXSYDJZ", AUTHORITY_USCC, "")
    with pytest.raises(ValueError, match="证书编号"):
        serial_for_certificate_number("140105T(2023)0000001")
