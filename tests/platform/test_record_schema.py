"""The simulator validates the record shape strictly, over HTTP, and names every broken field in Chinese;
the records the portal builds, for every crane type, issued and cancelled, pass it."""
import copy

import pytest

from portal.auth.models import User
from portal.certificates.issuing import IssueOptions, cancel_certificate, issue_certificate
from portal.extensions import db
from portal.platform.models import ReportOutbox
from portal.platform.payload import build_accept_record
from portal.platform.reporting import send_due_reports
from portal.platform.service import person_finder
from tests.factories import issuable_certificate, issuable_persons
from tests.platform.helpers import certificate

# 设备类别 → (备案编号 letter, its 业务信息 values); the other types' fields stay empty (R7).
BUSINESS = {
    "T": {"tower_jib_length": "60", "tower_max_load": "6", "tower_max_height": "100", "tower_tip_load": "1.3"},
    "S": {"hoist_rated_load": "2000", "hoist_rated_speed": "36"},
    "W": {"lift_rated_load": "1000", "lift_rated_speed": "24.5"},
}
NO_BUSINESS = {key: "" for values in BUSINESS.values() for key in values}


@pytest.fixture
def app_config(platform_config):
    return dict(platform_config, RQ_ASYNC=False)


@pytest.fixture
def good(demo_persons):
    return build_accept_record(certificate([demo_persons["1108"], demo_persons["1109"]]), "issue")


def _set(record, path, value):
    *parents, key = path
    for part in parents:
        record = record[part]
    if value is _DELETE:
        del record[key]
    else:
        record[key] = value


_DELETE = object()


@pytest.mark.parametrize("path, value, reason", [
    (("provinceNum",), _DELETE, "缺少字段 provinceNum（所属省份）"),
    (("zzeCertID",), _DELETE, "缺少字段 zzeCertID（电子证照标识）"),
    (("zzeCertID",), "1.2.156.3005.2.JZQZJXSYDJZ.11140100MB0123456K.140105T20260000001.1.6",
     "zzeCertID（电子证照标识）应为 GB/T 36904 电子证照标识"),
    (("faceData", "permitNumber"), _DELETE, "缺少字段 faceData.permitNumber（建筑工程施工许可证编号）"),
    (("personnel",), {}, "personnel（相关人员信息）类型错误：应为列表，收到的是对象"),
    (("certNum",), 140105, "certNum（证书编号）类型错误：应为字符串，收到的是数字"),
    (("issuAuth",), None, "issuAuth（发证机关）类型错误：应为字符串，收到的是空值 null"),
    (("issuedDate",), "2026/3/2", "issuedDate（初次领证日期）应为 YYYY-MM-DD 格式的有效日期，收到的是“2026/3/2”"),
    (("issuDate",), "2026-02-30", "issuDate（发证日期）应为 YYYY-MM-DD 格式的有效日期"),
    (("expiringDate",), "", "expiringDate（有效期结束日期）应为 YYYY-MM-DD 格式的有效日期，无值时应为 null，不能是空字符串"),
    (("faceData", "model"), " ", "faceData.model（规格型号）不能为空"),
    (("provinceNum",), "14000", "provinceNum（所属省份）应为 6 位省级行政区划代码"),
    (("certState",), "11", "certState（证书状态）取值“11”不在代码表中"),
    (("faceData", "equipmentType"), "Q", "faceData.equipmentType（设备类别代码）取值“Q”不在代码表中"),
    (("faceData", "equipmentTypeName"), "塔吊", "faceData.equipmentTypeName（设备类别名称）“塔吊”与设备类别“T”不符"),
    (("certState",), "04", "certState（证书状态）“04”与 operateType（操作类型）“01”不匹配"),
    (("operateType",), "02", "operateType（操作类型）“02”：建筑起重机械使用登记证书只接受新发（01）和注销（05）"),
    (("certStatusDescription",), "注销", "certStatusDescription（证书状态描述）“注销”与证书状态“01”不符，应为“有效”"),
    (("personnel", 0, "typeCode"), "1199", "personnel[0].typeCode（人员类型代码）“1199”不在人员类型代码表中"),
    (("personnel", 1, "typeName"), "司机", "personnel[1].typeName（人员类型名称）“司机”与人员类型代码“1109”不符"),
    (("personnel", 0, "certNum"), "", "personnel[0].certNum（特种作业操作资格证书编号）无值时应为 null"),
    (("businessInformation", 0, "unit"), _DELETE, "缺少字段 businessInformation[0].unit（计量单位）"),
    (("businessInformation", 1, "value"), 6, "businessInformation[1].value（业务信息值）类型错误：应为字符串"),
    (("businessInformation", 1, "value"), "6吨", "businessInformation[1].value（业务信息值）应为十进制数字文本"),
    (("businessInformation", 2, "code"), "T09", "businessInformation[2].code（业务信息代码）“T09”不在业务信息代码表中"),
    (("businessInformation", 2, "code"), "S01", "“S01”（施工升降机额定载重量）不属于塔式起重机"),
    (("businessInformation", 0, "unit"), "cm", "businessInformation[0].unit（计量单位）“cm”与代码“T01”不符，应为“m”"),
    (("businessInformation",), [], "businessInformation（业务信息）不能为空列表"),
    (("businessInfo",), {"tower_jib_length": "60"}, "记录含有接口未定义的字段：businessInfo"),
])
def test_a_record_that_breaks_the_schema_is_refused_with_the_field_named(platform_client, good, path, value,
                                                                         reason):
    broken = copy.deepcopy(good)
    _set(broken, path, value)
    result = platform_client.report_certificate([broken], "broken-1")
    assert not result.accepted
    outcome, reasons = result.outcome(good["eCertID"])
    assert outcome == "error" and reason in reasons, reasons


