"""The AcceptData record that reports one issued or cancelled certificate to 住建部 (SPEC §7).

``build_accept_record`` takes a plain dict (no ORM object), so the outbox can snapshot the
certificate when the report is queued and re-send exactly that.
"""
import datetime
import re
from decimal import Decimal
from typing import Mapping

from portal.standard import codes

CERT_TYPE = "建筑起重机械使用登记证书"
# operate → (certState, operateType): 01 有效 / 01 新发, 04 注销 / 05 注销
OPERATIONS = {"issue": ("01", "01"), "cancel": ("04", "05")}

REQUIRED = ("ecert_id", "number", "authority_name", "authority_uscc", "issue_date", "holder_name",
            "holder_uscc", "crane_type", "model", "record_number", "manufacturer", "serial_number",
            "project_name", "project_address", "project_division", "location", "permit_number")
# optional face fields: key of the input dict → key in faceData
OPTIONAL_FACE = {
    "manufactured_on": "manufactureDate",
    "owner_name": "ownerName", "owner_uscc": "ownerCode",
    "installer_name": "installerName", "installer_uscc": "installerCode",
    "supervisor_name": "supervisorName", "supervisor_uscc": "supervisorCode",
    "contractor_name": "contractorName", "contractor_uscc": "contractorCode",
}
_ECERT_ID = re.compile(r"^[0-9A-Fa-f]{32}$")


def build_accept_record(cert: Mapping, operate: str) -> dict:
    """One AcceptData record for ``operate`` 'issue' (certState 01, operateType 01) or 'cancel'
    (certState 04, operateType 05). Raises ValueError on a missing or malformed input value."""
    if operate not in OPERATIONS:
        raise ValueError("operate must be 'issue' or 'cancel'")
    missing = [k for k in REQUIRED if _blank(cert.get(k))]
    if operate == "cancel":
        missing += [k for k in ("cancelled_at", "cancel_reason") if _blank(cert.get(k))]
    if missing:
        raise ValueError(f"certificate is missing: {', '.join(missing)}")
    ecert_id = str(cert["ecert_id"]).strip()
    if not _ECERT_ID.match(ecert_id):
        raise ValueError("ecert_id must be a 32-character hexadecimal GUID")
    crane_type = str(cert["crane_type"]).strip()
    crane = codes.crane_type(crane_type)
    if crane is None:
        raise ValueError("crane_type must be 'T', 'S' or 'W'")
    cert_state, operate_type = OPERATIONS[operate]
    issue_date = _date(cert["issue_date"], "issue_date")
    face = {
        "equipmentType": crane_type,
        "equipmentTypeName": crane.name,
        "model": _text(cert["model"]),
        "recordNumber": _text(cert["record_number"]),
        "manufacturer": _text(cert["manufacturer"]),
        "serialNumber": _text(cert["serial_number"]),
        "projectName": _text(cert["project_name"]),
        "projectAddress": _text(cert["project_address"]),
        "projectDivisionCode": _text(cert["project_division"]),
        "location": _text(cert["location"]),
        "permitNumber": _text(cert["permit_number"]),
    }
    for key, target in OPTIONAL_FACE.items():
        value = cert.get(key)
        if not _blank(value):
            face[target] = _date(value, key) if key == "manufactured_on" else _text(value)
    return {
        "eCertID": ecert_id,
        "certType": CERT_TYPE,
        "certNum": _text(cert["number"]),
        "issuAuth": _text(cert["authority_name"]),
        "issuAuthCode": _text(cert["authority_uscc"]),
        "issuDate": issue_date,
        "effectiveDate": issue_date,
        "expiringDate": "" if _blank(cert.get("valid_until")) else _date(cert["valid_until"], "valid_until"),
        "certState": cert_state,
        "operateType": operate_type,
        "operateDate": issue_date if operate == "issue" else _date(cert["cancelled_at"], "cancelled_at"),
        "operateReason": "" if operate == "issue" else _text(cert["cancel_reason"]),
        "certHolder": _text(cert["holder_name"]),
        "certHolderCode": _text(cert["holder_uscc"]),
        "faceData": face,
        "businessInfo": {str(k): _number_text(v) for k, v in (cert.get("business") or {}).items()},
        "personnel": [_person(p) for p in cert.get("persons") or []],
    }


def _person(person: Mapping) -> dict:
    return {
        "typeCode": _text(person.get("type_code")),
        "name": _text(person.get("name")),
        "idNumber": _text(person.get("id_number")).upper(),
        "certNum": _text(person.get("cert_no")),
    }


def _blank(value):
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value):
    return "" if value is None else str(value).strip()


def _number_text(value):
    if value is None:
        return ""
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
    return str(value).strip()


def _date(value, key):
    """'YYYY-MM-DD' from a date, a datetime (its date) or an ISO text."""
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value.strip()[:10]).isoformat()
        except ValueError:
            pass
    raise ValueError(f"{key} must be a date")
