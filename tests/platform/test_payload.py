"""build_accept_record: the ministry's record shape, one expected value per field of the mapping table."""
import datetime
from decimal import Decimal

import pytest

from portal.platform.payload import RECORD, build_accept_record
from tests.platform.helpers import AUTHORITY_USCC, HOLDER_USCC, INSTALLER_USCC, OWNER_USCC, SUPERVISION_USCC, \
    certificate, uscc

ECERT_ID = "0f8e6c1ab2d34e5f9a7b8c9d0e1f2a3b"
CONTRACTOR_USCC = uscc("91140100MA0K56789")
DRIVER = {"type_code": "1109", "name": "李志强", "id_number": "14010519820721343x", "cert_no": "晋A052022000837"}
CHIEF = {"type_code": "1101", "name": "赵总监", "id_number": "140105197001011234", "cert_no": ""}
# Every optional value present, so that each field shows what it carries.
FULL = certificate([DRIVER, CHIEF], ecert_id=ECERT_ID, valid_until=datetime.date(2028, 3, 1),
                   manufacture_date=datetime.date(2021, 6, 1), contractor_name="山西三建集团有限公司",
                   contractor_uscc=CONTRACTOR_USCC)

ISSUE = {
    "eCertID": ECERT_ID,
    "zzeCertID": "1.2.156.3005.2.JZQZJXSYDJZ.11140100MB0123456K.140105T20260000001.001.6",
    "provinceNum": "140000",
    "certType": "建筑起重机械使用登记证书",
    "certNum": "140105T（2026）0000001",
    "issuAuth": "太原市住房和城乡建设局",
    "issuAuthCode": AUTHORITY_USCC,
    "issuedDate": "2026-03-02",
    "issuDate": "2026-03-02",
    "effectiveDate": "2026-03-02",
    "expiringDate": "2028-03-01",
    "certState": "01",
    "certStatusDescription": "有效",
    "operateType": "01",
    "operateDate": "2026-03-02",
    "operateReason": None,
    "certHolder": "山西三建集团有限公司",
    "certHolderCode": HOLDER_USCC,
    "faceData.equipmentType": "T",
    "faceData.equipmentTypeName": "塔式起重机",
    "faceData.model": "QTZ80(TC6010-6)",
    "faceData.recordNumber": "晋AA-T00001",
    "faceData.manufacturer": "中联重科股份有限公司",
    "faceData.serialNumber": "ZL2021-0456",
    "faceData.manufactureDate": "2021-06-01",
    "faceData.ownerName": "太原恒泰机械租赁有限公司",
    "faceData.ownerCode": OWNER_USCC,
    "faceData.installerName": "山西晋建起重设备安装有限公司",
    "faceData.installerCode": INSTALLER_USCC,
    "faceData.supervisorName": "山西协诚建设工程项目管理有限公司",
    "faceData.supervisorCode": SUPERVISION_USCC,
    "faceData.contractorName": "山西三建集团有限公司",
    "faceData.contractorCode": CONTRACTOR_USCC,
    "faceData.projectName": "小店区综合改造项目一期",
    "faceData.projectAddress": "太原市小店区长治路 88 号",
    "faceData.projectDivisionCode": "140105",
    "faceData.location": "112.5489,37.8123",
    "faceData.permitNumber": "140105202601050101",
    "businessInformation": [
        {"name": "塔式起重机起重臂长度", "code": "T01", "value": "60", "unit": "m"},
        {"name": "塔式起重机最大起重量", "code": "T02", "value": "6", "unit": "t"},
        {"name": "塔式起重机拟安装最大高度", "code": "T03", "value": "120", "unit": "m"},
        {"name": "塔式起重机最大幅度起重量", "code": "T04", "value": "1.0", "unit": "t"},
    ],
    "personnel": [
        {"typeCode": "1109", "typeName": "建筑起重机械司机", "name": "李志强", "idNumber": "14010519820721343X",
         "certNum": "晋A052022000837"},
        {"typeCode": "1101", "typeName": "总监理工程师", "name": "赵总监", "idNumber": "140105197001011234",
         "certNum": None},
    ],
}
# A cancellation at 16:45 UTC on 30 September is 1 October in Beijing: the office's date is reported.
CANCELLED = dict(FULL, cancelled_at=datetime.datetime(2026, 9, 30, 16, 45), cancel_reason="设备已拆除")
CANCEL = dict(ISSUE, certState="04", certStatusDescription="注销", operateType="05", operateDate="2026-10-01",
              operateReason="设备已拆除")