def test_a_missing_business_item_is_named_with_its_unit(platform_client, good):
    broken = copy.deepcopy(good)
    del broken["businessInformation"][3]
    outcome, reasons = platform_client.report_certificate([broken], "broken-2").outcome(good["eCertID"])
    assert outcome == "error" and "businessInformation（业务信息）缺少 T04（塔式起重机最大幅度起重量，t）" in reasons


def test_every_reason_of_a_record_comes_in_one_answer(platform_client, good):
    broken = copy.deepcopy(good)
    del broken["provinceNum"]
    broken["expiringDate"] = ""
    broken["personnel"][0]["typeCode"] = "1199"
    outcome, reasons = platform_client.report_certificate([broken], "broken-3").outcome(good["eCertID"])
    assert outcome == "error"
    assert reasons.split("；") == ["缺少字段 provinceNum（所属省份）",
                                  "expiringDate（有效期结束日期）应为 YYYY-MM-DD 格式的有效日期，无值时应为 null，不能是空字符串",
                                  "personnel[0].typeCode（人员类型代码）“1199”不在人员类型代码表中"]


def test_a_record_that_is_no_object_is_refused(platform_client, good):
    result = platform_client.report_certificate([good, {"AcceptData": "nested"}], "broken-4")
    assert result.accepted == [good["eCertID"]] and result.errors[0][0] == ""


def _issuable(n, crane_type):
    return issuable_certificate(n, crane_type=crane_type, record_number=f"晋AA-{crane_type}{n:05d}",
                                **{**NO_BUSINESS, **BUSINESS[crane_type]})


def test_the_portals_records_of_every_crane_type_issued_and_cancelled_pass_the_strict_simulator(
        demo, platform_sim, monkeypatch):
    monkeypatch.setattr("portal.platform.reporting.dispatch", lambda: None)
    platform_sim.set_switches(verdict_delay=0)
    clerk = db.session.scalar(db.select(User).filter_by(username="clerk"))
    options = IssueOptions(seal_now=False, enqueue_seal=False, dispatch=False)
    certs = [issue_certificate(clerk, _issuable(n, kind), issuable_persons(), options=options)
             for n, kind in enumerate("TSW", start=1)]
    send_due_reports()
    for cert in certs:
        cancel_certificate(clerk, cert, "设备已拆除，退场", find_person=person_finder())
    send_due_reports()
    received = [record for report in platform_sim.reports()["reports"] for record in report["records"]]
    assert [(r["record"]["faceData"]["equipmentType"], r["operateType"]) for r in received] == [
        ("T", "01"), ("S", "01"), ("W", "01"), ("T", "05"), ("S", "05"), ("W", "05")]
    assert [(r["outcome"], r["reasons"]) for r in received] == [("success", [])] * 6
    assert [r["verdict"] for r in received] == ["collected"] * 6
    sent = db.session.scalars(db.select(ReportOutbox.payload).order_by(ReportOutbox.id)).all()
    assert [r["record"] for r in received] == sent  # what the outbox kept is what the platform got
