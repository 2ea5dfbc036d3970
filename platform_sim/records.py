"""How the ministry's collection interface judges an AcceptData record.

Two stages, as in real life: ``sort_record`` is the synchronous structural check that decides
between ErrorData (refused now), WarnData (accepted, with remarks) and SuccessData; ``judge_record``
is the later business validation whose verdict (归集成功 / 校验失败) the status call reveals
after the verdict delay.
"""
import datetime
import re

from platform_sim import store
from platform_sim.normalize import normalise_code, uscc_is_valid

ECERT_ID = re.compile(r"^[0-9A-Fa-f]{32}$")
CERT_NUM = re.compile(r"^(\d{6})([TSW])（(\d{4})）(\d{7})$")
# certState / operateType pairs allowed for this certificate type (新发 → 有效, 注销 → 注销)
STATE_FOR_OPERATION = {"01": "01", "05": "04"}
KNOWN_CERT_STATES = {"01", "02", "03", "04", "05"}
KNOWN_OPERATE_TYPES = {"01", "02", "03", "04", "05"}
REQUIRED_TEXT = ("certNum", "issuAuth", "issuAuthCode", "issuDate", "effectiveDate", "certState",
                 "operateType", "certHolder", "certHolderCode")
REQUIRED_FACE = ("equipmentType", "model", "recordNumber", "manufacturer", "serialNumber", "projectName",
                 "projectAddress", "projectDivisionCode", "location", "permitNumber")
CHECKED_PERSON_TYPES = {"01": ("1108", "1109")}


def _date(value):
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        return None


def sort_record(record, seen_ids):
    """('error' | 'warn' | 'success', eCertID, reasons) for one record of AcceptData."""
    if not isinstance(record, dict):
        return "error", "", ["记录不是 JSON 对象"]
    ecert_id = record.get("eCertID")
    errors = []
    if not isinstance(ecert_id, str) or not ECERT_ID.match(ecert_id):
        errors.append("eCertID 必须是 32 位十六进制 GUID")
        ecert_id = ecert_id if isinstance(ecert_id, str) else ""
    elif ecert_id.upper() in seen_ids:
        errors.append("同一批次中 eCertID 重复")
    for key in REQUIRED_TEXT:
        if not isinstance(record.get(key), str) or not record[key].strip():
            errors.append(f"{key} 不能为空")
    for key in ("issuDate", "effectiveDate"):
        if isinstance(record.get(key), str) and record[key] and _date(record[key]) is None:
            errors.append(f"{key} 必须是 YYYY-MM-DD 格式的日期")
    expiring = record.get("expiringDate", "")
    if expiring not in ("", None) and _date(expiring) is None:
        errors.append("expiringDate 必须为空或 YYYY-MM-DD 格式的日期")
    state, operation = record.get("certState"), record.get("operateType")
    if state and state not in KNOWN_CERT_STATES:
        errors.append("certState 取值无效")
    if operation and operation not in KNOWN_OPERATE_TYPES:
        errors.append("operateType 取值无效")
    elif operation and operation not in STATE_FOR_OPERATION:
        errors.append("建筑起重机械使用登记证书只接受新发（01）和注销（05）")
    elif operation and state and STATE_FOR_OPERATION[operation] != state:
        errors.append("certState 与 operateType 不匹配")
    if operation == "05":
        if _date(record.get("operateDate")) is None:
            errors.append("注销记录的 operateDate 必须是 YYYY-MM-DD 格式的日期")
        if not isinstance(record.get("operateReason"), str) or not record["operateReason"].strip():
            errors.append("注销记录的 operateReason（注销原因）不能为空")
    face = record.get("faceData")
    if not isinstance(face, dict):
        errors.append("faceData（照面信息）缺失")
    else:
        for key in REQUIRED_FACE:
            if not isinstance(face.get(key), str) or not face[key].strip():
                errors.append(f"faceData.{key} 不能为空")
        if face.get("equipmentType") not in (None, "", "T", "S", "W"):
            errors.append("faceData.equipmentType 必须是 T、S 或 W")
    business = record.get("businessInfo")
    if not isinstance(business, dict):
        errors.append("businessInfo（业务信息）缺失")
    personnel = record.get("personnel", [])
    if not isinstance(personnel, list) or not all(isinstance(p, dict) for p in personnel):
        errors.append("personnel 必须是人员对象的列表")
    if errors:
        return "error", ecert_id, errors
    seen_ids.add(ecert_id.upper())
    warnings = []
    if not business:
        warnings.append("业务信息为空")
    if operation == "01" and not personnel:
        warnings.append("未包含相关人员信息")
    return ("warn" if warnings else "success"), ecert_id, warnings


def judge_record(conn, record, switches):
    """The verdict the ministry will give later: ('collected' | 'rejected', reasons)."""
    if switches["verdict"] == "collected":
        return "collected", []
    if switches["verdict"] == "rejected":
        return "rejected", list(switches["reject_reasons"]) or ["校验失败"]
    reasons = []
    if not uscc_is_valid(normalise_code(record["issuAuthCode"])):
        reasons.append("发证机关代码（issuAuthCode）不是有效的统一社会信用代码")
    if not uscc_is_valid(normalise_code(record["certHolderCode"])):
        reasons.append("持证主体代码（certHolderCode）不是有效的统一社会信用代码")
    match = CERT_NUM.match(record["certNum"])
    face = record["faceData"]
    if not match:
        reasons.append("证书编号格式不正确，应为 6 位区划代码 + 设备类别字母 + （年份）+ 7 位流水号")
    else:
        if match.group(2) != face.get("equipmentType"):
            reasons.append("证书编号中的设备类别与照面信息的设备类别不一致")
        if match.group(3) != record["issuDate"][:4]:
            reasons.append("证书编号中的年份与发证日期不一致")
        if match.group(1) != face.get("projectDivisionCode"):
            reasons.append("证书编号中的区划代码与工程项目所在区划代码不一致")
    expiring = _date(record.get("expiringDate") or "")
    if expiring and expiring <= _date(record["effectiveDate"]):
        reasons.append("有效期截止日期（expiringDate）必须晚于生效日期（effectiveDate）")
    for person in record.get("personnel") or []:
        if person.get("typeCode") in CHECKED_PERSON_TYPES.get(record["operateType"], ()):
            found = store.find_persons(conn, person.get("name", ""), person.get("idNumber", ""),
                                       person.get("certNum", ""), person.get("typeCode", ""))
            if not found:
                reasons.append(f"人员 {person.get('name', '')}（{person.get('typeCode')}）"
                               "在全国工程质量安全监管信息平台中不存在")
    if record["operateType"] == "05":
        issued = conn.execute(
            "SELECT 1 FROM records WHERE ecert_id = ? COLLATE NOCASE AND operate_type = '01'"
            " AND outcome IN ('success', 'warn') LIMIT 1",
            (record["eCertID"],),
        ).fetchone()
        if issued is None:
            reasons.append("注销的证照未曾上报新发记录")
    return ("rejected", reasons) if reasons else ("collected", [])
