"""How the ministry's collection interface judges an AcceptData record.

Two stages, as in real life: ``sort_record`` is the synchronous check against the interface's
schema that decides between ErrorData (refused now, with reasons), WarnData (accepted, with remarks)
and SuccessData; ``judge_record`` is the later business validation whose verdict (归集成功 / 校验失败)
the status call reveals after the verdict delay.
"""
import datetime
import re

from platform_sim import schema, store
from platform_sim.normalize import license_id_is_valid, normalise_code, uscc_is_valid

CERT_NUM = re.compile(r"^(\d{6})([TSW])（(\d{4})）(\d{7})$")
CHECKED_PERSON_TYPES = {"01": ("1108", "1109")}


def _date(value):
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        return None


def sort_record(record, seen_ids):
    """('error' | 'warn' | 'success', eCertID, reasons) for one record of AcceptData.

    A record that breaks the interface's schema (``platform_sim.schema``) is refused with every
    reason; a well-formed one is accepted, with remarks (WarnData) when it lacks personnel.
    """
    if not isinstance(record, dict):
        return "error", "", ["记录不是 JSON 对象"]
    ecert_id = record.get("eCertID") if isinstance(record.get("eCertID"), str) else ""
    errors = schema.problems(record)
    if ecert_id and ecert_id.upper() in seen_ids:
        errors.append("eCertID（数据唯一标识）在同一批次中重复")
    if errors:
        return "error", ecert_id, errors
    seen_ids.add(ecert_id.upper())
    warnings = []
    if record["operateType"] == "01" and not record["personnel"]:
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
    license_parts = record["zzeCertID"].split(".")
    if not license_id_is_valid(record["zzeCertID"]):
        reasons.append("电子证照标识（zzeCertID）的校验位不正确")
    elif license_parts[6] != record["issuAuthCode"]:
        reasons.append("电子证照标识（zzeCertID）中的发证机构代码与发证机关代码（issuAuthCode）不一致")
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
    for person in record["personnel"]:
        if person["typeCode"] in CHECKED_PERSON_TYPES.get(record["operateType"], ()):
            found = store.find_persons(conn, person["name"], person["idNumber"], person["certNum"] or "",
                                       person["typeCode"])
            if not found:
                reasons.append(f"人员 {person['name']}（{person['typeCode']}）"
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
