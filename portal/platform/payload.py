"""The AcceptData record that reports one issued or cancelled certificate to 住建部 (SPEC §7).

The shape follows the ministry's public collection interfaces for its other certificate types, as
their public integration code shows them (no interface text for this type is public beyond the title
of 《全国工程质量安全监管信息平台建筑起重机械使用登记证书电子证照数据交换接口规范（试运行）》, 2023-08):

- a C# client of the platform (namespace ``WS_GetData.gb``: ``Imputation.Tzzy.AcceptData`` for
  建筑施工特种作业操作资格证书, ``Imputation.Aqscglry.AcceptData`` for 安全生产管理人员考核合格证书):
  ``eCertID`` (32-character GUID), ``provinceNum`` (所属省份, a GB/T 2260 province code such as
  110000), ``certNum``, ``issuAuth``, ``issuAuthCode`` (the authority's USCC), ``issuedDate``
  (初次领证日期), ``issuDate``, ``effectiveDate``, ``expiringDate`` — every date "按公元纪年精确至日" —,
  ``certState`` (01 有效 … 04 注销 … 99 其他), ``certStatusDescription``, ``operateType`` (01 新发 …
  05 注销), and ``businessInformation``, a list of typed items (its dictionary, 扩展信息类型字典表, is
  not public); answers sort records into SuccessData / WarnData / ErrorData.
- a Java client of Shandong's provincial system (``com.epoint.cert.util.PushUtil``, 安全生产许可证):
  ``provinceNum`` "370000", dates built as ``yyyy-MM-dd``, ``certStatusDescription`` always sent.

Where nothing public says how an absent value is sent, this record chooses one rule: every key of the
table below is always present, and a value the certificate does not have is ``null`` (never ``""``);
lists (``businessInformation``, ``personnel``) carry only the values that exist. The face data, the
personnel list and the item fields ``{name, code, value, unit}`` have no public model: their names
are this project's, kept stable for the simulator, which validates the same shape strictly.

``RECORD`` is the one mapping table: each row is a record key (``faceData.x`` nests) and how its value
is made from the certificate, a plain dict of ``Certificate`` column values plus ``persons`` — no ORM
object, so the outbox can keep the record it sent. The 电子证照标识 (GB/T 36904) is sent as ``zzeCertID``,
the key the public interfaces give 证照标识.
"""
import datetime
import functools
import re
from decimal import Decimal
from typing import Callable, Mapping

from portal.clock import local_time
from portal.standard import codes

PROVINCE_NUM = "140000"  # 山西省 (GB/T 2260): the province every record of this system belongs to
CERT_TYPE = "建筑起重机械使用登记证书"
# operate → what it reports: 证书状态 (with its name in the ministry's dictionary) and 操作类型
OPERATIONS = {
    "issue": {"certState": "01", "certStatusDescription": "有效", "operateType": "01"},  # 新发电子证照
    "cancel": {"certState": "04", "certStatusDescription": "注销", "operateType": "05"},  # 办理注销
}
_ECERT_ID = re.compile(r"^[0-9A-Fa-f]{32}$")


class _Missing(Exception):
    """A required value is blank; build_accept_record names every one of them at once."""


Getter = Callable[[Mapping, str], object]  # (certificate values, operate) → the record's value


def text(key) -> Getter:
    """A required text value."""
    def get(cert, operate):
        if _blank(cert.get(key)):
            raise _Missing(key)
        return str(cert[key]).strip()
    return get


def optional_text(key) -> Getter:
    """A text value, null when the certificate has none."""
    return lambda cert, operate: None if _blank(cert.get(key)) else str(cert[key]).strip()


def iso_date(key) -> Getter:
    """A required date as YYYY-MM-DD."""
    def get(cert, operate):
        if _blank(cert.get(key)):
            raise _Missing(key)
        return _date(cert[key], key)
    return get


def optional_iso_date(key) -> Getter:
    """A date as YYYY-MM-DD, null when the certificate has none (有效期至 of one valid until cancelled)."""
    return lambda cert, operate: None if _blank(cert.get(key)) else _date(cert[key], key)


def constant(value) -> Getter:
    return lambda cert, operate: value


def of_operation(key) -> Getter:
    """certState, certStatusDescription or operateType of the operation reported."""
    return lambda cert, operate: OPERATIONS[operate][key]


def _ecert_id(cert, operate):
    value = text("ecert_id")(cert, operate)
    if not _ECERT_ID.match(value):
        raise ValueError("ecert_id must be a 32-character hexadecimal GUID")
    return value


def _crane(cert):
    crane = codes.crane_type(str(cert.get("crane_type") or "").strip())
    if crane is None:
        raise ValueError("crane_type must be 'T', 'S' or 'W'")
    return crane


def _operate_date(cert, operate):
    return iso_date("issue_date" if operate == "issue" else "cancelled_at")(cert, operate)


def _operate_reason(cert, operate):
    return None if operate == "issue" else text("cancel_reason")(cert, operate)


