"""Import zips built by code: the exported template filled with rows by header name; posting them."""
import io

from portal import storage
from portal.extensions import db
from portal.standard.workbook import TEMPLATE_XLSX_NAME
from portal.background.models import Task
from tests.factories import issuable_certificate, issuable_persons
from tests.standard.factories import filled_workbook, zip_bytes


def import_zip(rows, attachments=None):
    """An upload zip: the filled workbook plus an 附件/ folder (name → bytes)."""
    entries = {TEMPLATE_XLSX_NAME: filled_workbook(rows), "附件/": b""}
    entries.update({f"附件/{name}": data for name, data in (attachments or {}).items()})
    return zip_bytes(entries)


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


def post_upload(client, data, name="导入数据.zip"):
    """上传 on the 批量导入 page."""
    return client.post("/entry/crane/import/", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def nothing_stored():
    """No import task and no stored upload: what a refused file leaves."""
    return (db.session.scalar(db.select(db.func.count(Task.id)).where(Task.kind == "import")) == 0
            and not (storage.root() / "imports").exists())
