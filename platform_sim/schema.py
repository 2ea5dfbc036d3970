"""The collection interface's record schema, checked strictly, with reasons in Chinese.

The shape is the simulator's own data — ``data/accept_record.schema.json`` (JSON Schema 2020-12) and
the code tables ``equipment_types.csv``, ``business_items.csv`` and ``person_types.csv`` — and is
deliberately not shared with the portal's mapping: the simulator stands in for a foreign system,
so a record the portal builds wrongly must be refused here, not agreed with.

``problems(record)`` lists every reason a record breaks the interface, each naming the field by its
path and its Chinese title, e.g. «faceData.model（规格型号）不能为空».
"""
import csv
import json
from functools import cache

from jsonschema import Draft202012Validator

from platform_sim.store import DATA_DIR, load_person_types

# operateType → the certState it leaves (新发 → 有效, 注销 → 注销): the only two this type knows
STATE_FOR_OPERATION = {"01": "01", "05": "04"}
# The ministry's 证书状态 dictionary (names as certStatusDescription carries them).
CERT_STATE_NAMES = {"01": "有效", "02": "暂扣", "03": "撤销", "04": "注销", "05": "失效", "06": "办理转出",
                    "07": "吊销", "99": "其他"}
_TYPE_NAMES = {"string": "字符串", "array": "列表", "object": "对象", "null": "空值 null", "number": "数字",
               "integer": "整数", "boolean": "布尔值"}