def _business_information(cert, operate):
    """The crane type's 业务信息, in the standard's order, named and with units as on the certificate."""
    business = cert.get("business") or {}
    return [{"name": field.label, "code": field.code, "value": _number_text(business[field.key]),
             "unit": field.unit}
            for field in _crane(cert).fields if not _blank(business.get(field.key))]


_cert_no = optional_text("cert_no")


def _personnel(cert, operate):
    people = []
    for person in cert.get("persons") or []:
        kind = codes.personnel_type(str(person.get("type_code") or "").strip())
        if kind is None:
            raise ValueError(f"unknown personnel type code {person.get('type_code')!r}")
        for key in ("name", "id_number"):
            if _blank(person.get(key)):
                raise _Missing(f"persons.{key}")
        people.append({"typeCode": kind.code, "typeName": kind.name, "name": str(person["name"]).strip(),
                       "idNumber": str(person["id_number"]).strip().upper(),
                       "certNum": _cert_no(person, operate)})
    return people


# The one mapping table: record key → how the certificate gives its value.
RECORD: tuple[tuple[str, Getter], ...] = (
    ("eCertID", _ecert_id),
    ("zzeCertID", text("license_id")),
    ("provinceNum", constant(PROVINCE_NUM)),
    ("certType", constant(CERT_TYPE)),
    ("certNum", text("number")),
    ("issuAuth", text("authority_name")),
    ("issuAuthCode", text("authority_uscc")),
    # 初次领证日期: this type is never renewed or changed (R13), so the first issue is this one.
    ("issuedDate", iso_date("issue_date")),
    ("issuDate", iso_date("issue_date")),
    ("effectiveDate", iso_date("issue_date")),
    ("expiringDate", optional_iso_date("valid_until")),
    ("certState", of_operation("certState")),
    ("certStatusDescription", of_operation("certStatusDescription")),
    ("operateType", of_operation("operateType")),
    ("operateDate", _operate_date),
    ("operateReason", _operate_reason),
    ("certHolder", text("holder_name")),
    ("certHolderCode", text("holder_uscc")),
    ("faceData.equipmentType", lambda cert, operate: _crane(cert).letter),
    ("faceData.equipmentTypeName", lambda cert, operate: _crane(cert).name),
    ("faceData.model", text("model")),
    ("faceData.recordNumber", text("record_number")),
    ("faceData.manufacturer", text("manufacturer")),
    ("faceData.serialNumber", text("serial_number")),
    ("faceData.manufactureDate", optional_iso_date("manufacture_date")),
    ("faceData.ownerName", text("owner_name")),
    ("faceData.ownerCode", text("owner_uscc")),
    ("faceData.installerName", text("installer_name")),
    ("faceData.installerCode", text("installer_uscc")),
    ("faceData.supervisorName", text("supervision_name")),
    ("faceData.supervisorCode", text("supervision_uscc")),
    ("faceData.contractorName", optional_text("contractor_name")),
    ("faceData.contractorCode", optional_text("contractor_uscc")),
    ("faceData.projectName", text("project_name")),
    ("faceData.projectAddress", text("project_address")),
    ("faceData.projectDivisionCode", text("project_division")),
    ("faceData.location", text("location")),
    ("faceData.permitNumber", text("permit_number")),
    ("businessInformation", _business_information),
    ("personnel", _personnel),
)


@functools.lru_cache(maxsize=4)
def _places(record):
    """A mapping table's paths split once: (the object the value goes in, None for the record itself; the
    key; the getter) — RECORD nests one level deep (faceData)."""
    places = tuple((path.rpartition(".")[0] or None, path.rpartition(".")[2], get) for path, get in record)
    if any(parent and "." in parent for parent, _, _ in places):
        raise ValueError("record paths nest one level deep at most")
    return places


def build_accept_record(cert: Mapping, operate: str) -> dict:
    """One AcceptData record for ``operate`` 'issue' (certState 01, operateType 01) or 'cancel'
    (certState 04, operateType 05). Raises ValueError on a missing or malformed input value."""
    if operate not in OPERATIONS:
        raise ValueError("operate must be 'issue' or 'cancel'")
    record, missing = {}, []
    for parent, key, get in _places(RECORD):
        try:
            value = get(cert, operate)
        except _Missing as blank:
            missing.append(str(blank))
            continue
        (record.setdefault(parent, {}) if parent else record)[key] = value
    if missing:
        raise ValueError(f"certificate is missing: {', '.join(dict.fromkeys(missing))}")
    return record


def _blank(value):
    return value is None or (isinstance(value, str) and not value.strip())


def _number_text(value):
    """A business value as decimal text: stored text as it is (it is what the certificate prints)."""
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
    return str(value).strip()


def _date(value, key):
    """'YYYY-MM-DD' from a date, a stored (naive UTC) moment — its Beijing date —, or an ISO text."""
    if isinstance(value, datetime.datetime):
        return local_time(value).date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value.strip()[:10]).isoformat()
        except ValueError:
            pass
    raise ValueError(f"{key} must be a date")
