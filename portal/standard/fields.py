"""Field definitions of the certificate and its persons: one list for the form, the template and the rules.

``FIELDS`` / ``PERSON_FIELDS`` are in template column order. ``kind`` is one of
text / date / uscc / division / number / choice (how to read, show and validate the value).
"""
from __future__ import annotations

from dataclasses import dataclass

from . import codes


@dataclass(frozen=True, slots=True)
class FieldDef:
    """One field: canonical key, Chinese label, required flag, sheet header, kind and a filling hint."""

    key: str
    label: str
    required: bool
    kind: str  # text / date / uscc / division / number / choice
    hint: str = ""
    max_length: int = 200
    crane_type: str | None = None  # business fields only: T/S/W
    unit: str = ""
    step: int = 2  # 1 = 基本信息, 2 = 照面信息 (form steps)

    @property
    def header(self) -> str:
        """The sheet header in row 1, e.g. '使用单位名称*' (a trailing * marks required)."""
        return self.label + ("*" if self.required else "")

    @property
    def text_format(self) -> bool:
        """True when the template formats the column as text '@' (codes must not become numbers)."""
        return self.kind in ("text", "uscc", "division", "choice")


_U = "18 位统一社会信用代码，按营业执照填写（字母大写，不含 I、O、S、V、Z）"


def _f(key, label, required, kind, hint="", **kw) -> FieldDef:
    return FieldDef(key, label, required, kind, hint, **kw)


def _business() -> list[FieldDef]:
    out = []
    for bf in codes.business_fields():
        t = codes.crane_type(bf.crane_type)
        out.append(FieldDef(bf.key, bf.header, False, "number",
                            f"仅当设备类别为 {t.letter}（{t.name}）时填写，{bf.note}，合理范围 {bf.min}～{bf.max}；"
                            f"其他类别必须留空", crane_type=bf.crane_type, unit=bf.unit))
    return out


FIELDS: tuple[FieldDef, ...] = tuple([
    _f("holder_name", "使用单位名称", True, "text", "持证主体，使用单位全称", step=1),
    _f("holder_uscc", "使用单位统一社会信用代码", True, "uscc", _U, step=1),
    _f("authority_name", "发证机关", True, "text", "发证机关全称，例如 太原市住房和城乡建设局", step=1),
    _f("authority_uscc", "发证机关代码", True, "uscc", "发证机关的 18 位统一社会信用代码", step=1),
    _f("issue_date", "发证日期", True, "date", "YYYY-MM-DD，例如 2025-06-01，不能晚于今天", step=1),
    _f("valid_until", "有效期至", False, "date", "可不填（长期有效，至注销）；填写时须晚于发证日期", step=1),
    _f("crane_type", "设备类别", True, "choice", "T（塔式起重机）、S（施工升降机）或 W（物料提升机），可从下拉列表选择"),
    _f("model", "规格型号", True, "text", "例如 QTZ80(TC6010)"),
    _f("record_number", "备案编号", True, "text",
       "产权单位备案所在地的备案编号，例如 晋AA-T00001：省份简称 + 地市字母 + 区县字母（山西省的见代码表）+ - + 设备类别字母"
       " + 5 位流水号；外省、外市的设备照原编号填写", max_length=11),
    _f("manufacturer", "生产厂家", True, "text", "制造单位全称"),
    _f("serial_number", "出厂编号", True, "text", "铭牌上的出厂编号"),
    _f("manufacture_date", "出厂日期", False, "date", "YYYY-MM-DD，不能晚于发证日期"),
    _f("owner_name", "产权单位名称", True, "text", "产权单位全称"),
    _f("owner_uscc", "产权单位统一社会信用代码", True, "uscc", _U),
    _f("installer_name", "安装单位名称", True, "text", "安装单位全称"),
    _f("installer_uscc", "安装单位统一社会信用代码", True, "uscc", _U),
    _f("supervision_name", "监理单位名称", True, "text", "监理单位全称"),
    _f("supervision_uscc", "监理单位统一社会信用代码", True, "uscc", _U),
    _f("contractor_name", "施工总承包单位名称", False, "text", "可不填；填写时同时填写其统一社会信用代码"),
    _f("contractor_uscc", "施工总承包单位统一社会信用代码", False, "uscc", "可不填；" + _U),
    _f("project_name", "工程名称", True, "text", "施工许可证上的工程名称"),
    _f("project_address", "工程项目地址", True, "text", "工程项目的详细地址", max_length=300),
    _f("project_division", "工程项目地址所在区/县级区划代码", True, "division",
       "6 位行政区划代码（见代码表），须在本发证机关的管辖范围内，例如 140105（太原市小店区）", max_length=6),
    _f("location", "安装位置", True, "text",
       "CGCS2000 经纬度“经度,纬度”，英文逗号，至少 4 位小数，须在山西省范围内，例如 112.5492,37.8570", max_length=50),
    _f("permit_number", "建筑工程施工许可证编号", True, "text",
       "18 位数字：6 位区划代码 + 8 位报建日期 YYYYMMDD + 2 位当日序号 + 2 位专业分类代码（01～19，见代码表）",
       max_length=18),
    *_business(),
])

