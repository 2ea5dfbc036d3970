"""任务管理: the scoped list, 查看, the self-stopping status fragment and 下载 of the failure report."""
import io

import openpyxl
import pytest

from portal.auth.models import User
from portal.background.models import Task
from portal.certificates.authorities import Authority
from portal.clock import utcnow
from portal.extensions import db
from portal.imports.services import start_import
from tests.imports.helpers import import_zip, mixed_rows


def _user(username):
    return db.session.scalar(db.select(User).filter_by(username=username))


def _task(username, file_name, state="done", kind="import", **fields):
    user = _user(username) if username else None
    authority = user.authorities[0] if user else None
    task = Task(kind=kind, file_name=file_name, operator_id=user.id if user else None,
                authority_id=authority.id if authority else None, state=state, total=10, done=4 if state == "running" else 10,
                started_at=utcnow(), **fields)
    db.session.add(task)
    db.session.commit()
    return task


@pytest.fixture
def tasks(demo):
    """A task of clerk, clerk2 (both Taiyuan) and datong, and a report run of the system."""
    return {"clerk": _task("clerk", "太原一.zip"), "clerk2": _task("clerk2", "太原二.zip"),
            "datong": _task("datong", "大同.zip"), "system": _task(None, "", kind="report", title="上报住建部")}


@pytest.mark.parametrize("username,visible", [
    ("clerk", {"clerk"}), ("clerk2", {"clerk2"}), ("supervisor", {"clerk", "clerk2"}),
    ("datong", {"datong"}), ("admin", {"clerk", "clerk2", "datong", "system"})])
def test_each_role_sees_its_own_tasks(tasks, login_as, username, visible):
    page = login_as(username).get("/tasks/").get_data(as_text=True)
    assert {name for name, task in tasks.items() if f'id="task-{task.id}"' in page} == visible


def test_a_report_run_shows_the_system_as_operator(tasks, login_as):
    page = login_as("admin").get("/tasks/?kind=report").get_data(as_text=True)
    assert "上报住建部" in page and "系统" in page and "太原一.zip" not in page


@pytest.mark.parametrize("username,status", [("clerk", 200), ("supervisor", 200), ("admin", 200),
                                             ("clerk2", 404), ("datong", 404)])
def test_another_users_or_authoritys_task_is_a_404(tasks, login_as, username, status):
    client = login_as(username)
    task_id = tasks["clerk"].id
    for url in (f"/tasks/{task_id}", f"/tasks/{task_id}/status"):
        assert client.get(url).status_code == status


def test_the_list_is_newest_first_filtered_and_paginated(demo, login_as):
    for n in range(25):
        _task("clerk", f"批次{n:02d}.zip", state="failed" if n == 3 else "done")
    client = login_as("clerk")
    page = client.get("/tasks/").get_data(as_text=True)
    assert page.index("批次24.zip") < page.index("批次23.zip") and "批次04.zip" not in page and "共 25 条" in page
    assert "批次04.zip" in client.get("/tasks/?page=2").get_data(as_text=True)
    failed = client.get("/tasks/?state=failed").get_data(as_text=True)
    assert "批次03.zip" in failed and "批次04.zip" not in failed
    named = client.get("/tasks/?file_name=批次1").get_data(as_text=True)
    assert "共 10 条" in named and "批次20.zip" not in named


