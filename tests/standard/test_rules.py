"""Rules R1–R13: table-driven valid/invalid cases from the manual; each test fails if its rule is removed."""
from datetime import date, datetime
from decimal import Decimal

import pytest

from portal.standard.rules import (CheckContext, PersonStatus, RuleError, check_and_clean, check_cancellation,
                                   check_certificate,
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


@pytest.mark.parametrize("code,message", [
    ("140421", "“140421”是已撤销的区划代码（长治市长治县，2018-11-23 后不再使用），现为 140404 长治市上党区，请填写现行代码"),
    ("140726", "“140726”是已撤销的区划代码（晋中市太谷县，2020-04-26 后不再使用），现为 140703 晋中市太谷区，请填写现行代码"),
    ("140402", "“140402”是已撤销的区划代码（长治市城区，2018-11-23 后不再使用），现为 140403 长治市潞州区，请填写现行代码"),
    ("140203", "“140203”是已撤销的区划代码（大同市矿区，2018-06-30 后不再使用），现为 140214 大同市云冈区，请填写现行代码"),
    ("142301", "“142301”是已撤销的区划代码（吕梁地区孝义市，2003-12-31 后不再使用），现为 141181 吕梁市孝义市，请填写现行代码"),
    ("142200", "“142200”是已撤销的区划代码（忻州地区，2000-12-31 后不再使用），现为 140900 忻州市，请填写现行代码"),
])
def test_r2_abolished_code_names_its_successor(code, message):
    errors = check(project_division=code, context=ctx(jurisdiction=None))
    assert [e.message for e in errors if e.rule == "R2"] == [f"工程项目地址所在区/县级区划代码：{message}"]


def test_r1_abolished_division_names_its_successor():
    (error,) = rule_r1_certificate_number("140421T（2017）0000001")
    assert error.message.endswith("；140421 长治市长治县已撤销（2018-11-23 后不再使用），现为 140404 长治市上党区")


def test_r5_no_jurisdiction_means_any_shanxi_code():
    assert check(project_division="140981", record_number="晋HA-T00001", context=ctx(jurisdiction=None)) == []


# ------------------------------------------------------------------ R3
@pytest.mark.parametrize("number,message", [
    ("晋AA-S00001", "备案编号：备案编号“晋AA-S00001”中的类别字母 S 与设备类别 T 不一致，应为 晋AA-T00001 形式"),
    ("晋ZZ-T00001", "备案编号：备案编号“晋ZZ-T00001”的前缀“晋ZZ”不在附录编码表中，请核对产权备案所在地的地市和区县字母"
                    "（见代码表“备案编号前缀”列）"),
    ("晋AA-T0001", "备案编号：备案编号“晋AA-T0001”格式不正确，应为 省份简称 + 地市字母 + 区县字母 + “-” + 设备类别字母"
                   "(T/S/W) + 5 位流水号，例如 晋AA-T00001"),
    ("夏AA-T00001", "备案编号：备案编号“夏AA-T00001”的第一位“夏”不是省级行政区的简称（如 晋、冀、京），"
                    "应为产权单位备案所在省份的简称"),
    ("冀AA-S00001", "备案编号：备案编号“冀AA-S00001”中的类别字母 S 与设备类别 T 不一致，应为 冀AA-T00001 形式"),
    ("晋AA-T00000", "备案编号：备案编号“晋AA-T00000”的流水号不能为 00000"),
])
def test_r3_invalid(number, message):
    assert [e.message for e in check(record_number=number) if e.rule == "R3"] == [message]


@pytest.mark.parametrize("number", [
    "晋BA-T00001",  # registered by its owner in 大同, working on a 小店区 site: the owner's letters count
    "晋AB-T00001", "晋JP-T00001",  # 清徐县, 汾阳市
    "冀AA-T00001", "京ZZ-T00001", "蜀AB-T00001", "川AB-T00001", "港AA-T00001",  # other provinces: shape only
])
def test_r3_owners_record_number_from_any_city_or_province(number):
    assert check(record_number=number) == []


@pytest.mark.parametrize("typed,canonical", [
    ("晋aa－t23232", "晋AA-T23232"), ("晋AA—T23232", "晋AA-T23232"), ("晋AA–T23232", "晋AA-T23232"),
    (" 晋AA T23232\u3000", "晋AA-T23232"), ("晋AAT23232", "晋AA-T23232"), ("晋AA一T23232", "晋AA-T23232"),
    ("晋ＡＡ－Ｔ２３２３２", "晋AA-T23232"), ("冀ab‐s00001", "冀AB-S00001"),
])
def test_record_number_any_spelling_is_one_canonical_number(typed, canonical):
    assert clean_certificate(valid_certificate(record_number=typed))["record_number"] == canonical
    crane = canonical[4]
    assert check(record_number=typed, crane_type=crane,
                 **({} if crane == "T" else {"tower_jib_length": "", "tower_max_load": "", "tower_max_height": "",
                                             "tower_tip_load": "", "hoist_rated_load": "2000",
                                             "hoist_rated_speed": "36"})) == []
    seen = []
    check(record_number=typed, context=ctx(record_number_taken=lambda n: seen.append(n) or False))
    assert seen == [canonical]  # R12 asks the database with the canonical number


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


TAIYUAN = "太原市住房和城乡建设局"


@pytest.mark.parametrize("name,message", [
    ("大同市住房和城乡建设局", f"发证机关：“大同市住房和城乡建设局”不是发证机关代码 {AUTHORITY_USCC} 对应的发证机关，应为“{TAIYUAN}”"),
    ("太原市住建局", f"发证机关：“太原市住建局”不是发证机关代码 {AUTHORITY_USCC} 对应的发证机关，应为“{TAIYUAN}”"),
    (" 太原市住房和城乡建设局\u3000", None), ("太原市 住房和城乡建设局", None), (TAIYUAN, None),
])
def test_r4_authority_name_must_be_the_name_of_the_code(name, message):
    errors = [e for e in check(authority_name=name, context=ctx(authority_name=TAIYUAN)) if e.key == "authority_name"]
    assert [e.message for e in errors] == ([message] if message else [])
    assert all(e.rule == "R4" for e in errors)


def test_r4_authority_name_full_width_tolerant():
    context = ctx(authority_name="山西转型综改示范区管理委员会（住建局）")
    assert check(authority_name="山西转型综改示范区管理委员会(住建局)", context=context) == []


def test_r4_authority_name_unknown_or_foreign_code_is_not_judged_by_name():
    assert check(authority_name="大同市住房和城乡建设局") == []  # the context knows no name
    errors = check(authority_uscc="11140200MB0000003U", authority_name="大同市住房和城乡建设局",
                   context=ctx(authority_name=TAIYUAN))
    assert rules_of(errors) == {("R4", "authority_uscc")}  # the code is refused; the name is not judged again


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


@pytest.mark.parametrize("typed,number", [
    ("1.3", "1.3"), ("1.3(2倍率)", "1.3"), ("1.3（2倍率）", "1.3"), (" 1.3 (4倍率) ", "1.3"), ("１.３（２倍率）", "1.3"),
    ("2(2倍)", "2"), (1.3, "1.3"),
])
def test_r7_tip_load_may_carry_its_reeving(typed, number):
    assert check(tower_tip_load=typed) == []
    value = clean_certificate(valid_certificate(tower_tip_load=typed))["tower_tip_load"]
    assert value == Decimal(number) and str(value) == (typed.strip() if isinstance(typed, str) else number)


@pytest.mark.parametrize("typed,message", [
    ("8(2倍率)", "塔式起重机最大幅度起重量(t)：最大幅度起重量 8 t 不能大于最大起重量 6 t，请核对"),
    ("0.01（2倍率）", "塔式起重机最大幅度起重量(t)：“0.01”超出合理范围 0.1～60（单位：t），请核对数值和单位"),
    ("(2倍率)", "塔式起重机最大幅度起重量(t)：“(2倍率)”缺少数值，请在倍率前填写数字，例如 1.3(2倍率)"),
    ("1.3倍率", "塔式起重机最大幅度起重量(t)：“1.3倍率”不是数字，请填写数字（单位：t），可注明倍率，例如 1.3 或 1.3(2倍率)"),
    ("1.3(二倍率)", "塔式起重机最大幅度起重量(t)：“1.3(二倍率)”不是数字，请填写数字（单位：t），可注明倍率，例如 1.3 或 "
                  "1.3(2倍率)"),
])
def test_r7_tip_load_range_uses_the_number(typed, message):
    assert [e.message for e in check(tower_tip_load=typed) if e.rule == "R7"] == [message]


def test_r7_reeving_is_only_for_the_tip_load():
    (error,) = check(tower_max_load="6(2倍率)")
    assert error.rule == "R7" and "不是数字" in error.message


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
@pytest.mark.parametrize("permit,today", [
    ("140105202501150101", TODAY), ("140100202506020119", TODAY), ("141182199912319901", TODAY),
    ("140726201806010101", TODAY),  # 太谷县 before it became 太谷区: its code on the permit's date
    ("140726202004260101", TODAY),  # the day 太谷区 was set up: 太谷县's authority still signed that day
    ("140000202505200101", TODAY),  # a permit of the province (山西省住房和城乡建设厅)
    ("140421201811230101", TODAY), ("140424201701010101", TODAY), ("140481201807310101", TODAY),  # 长治 before 2018-11-23
    ("140402201801020101", TODAY), ("140411201801020101", TODAY),  # 长治市城区/郊区 → 潞州区
    ("140211201803010101", TODAY), ("140227201806300101", TODAY),  # 大同 南郊区 / 大同县 before mid-2018
    ("140624201808080101", TODAY),  # 怀仁县 until 怀仁市 (2018-08-08)
    ("142302199905050101", TODAY),  # 离石市 of 吕梁地区 (now 141102 离石区)
    ("140105202512312301", date(2025, 12, 31)),  # explicit "today": the permit's date may be today
])
def test_r10_valid(permit, today):
    assert rule_r10_permit(permit, today) == []


@pytest.mark.parametrize("permit,message", [
    ("14010520250115010", "“14010520250115010”应为 18 位数字（实际 17 位）：6 位区划代码 + 8 位报建日期 + 2 位序号 + "
                          "2 位专业分类代码，例如 140105202501150101"),
    ("14010520250115010A", "“14010520250115010A”应为 18 位数字（实际 18 位）：6 位区划代码 + 8 位报建日期 + 2 位序号 + "
                           "2 位专业分类代码，例如 140105202501150101"),
    ("110105202501150101", "前 6 位“110105”不是山西省的行政区划代码（见代码表；撤销前的旧代码也可使用），应为发证机关所在地的区划代码"),
    ("140199202501150101", "前 6 位“140199”不是山西省的行政区划代码（见代码表；撤销前的旧代码也可使用），应为发证机关所在地的区划代码"),
    ("140726202004270101", "前 6 位“140726”是晋中市太谷县的代码，2020-04-26 后已撤销（现为 140703 晋中市太谷区），"
                           "报建日期为 2020-04-27 的施工许可证不应使用该代码，请核对施工许可证编号"),
    ("140421201905010101", "前 6 位“140421”是长治市长治县的代码，2018-11-23 后已撤销（现为 140404 长治市上党区），"
                           "报建日期为 2019-05-01 的施工许可证不应使用该代码，请核对施工许可证编号"),
    ("140211202001010101", "前 6 位“140211”是大同市南郊区的代码，2018-06-30 后已撤销（现为 140213 大同市平城区、"
                           "140214 大同市云冈区、140212 大同市新荣区），报建日期为 2020-01-01 的施工许可证不应使用该代码，"
                           "请核对施工许可证编号"),
    ("142302201501010101", "前 6 位“142302”是吕梁地区离石市的代码，2003-12-31 后已撤销（现为 141102 吕梁市离石区），"
                           "报建日期为 2015-01-01 的施工许可证不应使用该代码，请核对施工许可证编号"),
    ("140105202502300101", "第 7～14 位“20250230”不是有效的报建日期（YYYYMMDD）"),
    ("140105202506030101", "第 7～14 位的报建日期 2025-06-03 晚于今天，请核对"),
    ("140105198912310101", "第 7～14 位的报建日期 1989-12-31 不合理，请核对"),
    ("140105202501150001", "第 15～16 位同日报建序号“00”无效，应为 01～99"),
    ("140105202501150100", "最后 2 位专业分类代码“00”无效，应为 01～19（见代码表，例如 01 一般工业与民用建筑工程）"),
    ("140105202501150120", "最后 2 位专业分类代码“20”无效，应为 01～19（见代码表，例如 01 一般工业与民用建筑工程）"),
])
def test_r10_invalid(permit, message):
    errors = rule_r10_permit(permit, TODAY)
    assert [(e.rule, e.message) for e in errors] == [("R10", f"建筑工程施工许可证编号：{message}")]
    assert ("R10", "permit_number") in rules_of(check(permit_number=permit))


def test_r10_every_error_of_the_permit_at_once():
    errors = rule_r10_permit("140199209913320020", TODAY)
    starts = ("前 6 位“140199”", "第 7～14 位“20991332”", "第 15～16 位同日报建序号“00”", "最后 2 位专业分类代码“20”")
    assert len(errors) == 4 and all(e.message.split("：", 1)[1].startswith(p) for e, p in zip(errors, starts))


def test_r10_a_future_permit_date_is_judged_against_explicit_today():
    assert rule_r10_permit("140105202601010101", date(2025, 12, 31))[0].message.endswith("晚于今天，请核对")
    assert rule_r10_permit("140105202601010101", date(2026, 1, 1)) == []


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


def test_one_check_returns_the_errors_and_the_values_the_issuing_step_stores():
    raw = valid_certificate(issue_date=datetime(2025, 6, 1), crane_type="塔式起重机", tower_tip_load="1.30",
                            record_number="晋aa－t00001", location="112.9,99.0")
    persons = valid_persons()
    persons[0].update(type_code=1101.0, name=" 张三 ")
    checked = check_and_clean(raw, persons, ctx())
    assert checked.errors == check_certificate(raw, persons, ctx()) and [e.rule for e in checked.errors] == ["R6"]
    assert checked.certificate == clean_certificate(raw) and checked.persons == [clean_person(p) for p in persons]
    assert checked.certificate["record_number"] == "晋AA-T00001" and checked.persons[0]["name"] == "张三"


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