FIELD_BY_KEY = {f.key: f for f in FIELDS}
BUSINESS_KEYS: tuple[str, ...] = tuple(f.key for f in FIELDS if f.crane_type)
ATTACHMENTS_FIELD = FieldDef("attachments", "附件", False, "text",
                             "压缩包“附件”文件夹中的文件名（PDF/JPG/PNG），多个用英文分号 ; 分隔，例如 使用登记申请表.pdf;现场照片.jpg",
                             max_length=2000)
SEQ_FIELD = FieldDef("seq", "序号", True, "text", "正整数，每行唯一；人员信息表用同一序号关联到本行证照", max_length=10)
# The same column on 人员信息 is a reference, not a key: many persons carry the 序号 of their certificate row.
PERSON_SEQ_FIELD = FieldDef("seq", "序号", True, "text",
                            "该人员所属证照在“证照信息”表中的序号（引用证照信息表的行）；同一证照的多名人员填写相同序号",
                            max_length=10)

PERSON_FIELDS: tuple[FieldDef, ...] = (
    _f("type_code", "人员类型代码", True, "choice",
       "1101～1113（见代码表），可从下拉列表选择；新发证须至少包含 1101～1109 和 1113 各一人", max_length=4),
    _f("name", "姓名", True, "text", "人员姓名", max_length=50),
    _f("id_number", "身份证号码", True, "text", "18 位居民身份证号码，末位可为大写 X；请保持单元格为文本格式", max_length=18),
    _f("cert_no", "证书编号", False, "text", "特种作业操作资格证书编号，人员类型 1108、1109、1113 必填", max_length=50),
    _f("phone", "联系电话", False, "text", "手机或固定电话", max_length=30),
)
PERSON_FIELD_BY_KEY = {f.key: f for f in PERSON_FIELDS}

# The template's example row (序号 1): valid values, ignored by the importer while unchanged.
EXAMPLE_SEQ = "1"
EXAMPLE_CERTIFICATE: dict[str, str] = {
    "holder_name": "示例：山西某某建筑工程有限公司",
    "holder_uscc": "91140105MA0000001E",
    "authority_name": "太原市住房和城乡建设局",
    "authority_uscc": "11140100MB0000002K",
    "issue_date": "2025-06-01",
    "valid_until": "",
    "crane_type": "T",
    "model": "QTZ80(TC6010)",
    "record_number": "晋AA-T00001",
    "manufacturer": "示例：某某建筑机械有限公司",
    "serial_number": "TC6010-2021-0088",
    "manufacture_date": "2021-03-15",
    "owner_name": "示例：山西某某机械租赁有限公司",
    "owner_uscc": "91140105MA0000002H",
    "installer_name": "示例：山西某某设备安装有限公司",
    "installer_uscc": "91140105MA0000003L",
    "supervision_name": "示例：山西某某工程监理有限公司",
    "supervision_uscc": "91140105MA0000004P",
    "contractor_name": "",
    "contractor_uscc": "",
    "project_name": "示例：某某小区 1# 楼工程",
    "project_address": "山西省太原市小店区某某路 1 号",
    "project_division": "140105",
    "location": "112.5492,37.8570",
    "permit_number": "140105202501150101",
    "tower_jib_length": "60",
    "tower_max_load": "6",
    "tower_max_height": "100",
    "tower_tip_load": "1",
    "hoist_rated_load": "",
    "hoist_rated_speed": "",
    "lift_rated_load": "",
    "lift_rated_speed": "",
    "attachments": "",
}
EXAMPLE_PERSONS: tuple[dict[str, str], ...] = tuple(
    {"type_code": code, "name": f"示例{name}", "id_number": idno,
     "cert_no": cert, "phone": "13800000000"}
    for code, name, idno, cert in (
        ("1101", "张一", "140105198001010011", ""),
        ("1102", "张二", "14010519800101002X", ""),
        ("1103", "张三", "140105198001010038", ""),
        ("1104", "张四", "140105198001010046", ""),
        ("1105", "张五", "140105198001010054", ""),
        ("1106", "张六", "140105198001010062", ""),
        ("1107", "张七", "140105198001010070", ""),
        ("1108", "张八", "140105198001010089", "晋A042025000001"),
        ("1109", "张九", "140105198001010097", "晋A012025000001"),
        ("1113", "张十", "14010519800101010X", "晋A032025000001"),
    ))