def test_the_filter_answers_htmx_with_the_rows_fragment_only(tasks, login_as):
    response = login_as("clerk").get("/tasks/?file_name=太原", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert '<div id="task-rows">' in body and "<html" not in body and "HX-Request" in response.headers["Vary"]


def test_a_running_task_polls_itself_and_a_finished_one_stops(demo, login_as):
    running = _task("clerk", "进行中.zip", state="running")
    client = login_as("clerk")
    fragment = client.get(f"/tasks/{running.id}/status", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and f'hx-get="/tasks/{running.id}/status' in fragment
    assert 'hx-trigger="load delay:1s"' in fragment and 'hx-swap="outerHTML"' in fragment
    assert 'max="100" value="40"' in fragment and "4</span> / <span class=\"task-total\">10" in fragment
    listing = client.get("/tasks/").get_data(as_text=True)
    assert f'id="task-status-{running.id}"' in listing and 'hx-trigger="load delay:1s"' in listing
    running.state, running.done, running.succeeded, running.failed = "done", 10, 8, 2
    db.session.commit()
    fragment = client.get(f"/tasks/{running.id}/status", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "hx-get" not in fragment and "hx-trigger" not in fragment
    assert 'class="task-succeeded">8<' in fragment and 'class="task-failed">2<' in fragment


def test_the_finished_detail_page_reloads_once_to_show_the_row_errors(demo, login_as):
    task = _task("clerk", "完成.zip")
    client = login_as("clerk")
    response = client.get(f"/tasks/{task.id}/status?view=detail&rows=running", headers={"HX-Request": "true"})
    assert response.headers.get("HX-Refresh") == "true"
    # a poll of the counters after the reload (rows already ended) does not reload again
    again = client.get(f"/tasks/{task.id}/status?view=detail", headers={"HX-Request": "true"})
    assert "HX-Refresh" not in again.headers


@pytest.fixture
def imported(demo):
    """A finished import of clerk with 3 issued and 2 failed rows."""
    task = start_import(_user("clerk"), "混合.zip", import_zip(mixed_rows()))
    db.session.expire_all()
    return db.session.get(Task, task.id)


def test_the_detail_shows_counts_row_errors_and_issued_certificates_with_their_pdf_state(imported, login_as):
    page = login_as("clerk").get(f"/tasks/{imported.id}").get_data(as_text=True)
    assert "混合.zip" in page and "太原录证员" in page and 'class="task-succeeded">3<' in page
    assert 'id="row-errors"' in page and "中文逗号" in page and "人员信息表第" in page
    assert "140105T（2025）0000003" in page and "已签章" in page
    assert 'hx-boost="false"' in page and f'/tasks/{imported.id}/failure-report' in page


@pytest.mark.parametrize("username,status", [("clerk", 200), ("supervisor", 200), ("admin", 200),
                                             ("clerk2", 404), ("datong", 404)])
def test_failure_report_download_permissions(imported, login_as, username, status):
    response = login_as(username).get(f"/tasks/{imported.id}/failure-report")
    assert response.status_code == status
    if status == 200:
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment") and "filename*=UTF-8''" in disposition
        assert f"_{imported.id}.xlsx" in disposition and "%E5%AF%BC%E5%85%A5" in disposition  # 导入失败数据_<id>
        wb = openpyxl.load_workbook(io.BytesIO(response.data))
        assert wb["证照信息"].max_row == 3


def test_a_task_without_failures_has_no_report_to_download(demo, login_as):
    task = _task("clerk", "全部成功.zip")
    client = login_as("clerk")
    assert client.get(f"/tasks/{task.id}/failure-report").status_code == 404
    assert "下载失败数据" not in client.get(f"/tasks/{task.id}").get_data(as_text=True)


def test_delegates_cannot_open_task_management(tasks, login_as):
    assert login_as("delegate").get("/tasks/").status_code == 403


def test_row_errors_are_paginated_so_the_page_stays_small_for_any_file(demo, login_as):
    import json

    from portal import storage
    from portal.imports.services import errors_path
    task = _task("clerk", "一万行.zip", result_path="reports/big.xlsx", failed=10_000)
    storage.write_bytes(task.result_path, b"xlsx")
    rows = [{"row": str(n), "excel_row": n + 1, "errors": [
        {"rule": "R6", "field": "安装位置", "message": f"第{n}行错误{k}"} for k in range(15 if n == 2 else 1)]}
        for n in range(1, 10_001)]
    storage.write_bytes(errors_path(task.id), json.dumps(rows, ensure_ascii=False).encode())
    client = login_as("supervisor")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert len(page) < 100_000 and page.count("<tr><td>") == 50
    assert "失败明细（10000 行）" in page and "第 1 / 200 页" in page and f"/tasks/{task.id}/failure-report" in page
    assert "第2行错误9" in page and "第2行错误10" not in page and "另有 5 条错误" in page and "第51行错误0" not in page
    fragment = client.get(f"/tasks/{task.id}?errors_page=200", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert '<section class="panel" id="row-errors">' in fragment
    assert "<html" not in fragment and "第10000行错误0" in fragment and "第9950行错误0" not in fragment
    assert "上一页" in fragment and "下一页" not in fragment
    assert "第1行错误0" in client.get(f"/tasks/{task.id}?errors_page=0").get_data(as_text=True)  # clamped


def test_the_counters_go_on_polling_until_every_certificate_is_sealed_and_sent(demo, login_as):
    from tests.delegation.helpers import taiyuan_certificate
    task = _task("clerk", "计数.zip")
    certs = [taiyuan_certificate(n) for n in (1, 2, 3)]
    for cert in certs:
        cert.import_task_id = task.id
    certs[0].pdf_state, certs[0].report_state = "signed", "collected"
    certs[1].pdf_state, certs[1].report_state = "signed", "failed"
    certs[2].pdf_state, certs[2].report_state = "pending", "pending"
    db.session.commit()
    client = login_as("clerk")

    def fragment():
        return client.get(f"/tasks/{task.id}/status?view=detail", headers={"HX-Request": "true"}).get_data(as_text=True)
    body = fragment()
    assert 'class="pdf-signed">2<' in body and 'class="pdf-pending">1<' in body
    assert 'class="report-collected">1<' in body and 'class="report-failed">1<' in body
    assert 'class="report-pending">1<' in body and 'hx-trigger="load delay:3s"' in body and "正在后台签章" in body
    certs[2].pdf_state, certs[2].report_state = "signed", "reported"
    db.session.commit()
    body = fragment()
    assert 'class="pdf-signed">3<' in body and 'class="pdf-pending">0<' in body and 'class="report-reported">1<' in body
    assert "hx-trigger" not in body  # all sealed and sent: nothing left to wait for
    detail = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'class="pdf-signed">3<' in detail


def test_row_errors_cite_the_failure_reports_rows_as_well_as_the_uploaded_files(imported, login_as):
    import re
    client = login_as("clerk")
    page = client.get(f"/tasks/{imported.id}").get_data(as_text=True)
    assert "失败数据表格行号" in page and "原文件行号" in page
    wb = openpyxl.load_workbook(io.BytesIO(client.get(f"/tasks/{imported.id}/failure-report").data))
    certs, persons = wb["证照信息"], wb["人员信息"]
    rows = re.findall(r'<tr><td>(\d+)</td>\s*<td class="report-row">(\d+)</td><td>(\d+)</td>', page)
    assert {seq for seq, _, _ in rows} == {"3", "5"}
    for seq, report_row, excel_row in rows:
        assert str(certs.cell(int(report_row), 1).value) == seq  # that row of the report is this 序号
        assert int(excel_row) == int(seq) + 1  # the uploaded file: header, then 序号 1 (example) at row 2
    cited = re.search(r"失败数据表格第 (\d+) 行，原文件第 (\d+) 行", page)
    report_row, excel_row = map(int, cited.groups())
    assert report_row != excel_row
    wrong_id = [c.value for c in persons[report_row]]
    assert "140105198501010019" in wrong_id and str(wrong_id[0]) == "5"