@cache
def _validator():
    with open(DATA_DIR / "accept_record.schema.json", encoding="utf-8") as fh:
        schema = json.load(fh)
    Draft202012Validator.check_schema(schema)
    # Resolving "$ref" on every value costs half of each validation: the definitions are put in place once.
    schema = _inline(schema, schema.get("$defs", {}))
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _inline(node, definitions):
    """The schema with every local ``{"$ref": "#/$defs/name", ...}`` replaced by the definition merged in."""
    if isinstance(node, list):
        return [_inline(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _inline(value, definitions) for key, value in node.items()}
    reference = node.pop("$ref", None)
    if reference is None:
        return node
    return {**_inline(definitions[reference.removeprefix("#/$defs/")], definitions), **node}


def _csv(name):
    with open(DATA_DIR / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@cache
def equipment_types():
    """{'T': '塔式起重机', ...}"""
    return {row["code"]: row["name"] for row in _csv("equipment_types.csv")}


@cache
def business_items():
    """{'T01': {'equipment_type': 'T', 'name': ..., 'unit': 'm'}, ...} in table order."""
    return {row["code"]: row for row in _csv("business_items.csv")}


def problems(record):
    """Every reason (Chinese, naming the field) why ``record`` breaks the interface; [] when it fits."""
    validator = _validator()
    errors = sorted(validator.iter_errors(record), key=lambda e: [str(p) for p in e.absolute_path])
    reasons = [reason for error in errors for reason in _reasons(validator.schema, error)]
    if isinstance(record, dict):
        broken = {tuple(e.absolute_path) + missing for e in errors if e.validator != "additionalProperties"
                  for missing in (_missing(e) if e.validator == "required" else [()])}
        # The rules between fields read only values whose own shape holds.
        for inputs, check in _CHECKS:
            if not any(_overlaps(tuple(i.split(".")), b) for i in inputs for b in broken):
                reasons += check(record)
    return list(dict.fromkeys(reasons))


def _missing(error):
    """The names a 'required' error found absent, each as a one-element path."""
    return [(name,) for name in error.validator_value if name not in error.instance]


def _overlaps(path, broken):
    n = min(len(path), len(broken))
    return path[:n] == broken[:n]


# --- the JSON schema -----------------------------------------------------------------------------

def _path(parts):
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _subschema(root, parts):
    """The schema of the value at ``parts`` (its property entry, which carries the Chinese title)."""
    schema = root
    for part in parts:
        if not isinstance(schema, dict):
            return {}
        schema = schema.get("items", {}) if isinstance(part, int) else schema.get("properties", {}).get(part, {})
    return schema if isinstance(schema, dict) else {}


def _field(root, parts):
    """'faceData.model（规格型号）': where the value is and what the interface calls it."""
    if not parts:
        return "记录"
    title = _subschema(root, parts).get("title")
    return f"{_path(parts)}（{title}）" if title else _path(parts)


def _reasons(root, error):
    parts = list(error.absolute_path)
    keyword, expected, schema = error.validator, error.validator_value, error.schema
    if keyword == "required":
        return [f"缺少字段 {_field(root, parts + list(name))}" for name in _missing(error)]
    if keyword == "additionalProperties":
        known = set(schema.get("properties", {}))
        extra = "、".join(sorted(str(k) for k in error.instance if k not in known))
        return [f"{_field(root, parts)}含有接口未定义的字段：{extra}"]
    field = _field(root, parts)
    if keyword == "type":
        wanted = expected if isinstance(expected, list) else [expected]
        return [f"{field}类型错误：应为{'或'.join(_TYPE_NAMES.get(t, t) for t in wanted)}，"
                f"收到的是{_json_type(error.instance)}"]
    if keyword == "enum":
        return [f"{field}取值“{error.instance}”不在代码表中，应为 {'、'.join(map(str, expected))} 之一"]
    if keyword == "const":
        return [f"{field}应为“{expected}”，收到的是“{error.instance}”"]
    if keyword == "maxLength":
        return [f"{field}超过 {expected} 个字符"]
    if keyword == "minItems":
        return [f"{field}不能为空列表"]
    if keyword in ("pattern", "format"):
        return [f"{field}{schema.get('description') or '格式不正确'}"
                + (f"，收到的是“{error.instance}”" if isinstance(error.instance, str) and error.instance else "")]
    return [f"{field}不符合接口规范：{error.message}"]


def _json_type(value):
    if value is None:
        return _TYPE_NAMES["null"]
    for name, kind in (("boolean", bool), ("string", str), ("array", list), ("object", dict)):
        if isinstance(value, kind):
            return _TYPE_NAMES[name]
    return _TYPE_NAMES["number"] if isinstance(value, (int, float)) else type(value).__name__


# --- codes and the rules between fields ----------------------------------------------------------

def _state_problems(record):
    state, operation = record["certState"], record["operateType"]
    if operation not in STATE_FOR_OPERATION:
        return [f"operateType（操作类型）“{operation}”：建筑起重机械使用登记证书只接受新发（01）和注销（05）"]
    if STATE_FOR_OPERATION[operation] != state:
        return [f"certState（证书状态）“{state}”与 operateType（操作类型）“{operation}”不匹配，"
                f"应为“{STATE_FOR_OPERATION[operation]}”"]
    return []


def _description_problems(record):
    state, description = record["certState"], record["certStatusDescription"]
    if state == "99" and description is None:
        return ["certStatusDescription（证书状态描述）证书状态为“99 其他”时必填"]
    if state != "99" and description not in (None, CERT_STATE_NAMES[state]):
        return [f"certStatusDescription（证书状态描述）“{description}”与证书状态“{state}”不符，"
                f"应为“{CERT_STATE_NAMES[state]}”"]
    return []


def _reason_problems(record):
    if record["operateType"] == "05" and record["operateReason"] is None:
        return ["operateReason（操作原因）注销记录必须写明注销原因"]
    return []


def _equipment_problems(record):
    kind, name = record["faceData"]["equipmentType"], record["faceData"]["equipmentTypeName"]
    if name != equipment_types()[kind]:
        return [f"faceData.equipmentTypeName（设备类别名称）“{name}”与设备类别“{kind}”不符，"
                f"应为“{equipment_types()[kind]}”"]
    return []


def _personnel_problems(record):
    reasons = []
    for n, person in enumerate(record["personnel"]):
        name = load_person_types().get(person["typeCode"])
        if name is None:
            reasons.append(f"personnel[{n}].typeCode（人员类型代码）“{person['typeCode']}”不在人员类型代码表中")
        elif person["typeName"] != name:
            reasons.append(f"personnel[{n}].typeName（人员类型名称）“{person['typeName']}”与人员类型代码"
                           f"“{person['typeCode']}”不符，应为“{name}”")
    return reasons


def _business_problems(record):
    items, kind = record["businessInformation"], record["faceData"]["equipmentType"]
    reasons, seen = [], set()
    table = business_items()
    for n, item in enumerate(items):
        code, where = item["code"], f"businessInformation[{n}]"
        entry = table.get(code)
        if entry is None:
            reasons.append(f"{where}.code（业务信息代码）“{code}”不在业务信息代码表中")
            continue
        if entry["equipment_type"] != kind:
            reasons.append(f"{where}.code（业务信息代码）“{code}”（{entry['name']}）不属于{equipment_types()[kind]}")
        if code in seen:
            reasons.append(f"{where}.code（业务信息代码）“{code}”重复出现")
        seen.add(code)
        for key, title in (("name", "业务信息名称"), ("unit", "计量单位")):
            if item[key] != entry[key]:
                reasons.append(f"{where}.{key}（{title}）“{item[key]}”与代码“{code}”不符，应为“{entry[key]}”")
    for code, entry in table.items():
        if entry["equipment_type"] == kind and code not in seen:
            reasons.append(f"businessInformation（业务信息）缺少 {code}（{entry['name']}，{entry['unit']}）")
    return reasons


# (the values a rule reads, the rule)
_CHECKS = (
    (("certState", "operateType"), _state_problems),
    (("certState", "certStatusDescription"), _description_problems),
    (("operateType", "operateReason"), _reason_problems),
    (("faceData.equipmentType", "faceData.equipmentTypeName"), _equipment_problems),
    (("faceData.equipmentType", "businessInformation"), _business_problems),
    (("personnel",), _personnel_problems),
)
