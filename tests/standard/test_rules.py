"""Rules R1–R13: table-driven valid/invalid cases from the manual; each test fails if its rule is removed."""
from datetime import date, datetime
from decimal import Decimal

import pytest

from portal.standard.rules import (CheckContext, PersonStatus, RuleError, check_cancellation, check_certificate,
                                   clean_certificate, clean_person, rule_r1_certificate_number, rule_r6_location,
                                   rule_r10_permit, rule_r13_no_change)
from tests.standard.factories import (AUTHORITY_USCC, TAIYUAN_JURISDICTION, TODAY, make_id, valid_certificate,
                                      valid_persons)


def ctx(**kw) -> CheckContext:
    base = dict(today=TODAY, jurisdiction=TAIYUAN_JURISDICTION, authority_uscc=AUTHORITY_USCC)
    base.update(kw)
    return CheckContext(**base)


def check(persons=None, context=None, **overrides) -> list[RuleError]:
    return check_certificate(valid_certificate(**overrides), valid_persons() if persons is None else persons,
                             context or ctx())


def rules_of(errors):
    return {(e.rule, e.key) for e in errors}


def test_valid_certificate_passes():
    assert check() == []
    assert check(context=ctx(find_person=lambda *a: PersonStatus.FOUND)) == []


def test_manual_examples_pass():
    assert rule_r1_certificate_number("140105T（2023）0000001", project_division="140105", crane_type="T",
                                      issue_date=date(2023, 5, 1)) == []
    assert check(record_number="晋AA-T00001") == []


# ------------------------------------------------------------------ R1
@pytest.mark.parametrize("number,kw,fragment", [
    ("140105T(2023)0000001", {}, "全角括号"),
    ("140105T（2023）0000001", {"project_division": "140106"}, "应与工程项目地址所在区划代码 140106"),
    ("140105T（2023）0000001", {"crane_type": "S"}, "设备类别 S"),
    ("140105T（2023）0000001", {"issue_date": date(2024, 1, 1)}, "2024"),
    ("110105T（2023）0000001", {}, "不是山西省有效的区划代码"),
])
def test_r1_invalid(number, kw, fragment):
    errors = rule_r1_certificate_number(number, **kw)
    assert errors and errors[0].rule == "R1" and fragment in errors[0].message and number in errors[0].message


# ------------------------------------------------------------------ R2 / R5
@pytest.mark.parametrize("code", ["140105", "140110", "140100", "140171", "140181"])
def test_r2_r5_valid_taiyuan_codes(code):
    assert check(project_division=code, permit_number=code + "202501150101") == []


@pytest.mark.parametrize("code,rule", [("140199", "R2"), ("14010", "R2"), ("110105", "R2"), ("140981", "R5")])
def test_r2_r5_invalid(code, rule):
    errors = check(project_division=code)
    assert (rule, "project_division") in rules_of(errors)
    assert code in next(e for e in errors if e.key == "project_division").message


def test_r2_lists_city_codes():
    msg = next(e.message for e in check(project_division="140199") if e.rule == "R2")
    assert "140105 小店区" in msg


def test_r5_no_jurisdiction_means_any_shanxi_code():
    assert check(project_division="140981", record_number="晋HA-T00001", context=ctx(jurisdiction=None)) == []


# ------------------------------------------------------------------ R3
@pytest.mark.parametrize("number,fragment", [
    ("晋AA-S00001", "设备类别 T"), ("晋ZZ-T00001", "不在附录编码表"), ("晋AA-T0001", "格式不正确"),
    ("晋BA-T00001", "应为 晋AA"),
])
def test_r3_invalid(number, fragment):
    errors = [e for e in check(record_number=number) if e.rule == "R3"]
    assert errors and any(fragment in e.message for e in errors)


def test_r3_same_city_can_be_switched_off():
    assert check(record_number="晋BA-T00001", context=ctx(record_prefix_same_city=False)) == []
    assert check(record_number="晋AB-T00001") == []  # 清徐县 prefix, same city


# ------------------------------------------------------------------ R4
@pytest.mark.parametrize("key", ["holder_uscc", "owner_uscc", "installer_uscc", "supervision_uscc", "authority_uscc"])
def test_r4_each_uscc(key):
    errors = check(**{key: "91350100M000100Y4Z"})
    assert ("R4", key) in rules_of(errors)


def test_r4_contractor_optional_but_checked():
    assert check(contractor_name="某总包", contractor_uscc="91350100M000100Y43") == []
    assert ("R4", "contractor_uscc") in rules_of(check(contractor_name="某总包", contractor_uscc="91350100M000100Y44"))
    assert ("REQUIRED", "contractor_uscc") in rules_of(check(contractor_name="某总包"))


def test_r4_authority_must_be_operators():
    errors = check(authority_uscc="11140200MB0000003U")
    assert ("R4", "authority_uscc") in rules_of(errors) and AUTHORITY_USCC in errors[0].message


# ------------------------------------------------------------------ R6
@pytest.mark.parametrize("text", ["112.5492,37.8570", "110.2000,34.5000", "114.60000,40.80000"])
def test_r6_valid(text):
    assert rule_r6_location(text) == []


