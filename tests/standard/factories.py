"""Valid test data for the standard: a Taiyuan 140105 tower crane issued 2025-06-01 with one person of each
required type, and import zips filled by code. Other test suites import these; keep them valid under
``CheckContext(today=TODAY)``."""
from __future__ import annotations

import io
import zipfile
from datetime import date

import openpyxl

from portal.standard.values import IdNumber, Uscc
from portal.standard.workbook import CERT_COLUMNS, PERSON_COLUMNS, template_workbook_bytes

TODAY = date(2025, 6, 2)
AUTHORITY_USCC = "11140100MB0000002K"  # demo 太原市住房和城乡建设局
TAIYUAN_JURISDICTION = frozenset({"140100", "140105", "140106", "140107", "140108", "140109", "140110",
                                  "140121", "140122", "140123", "140171", "140181"})


def make_uscc(body17: str) -> str:
    """A valid USCC from its first 17 characters."""
    return body17 + Uscc.check_char(body17)


def make_id(first17: str) -> str:
    """A valid ID number from its first 17 digits."""
    return first17 + IdNumber.check_digit(first17)


def valid_certificate(**overrides) -> dict:
    """Raw field values (strings, as a form posts them) of a valid certificate; ``overrides`` replace keys."""
    values = {
        "holder_name": "山西测试建筑工程有限公司",
        "holder_uscc": make_uscc("91140105MA0CRAN01"),
        "authority_name": "太原市住房和城乡建设局",
        "authority_uscc": AUTHORITY_USCC,
        "issue_date": "2025-06-01",
        "valid_until": "",
        "crane_type": "T",
        "model": "QTZ80(TC6010)",
        "record_number": "晋AA-T00001",
        "manufacturer": "测试建筑机械有限公司",
        "serial_number": "TC6010-2021-0088",
        "manufacture_date": "2021-03-15",
        "owner_name": "山西测试机械租赁有限公司",
        "owner_uscc": make_uscc("91140105MA0CRAN02"),
        "installer_name": "山西测试设备安装有限公司",
        "installer_uscc": make_uscc("91140105MA0CRAN03"),
        "supervision_name": "山西测试工程监理有限公司",
        "supervision_uscc": make_uscc("91140105MA0CRAN04"),
        "contractor_name": "",
        "contractor_uscc": "",
        "project_name": "测试小区 1# 楼工程",
        "project_address": "山西省太原市小店区测试路 1 号",
        "project_division": "140105",
        "location": "112.5492,37.8570",
        "permit_number": "140105202501150101",
        "tower_jib_length": "60",
        "tower_max_load": "6",
        "tower_max_height": "100",
        "tower_tip_load": "1.3",
        "hoist_rated_load": "",
        "hoist_rated_speed": "",
        "lift_rated_load": "",
        "lift_rated_speed": "",
    }
    values.update(overrides)
    return values


PERSON_CODES = ("1101", "1102", "1103", "1104", "1105", "1106", "1107", "1108", "1109", "1113")


def valid_persons() -> list[dict]:
    """One person of each required type (1101–1109, 1113) with valid ID numbers and 证书编号 where needed."""
    people = []
    for n, code in enumerate(PERSON_CODES, start=1):
        people.append({
            "type_code": code,
            "name": f"测试{n}号",
            "id_number": make_id(f"1401051985{n:02d}01{n:03d}"),
            "cert_no": f"晋A0{n % 10}2025{n:06d}" if code in ("1108", "1109", "1113") else "",
            "phone": f"1380000{n:04d}",
        })
    return people


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def filled_workbook(rows: list[tuple[int, dict, list[dict]]], xlsx: bytes | None = None) -> bytes:
    """Fill the template (keeping its example row) with (序号, certificate, persons) rows, by header name."""
    wb = openpyxl.load_workbook(io.BytesIO(xlsx or template_workbook_bytes()))
    cs, ps = wb["证照信息"], wb["人员信息"]
    for seq, cert, persons in rows:
        cs.append([seq] + [cert.get(f.key, "") for f in CERT_COLUMNS[1:]])
        for p in persons:
            ps.append([seq] + [p.get(f.key, "") for f in PERSON_COLUMNS[1:]])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def edit_sheet_xml(xlsx: bytes, sheet: str, edit) -> bytes:
    """The workbook with the XML of one sheet (by name) passed through ``edit`` (str → str): hostile
    workbooks made by code."""
    from portal.standard.xlsx_scan import sheet_members
    source = zipfile.ZipFile(io.BytesIO(xlsx))
    member = sheet_members(source)[sheet]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in source.infolist():
            data = source.read(info)
            zf.writestr(info.filename, edit(data.decode("utf-8")).encode("utf-8") if info.filename == member else data)
    return out.getvalue()


def with_rows(xlsx: bytes, sheet: str, rows_xml: str) -> bytes:
    """The workbook with raw ``<row>`` XML appended to one sheet's data, e.g. a far cell:
    ``'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'``."""
    return edit_sheet_xml(xlsx, sheet, lambda xml: xml.replace("</sheetData>", rows_xml + "</sheetData>", 1))


def inline_cell(ref: str, text: str) -> str:
    """One text cell as raw sheet XML."""
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'
