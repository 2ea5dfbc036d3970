"""任务管理 exports of an import: the numbers it issued (.xlsx) and a zip of its signed PDFs (streamed)."""
import io
import zipfile

import openpyxl
import pytest
import sqlalchemy as sa

from portal.audit import AuditEntry
from portal.background.models import Task
from portal.extensions import db
from tests.delegation.helpers import datong_certificate, taiyuan_certificate, user


@pytest.fixture(autouse=True)
def no_background_jobs(monkeypatch):
    monkeypatch.setattr("portal.background.queues.enqueue", lambda *args, **kwargs: None)


@pytest.fixture
def imported(demo):
    """An import task of clerk that issued three certificates (two sealed), and one issued outside it."""
    clerk = user("clerk")
    task = Task(kind="import", file_name="太原.zip", operator_id=clerk.id, authority_id=clerk.authorities[0].id,
                state="done", total=3, done=3)
    db.session.add(task)
    db.session.commit()
    certs = [taiyuan_certificate(1, seal=True), taiyuan_certificate(2, seal=True), taiyuan_certificate(3)]
    for n, cert in enumerate(certs, 1):
        cert.import_task_id, cert.import_row_key = task.id, f"row-{n}"
    taiyuan_certificate(4, seal=True)
    db.session.commit()
    return task, certs


def test_the_numbers_an_import_issued_as_xlsx(imported, login_as):
    task, certs = imported
    response = login_as("clerk").get(f"/tasks/{task.id}/issued-numbers")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "private, no-store"
    rows = list(openpyxl.load_workbook(io.BytesIO(response.data), read_only=True).active.iter_rows(values_only=True))
    assert rows[0][0] == "证书编号"
    assert [r[0] for r in rows[1:]] == [c.number for c in certs]
    assert [r[-1] for r in rows[1:]] == ["已签章", "已签章", "生成中"]
    assert db.session.scalar(sa.select(AuditEntry).filter_by(action="task.export_numbers")).target == f"任务 {task.id}"


def test_a_zip_of_the_signed_pdfs_of_the_import(imported, login_as):
    task, certs = imported
    response = login_as("supervisor").get(f"/tasks/{task.id}/signed-pdfs")
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Cache-Control"] == "private, no-store" and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    assert archive.testzip() is None
    assert sorted(archive.namelist()) == sorted(f"{c.number}.pdf" for c in certs[:2])  # the unsigned one is not there
    assert archive.read(f"{certs[0].number}.pdf").startswith(b"%PDF")
    assert db.session.scalar(sa.select(AuditEntry).filter_by(action="task.export_pdfs")) is not None


def test_another_authoritys_import_cannot_be_exported(imported, login_as):
    task, _ = imported
    client = login_as("datong")
    datong_certificate(1)
    for url in (f"/tasks/{task.id}/issued-numbers", f"/tasks/{task.id}/signed-pdfs"):
        assert client.get(url).status_code == 404
    assert db.session.scalar(sa.select(AuditEntry).filter(AuditEntry.action.like("task.export%"))) is None


def test_the_detail_page_offers_both_exports(imported, login_as):
    task, _ = imported
    body = login_as("clerk").get(f"/tasks/{task.id}").get_data(as_text=True)
    assert f"/tasks/{task.id}/issued-numbers" in body and f"/tasks/{task.id}/signed-pdfs" in body
