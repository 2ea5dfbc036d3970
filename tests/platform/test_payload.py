"""build_accept_record: the SPEC §7 record of an issued or cancelled certificate."""
import datetime
from decimal import Decimal

import pytest

from portal.platform.payload import build_accept_record
from tests.platform.helpers import AUTHORITY_USCC, HOLDER_USCC, certificate

PERSON = {"type_code": "1109", "name": "李志强", "id_number": "14010519820721343x", "cert_no": "晋A052022000837"}


def test_issue_record_carries_identity_face_business_and_people():
    cert = certificate([PERSON], valid_until=datetime.date(2028, 3, 1),
                       business={"boom_length": Decimal("60.0"), "max_load": 6, "tip_load": 1.3})
    record = build_accept_record(cert, "issue")
    assert record["eCertID"] == cert["ecert_id"] and len(record["eCertID"]) == 32
    assert record["certNum"] == "140105T（2026）0000001"
    assert (record["issuAuth"], record["issuAuthCode"]) == ("太原市住房和城乡建设局", AUTHORITY_USCC)
    assert (record["certHolder"], record["certHolderCode"]) == ("山西三建集团有限公司", HOLDER_USCC)
    assert record["issuDate"] == record["effectiveDate"] == record["operateDate"] == "2026-03-02"
    assert record["expiringDate"] == "2028-03-01"
    assert (record["certState"], record["operateType"], record["operateReason"]) == ("01", "01", "")
    assert record["faceData"]["equipmentType"] == "T"
    assert record["faceData"]["equipmentTypeName"] == "塔式起重机"
    assert record["faceData"]["projectDivisionCode"] == "140105"
    assert record["faceData"]["location"] == "112.5489,37.8123"
    assert record["businessInfo"] == {"boom_length": "60", "max_load": "6", "tip_load": "1.3"}
    assert record["personnel"] == [{"typeCode": "1109", "name": "李志强", "idNumber": "14010519820721343X",
                                    "certNum": "晋A052022000837"}]


def test_cancel_record_has_state_04_operation_05_date_and_reason():
    cert = certificate([PERSON], cancelled_at=datetime.datetime(2026, 9, 30, 16, 45), cancel_reason="设备已拆除")
    record = build_accept_record(cert, "cancel")
    assert (record["certState"], record["operateType"]) == ("04", "05")
    assert record["operateDate"] == "2026-09-30" and record["operateReason"] == "设备已拆除"
    assert record["issuDate"] == "2026-03-02" and record["expiringDate"] == ""


def test_optional_face_fields_are_included_when_present():
    cert = certificate([], owner_name="太原恒泰机械租赁有限公司", owner_uscc=HOLDER_USCC,
                       manufactured_on="2021-06-01", contractor_name="")
    face = build_accept_record(cert, "issue")["faceData"]
    assert face["ownerName"] == "太原恒泰机械租赁有限公司" and face["manufactureDate"] == "2021-06-01"
    assert "contractorName" not in face


@pytest.mark.parametrize("changes, operate, fragment", [
    ({"number": ""}, "issue", "number"),
    ({"holder_uscc": None}, "issue", "holder_uscc"),
    ({}, "cancel", "cancelled_at, cancel_reason"),
    ({"ecert_id": "1234"}, "issue", "32-character"),
    ({"crane_type": "X"}, "issue", "crane_type"),
    ({"issue_date": "02/03/2026"}, "issue", "issue_date"),
    ({}, "change", "operate"),
])
def test_incomplete_certificates_are_refused(changes, operate, fragment):
    with pytest.raises(ValueError, match=fragment):
        build_accept_record(certificate([PERSON], **changes), operate)
