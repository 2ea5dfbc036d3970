"""The benchmarks' synthetic import: valid Taiyuan tower-crane rows with 12 people each, and its zip.

Shared by bench_standard.py (rules and check speed) and bench_import.py (check + store, PDFs).
"""
import io
import zipfile

CODES = ("1101", "1102", "1103", "1104", "1105", "1106", "1107", "1108", "1109", "1113", "1110", "1111")
PLATFORM_PEOPLE = {  # seeded in the simulator's registry (tests/factories.py)
    "1108": {"name": "王建国", "id_number": "140105198503126233", "cert_no": "晋A042023000277"},
    "1109": {"name": "李志强", "id_number": "140105198207213439", "cert_no": "晋A052022000837"},
    "1113": {"name": "张海军", "id_number": "140106197911054170", "cert_no": "晋A092023000838"},
}


def _id(n, region="140105"):
    from portal.standard.values import IdNumber
    body = f"{region}{1960 + n % 40}{1 + n % 12:02d}{1 + n % 28:02d}{n % 1000:03d}"
    return body + IdNumber.check_digit(body)


def _uscc(n):
    from portal.standard.values import Uscc
    body = f"91140105MA{n:07d}"
    return body + Uscc.check_char(body)


EXTRA_CODES = ("1101", "1102", "1103", "1104", "1105", "1106", "1107", "1110", "1111", "1112")  # no R9 look-up


def make_row(i, platform_people=False, persons=12, pad=""):
    """Row i: distinct 备案编号 晋AA-T{i+1}, companies cycling over 50, 12 persons with unique IDs — or,
    with platform_people, the 1108/1109/1113 persons the platform simulator knows (so R9 passes). More
    ``persons`` add people of the types the platform does not check; ``pad`` lengthens the 工程项目地址."""
    cert = {
        "holder_name": f"山西测试建筑工程有限公司{i % 50}", "holder_uscc": _uscc(i % 50),
        "authority_name": "太原市住房和城乡建设局", "authority_uscc": "11140100MB0000002K", "issue_date": "2025-06-01",
        "valid_until": "", "crane_type": "T", "model": "QTZ80(TC6010)", "record_number": f"晋AA-T{i + 1:05d}",
        "manufacturer": "测试建筑机械有限公司", "serial_number": f"TC-{i:06d}", "manufacture_date": "2021-03-15",
        "owner_name": "山西测试机械租赁有限公司", "owner_uscc": _uscc(100 + i % 50),
        "installer_name": "山西测试设备安装有限公司", "installer_uscc": _uscc(200 + i % 50),
        "supervision_name": "山西测试工程监理有限公司", "supervision_uscc": _uscc(300 + i % 50),
        "contractor_name": "", "contractor_uscc": "", "project_name": f"测试工程{i}",
        "project_address": "山西省太原市小店区测试路 1 号" + pad, "project_division": "140105",
        "location": f"112.{5000 + i % 4000:04d},37.8570", "permit_number": "140105202501150101",
        "tower_jib_length": "60", "tower_max_load": "6", "tower_max_height": "100", "tower_tip_load": "1.3",
        "hoist_rated_load": "", "hoist_rated_speed": "", "lift_rated_load": "", "lift_rated_speed": "",
        "attachments": "",
    }
    people = []
    for k, code in enumerate(CODES):
        person = {"type_code": code, "name": f"人员{i}-{k}", "id_number": _id(i * 12 + k),
                  "cert_no": f"晋A01{i:06d}{k:02d}" if code in ("1108", "1109", "1113") else "",
                  "phone": "13800000000"}
        if platform_people:
            person.update(PLATFORM_PEOPLE.get(code, {}))
        people.append(person)
    for k in range(persons - len(CODES)):
        people.append({"type_code": EXTRA_CODES[k % len(EXTRA_CODES)], "name": f"人员{i}-x{k}",
                       "id_number": _id(i * 50 + k, "140106"), "cert_no": "", "phone": "13800000000"})
    return cert, people


def build_zip(path, rows, platform_people=False, persons=12, pad=""):
    """Write an import zip of `rows` rows in the template's layout (openpyxl write-only); `persons` and `pad`
    as for make_row."""
    from openpyxl import Workbook

    from portal.standard.fields import PERSON_FIELDS
    from portal.standard.workbook import CERT_COLUMNS, CERT_HEADERS, PERSON_HEADERS, TEMPLATE_XLSX_NAME
    wb = Workbook(write_only=True)
    cs, ps = wb.create_sheet("证照信息"), wb.create_sheet("人员信息")
    cs.append(list(CERT_HEADERS))
    ps.append(list(PERSON_HEADERS))
    for i in range(rows):
        cert, people = make_row(i, platform_people, persons, pad)
        seq = i + 2  # 序号 1 is the template's example
        cs.append([seq] + [cert.get(f.key, "") for f in CERT_COLUMNS[1:]])
        for p in people:
            ps.append([seq] + [p[f.key] for f in PERSON_FIELDS])
    buf = io.BytesIO()
    wb.save(buf)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(TEMPLATE_XLSX_NAME, buf.getvalue())
        zf.writestr("附件/", b"")
