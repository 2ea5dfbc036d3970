"""Import zips built by code: the exported template filled with rows by header name."""
import io
import zipfile

import openpyxl

from portal.standard.workbook import CERT_COLUMNS, PERSON_COLUMNS, TEMPLATE_XLSX_NAME, template_workbook_bytes
from tests.factories import issuable_certificate, issuable_persons


def workbook_bytes(rows):
    """The template with (序号, certificate values, persons) rows appended (example row kept, so ignored)."""
    wb = openpyxl.load_workbook(io.BytesIO(template_workbook_bytes()))
    certs, people = wb["证照信息"], wb["人员信息"]
    for seq, values, persons in rows:
        certs.append([seq] + [values.get(f.key, "") for f in CERT_COLUMNS[1:]])
        for person in persons:
            people.append([seq] + [person.get(f.key, "") for f in PERSON_COLUMNS[1:]])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def zip_of(entries):
    """A zip of {name: bytes}."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return out.getvalue()


def import_zip(rows, attachments=None):
    """An upload zip: the filled workbook plus an 附件/ folder (name → bytes)."""
    entries = {TEMPLATE_XLSX_NAME: workbook_bytes(rows), "附件/": b""}
    entries.update({f"附件/{name}": data for name, data in (attachments or {}).items()})
    return zip_of(entries)


def valid_rows(first=1, count=3):
    """`count` issuable Taiyuan rows, 备案编号 晋AA-T0000n and 序号 n + 1 (序号 1 is the template's example)."""
    return [(n + 1, issuable_certificate(n), issuable_persons()) for n in range(first, first + count)]


def mixed_rows():
    """Three valid rows (序号 2, 4, 6) and two rows that break several rules each (序号 3, 5)."""
    bad_location = issuable_certificate(2, location="112.5492，37.8570", permit_number="14010520250115")
    broken_people = issuable_persons()
    broken_people[0]["id_number"] = "140105198501010019"  # wrong check digit
    broken_people = [p for p in broken_people if p["type_code"] != "1105"]  # R8: a 1105 is required
    datong_site = issuable_certificate(4, project_division="140213", holder_uscc="91140105MA0CRAN0XX")
    return [(2, issuable_certificate(1), issuable_persons()), (3, bad_location, issuable_persons()),
            (4, issuable_certificate(3), issuable_persons()), (5, datong_site, broken_people),
            (6, issuable_certificate(5), issuable_persons())]