# A certificate without any of its optional values: each is null, never "".
SPARSE = certificate([dict(CHIEF, cert_no=None)], ecert_id=ECERT_ID, valid_until=None, manufacture_date="",
                     contractor_name=" ", contractor_uscc=None)
SPARSE_NULLS = ("expiringDate", "faceData.manufactureDate", "faceData.contractorName", "faceData.contractorCode")
PATHS = [path for path, _ in RECORD]


def value_at(record, path):
    for key in path.split("."):
        record = record[key]
    return record


def flat_keys(record, prefix=""):
    keys = []
    for key, value in record.items():
        if isinstance(value, dict):
            keys += flat_keys(value, prefix + key + ".")
        else:
            keys.append(prefix + key)
    return keys


@pytest.mark.parametrize("path", PATHS)
def test_issue_record_field(path):
    assert value_at(build_accept_record(FULL, "issue"), path) == ISSUE[path]


@pytest.mark.parametrize("path", PATHS)
def test_cancel_record_field(path):
    assert value_at(build_accept_record(CANCELLED, "cancel"), path) == CANCEL[path]


def test_the_record_has_exactly_the_fields_of_the_mapping_table():
    assert flat_keys(build_accept_record(FULL, "issue")) == PATHS == list(ISSUE)


@pytest.mark.parametrize("path", SPARSE_NULLS)
def test_an_absent_optional_value_is_null_not_empty_text(path):
    assert value_at(build_accept_record(SPARSE, "issue"), path) is None


def test_a_person_without_certificate_number_has_null_cert_num():
    assert build_accept_record(SPARSE, "issue")["personnel"][0]["certNum"] is None


@pytest.mark.parametrize("crane_type, business, items", [
    ("S", {"hoist_rated_load": "2000", "hoist_rated_speed": Decimal("36.00")},
     [("施工升降机额定载重量", "S01", "2000", "kg"), ("施工升降机额定速度", "S02", "36", "m/min")]),
    ("W", {"lift_rated_load": 1000, "lift_rated_speed": 24.5, "tower_jib_length": ""},
     [("物料提升机额定载重量", "W01", "1000", "kg"), ("物料提升机额定速度", "W02", "24.5", "m/min")]),
])
def test_business_information_lists_the_items_of_the_crane_type(crane_type, business, items):
    record = build_accept_record(certificate([], crane_type=crane_type, business=business), "issue")
    assert record["faceData"]["equipmentType"] == crane_type
    assert [(i["name"], i["code"], i["value"], i["unit"]) for i in record["businessInformation"]] == items


def test_business_values_of_another_crane_type_are_not_reported():
    cert = certificate([], business=dict(certificate([])["business"], hoist_rated_load="2000"))
    assert [i["code"] for i in build_accept_record(cert, "issue")["businessInformation"]] == ["T01", "T02", "T03",
                                                                                              "T04"]


@pytest.mark.parametrize("changes, operate, fragment", [
    ({"number": ""}, "issue", "number"),
    ({"license_id": None}, "issue", "license_id"),
    ({"holder_uscc": None}, "issue", "holder_uscc"),
    ({"owner_name": " ", "permit_number": None}, "issue", "owner_name, permit_number"),
    ({}, "cancel", "cancelled_at, cancel_reason"),
    ({"ecert_id": "1234"}, "issue", "32-character"),
    ({"crane_type": "X"}, "issue", "crane_type"),
    ({"issue_date": "02/03/2026"}, "issue", "issue_date"),
    ({}, "change", "operate"),
])
def test_incomplete_certificates_are_refused(changes, operate, fragment):
    with pytest.raises(ValueError, match=fragment):
        build_accept_record(certificate([DRIVER], **changes), operate)


@pytest.mark.parametrize("person, fragment", [(dict(DRIVER, type_code="1199"), "1199"),
                                              (dict(DRIVER, name=""), "persons.name")])
def test_a_person_without_known_type_or_name_is_refused(person, fragment):
    with pytest.raises(ValueError, match=fragment):
        build_accept_record(certificate([person]), "issue")