@pytest.mark.parametrize("text,fragment", [
    ("117.4937,37.9017", "不在山西省范围内"),  # the manual's own example is in Hebei
    ("112.5492，37.8570", "中文逗号"),
    ("37.8570,112.5492", "顺序颠倒"),
    ("112.5492,37.90", "纬度 37.90 只有 2 位小数，至少需要 4 位，例如 112.5492,37.8570"),
    ("112.549,37.8570", "经度 112.549 只有 3 位小数"),
    ("112.5492 37.8570", "格式不正确"),
    ("东经112.5492,37.8570", "不是数字"),
])
def test_r6_invalid(text, fragment):
    errors = rule_r6_location(text)
    assert errors and errors[0].rule == "R6" and fragment in errors[0].message, errors


def test_r6_through_check_keeps_fullwidth_comma_hint():
    errors = check(location="　112.5492，37.8570 ")
    assert [e.rule for e in errors] == ["R6"] and "中文逗号" in errors[0].message


# ------------------------------------------------------------------ R7
def test_r7_tower_requires_its_fields_and_forbids_others():
    errors = check(tower_jib_length="", hoist_rated_load="2000")
    assert {("R7", "tower_jib_length"), ("R7", "hoist_rated_load")} <= rules_of(errors)


@pytest.mark.parametrize("key,value,fragment", [
    ("tower_max_load", "-1", "正数"), ("tower_max_height", "5000", "合理范围"), ("tower_jib_length", "abc", "不是数字"),
    ("tower_tip_load", "8", "不能大于最大起重量"),
])
def test_r7_numbers(key, value, fragment):
    errors = [e for e in check(**{key: value}) if e.rule == "R7"]
    assert errors and fragment in errors[0].message and errors[0].key == key


@pytest.mark.parametrize("letter,fields", [
    ("S", {"hoist_rated_load": "2000", "hoist_rated_speed": 36.0}),
    ("施工升降机", {"hoist_rated_load": 2000, "hoist_rated_speed": "36"}),
    ("W", {"lift_rated_load": "1000", "lift_rated_speed": "30"}),
])
def test_r7_other_types_valid(letter, fields):
    blank = {k: "" for k in ("tower_jib_length", "tower_max_load", "tower_max_height", "tower_tip_load")}
    record = "晋AA-%s00001" % ({"施工升降机": "S"}.get(letter, letter))
    assert check(crane_type=letter, record_number=record, **blank, **fields) == []


# ------------------------------------------------------------------ R8
def test_r8_missing_types_each_reported():
    persons = [p for p in valid_persons() if p["type_code"] not in ("1103", "1113")]
    errors = check(persons=persons)
    assert [e.rule for e in errors] == ["R8", "R8"]
    assert "1103" in errors[0].message and "1113" in errors[1].message


def test_r8_id_and_cert_no():
    persons = valid_persons()
    persons[1]["id_number"] = persons[1]["id_number"][:-1] + ("0" if persons[1]["id_number"][-1] != "0" else "1")
    persons[7]["cert_no"] = ""
    errors = check(persons=persons)
    assert [(e.rule, e.key, e.person_index) for e in errors] == [("R8", "id_number", 1), ("R8", "cert_no", 7)]
    assert errors[0].field == "相关人员第2行 身份证号码"


def test_r8_optional_types_accepted_and_unknown_type_refused():
    persons = valid_persons() + [{"type_code": "1110", "name": "拆卸负责人", "id_number": make_id("14010519900101123")}]
    assert check(persons=persons) == []
    persons[-1]["type_code"] = "1199"
    assert ("R8", "type_code") in rules_of(check(persons=persons))


def test_r8_person_rows_name_the_sheet_row():
    persons = valid_persons()
    persons[0]["name"] = ""
    errors = check_certificate(valid_certificate(), persons, ctx(), person_rows=list(range(5, 15)))
    assert errors[0].field == "人员信息表第5行 姓名"


# ------------------------------------------------------------------ R9
def test_r9_not_found_and_unavailable_messages():
    def platform(answer):
        calls = []

        def find(name, idno, cert, code):
            calls.append(code)
            return answer
        return find, calls

    find, calls = platform(PersonStatus.NOT_FOUND)
    errors = check(context=ctx(find_person=find))
    assert calls == ["1108", "1109"] and [e.rule for e in errors] == ["R9", "R9"]
    assert "查无此人" in errors[0].message and "测试8号" in errors[0].message
    find, calls = platform(PersonStatus.UNAVAILABLE)
    errors = check(context=ctx(find_person=find))
    assert calls == ["1108"]  # asked once while down
    assert all("暂时无法访问" in e.message and "查无此人" not in e.message for e in errors) and len(errors) == 2


def test_r9_exception_counts_as_unavailable():
    def boom(*a):
        raise TimeoutError
    assert "暂时无法访问" in check(context=ctx(find_person=boom))[0].message


def test_r9_cancellation_checks_1113_only():
    seen = []
    assert check_cancellation(valid_persons(), ctx(find_person=lambda n, i, c, t: seen.append(t)
                                                   or PersonStatus.FOUND)) == []
    assert seen == ["1113"]
    errors = check_cancellation(valid_persons(), ctx(find_person=lambda *a: PersonStatus.NOT_FOUND))
    assert len(errors) == 1 and errors[0].rule == "R9" and "无法注销" in errors[0].message
    assert check_cancellation(valid_persons(), ctx()) == []


# ------------------------------------------------------------------ R10
@pytest.mark.parametrize("permit", ["140105202501150101", "140100202506020119", "141182199912319901"])
def test_r10_valid(permit):
    assert rule_r10_permit(permit, TODAY) == []


@pytest.mark.parametrize("permit,fragment", [
    ("14010520250115010", "18 位数字"), ("110105202501150101", "前 6 位"), ("140105202502300101", "不是有效的报建日期"),
    ("140105202506030101", "晚于今天"), ("140105202501150100", "专业分类代码“00”"), ("140105202501150120", "“20”"),
    ("14010520250115010A", "18 位数字"),
])
def test_r10_invalid(permit, fragment):
    errors = rule_r10_permit(permit, TODAY)
    assert errors and errors[0].rule == "R10" and fragment in errors[0].message
    assert ("R10", "permit_number") in rules_of(check(permit_number=permit))


# ------------------------------------------------------------------ R11
@pytest.mark.parametrize("overrides,key", [
    ({"issue_date": "2025-06-03"}, "issue_date"),
    ({"valid_until": "2025-06-01"}, "valid_until"),
    ({"manufacture_date": "2025-06-02"}, "manufacture_date"),
])
def test_r11(overrides, key):
    assert ("R11", key) in rules_of(check(**overrides))


def test_r11_valid_until_later_ok():
    assert check(valid_until="2027-06-01") == []


# ------------------------------------------------------------------ R12 / R13
def test_r12_record_number_taken():
    errors = check(context=ctx(record_number_taken=lambda n: n == "晋AA-T00001"))
    assert [e.rule for e in errors] == ["R12"] and "晋AA-T00001" in errors[0].message


def test_r13_refuses_change():
    (error,) = rule_r13_no_change()
    assert error.rule == "R13" and "不可进行变更" in error.message


# ------------------------------------------------------------------ REQUIRED / FORMAT / all errors
def test_required_fields():
    errors = check(holder_name="  ", model=None)
    assert {("REQUIRED", "holder_name"), ("REQUIRED", "model")} == rules_of(errors)
    assert errors[0].message == "使用单位名称：为必填项，请填写"


def test_all_errors_returned_not_just_first():
    persons = valid_persons()
    persons[0]["id_number"] = "123"
    persons[9]["type_code"] = ""
    errors = check(persons=persons, holder_uscc="X", issue_date="2025-13-01", location="1,2",
                   permit_number="1", record_number="晋AA-S00001", tower_max_load="")
    got = rules_of(errors)
    assert {("R4", "holder_uscc"), ("FORMAT", "issue_date"), ("R6", "location"), ("R10", "permit_number"),
            ("R3", "record_number"), ("R7", "tower_max_load"), ("R8", "id_number"), ("REQUIRED", "type_code"),
            ("R8", "persons")} <= got
    for e in errors:
        assert e.field in e.message and e.message.isascii() is False


def test_raw_spreadsheet_values_are_normalised():
    raw = valid_certificate(
        holder_uscc="\u00a0" + valid_certificate()["holder_uscc"].lower() + "\u3000",
        issue_date=datetime(2025, 6, 1), manufacture_date=44270.0, tower_jib_length=60.0, crane_type="塔式起重机",
        project_division=140105.0, permit_number="１４０１０５２０２５０１１５０１０１", record_number="晋aa－t00001")
    persons = valid_persons()
    persons[0]["type_code"] = 1101.0
    assert check_certificate(raw, persons, ctx()) == []


def test_float_id_number_gets_text_format_hint():
    persons = valid_persons()
    persons[0]["id_number"] = 1.40105198501010E17
    (error,) = check(persons=persons)
    assert error.rule == "FORMAT" and "文本" in error.message and "无法恢复" in error.message


def test_bad_date_text_message():
    (error,) = check(issue_date="2025年13月1日")
    assert error.rule == "FORMAT" and "发证日期" in error.message and "2025年13月1日" in error.message


def test_clean_certificate_and_person():
    c = clean_certificate(valid_certificate(issue_date="2025/06/01", crane_type="塔式起重机", tower_tip_load="1.30"))
    assert c["issue_date"] == date(2025, 6, 1) and c["crane_type"] == "T" and c["valid_until"] is None
    assert c["tower_tip_load"] == Decimal("1.30") and c["hoist_rated_load"] is None
    assert clean_certificate({"issue_date": "garbage"})["issue_date"] == "garbage"  # best effort, no raise
    p = clean_person({"type_code": "总监理工程师", "name": " 张三 ", "id_number": "11010519491231002x", "phone": 13800138000.0})
    assert p == {"type_code": "1101", "name": "张三", "id_number": "11010519491231002X", "cert_no": "",
                 "phone": "13800138000"}
