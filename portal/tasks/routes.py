"""任务管理: 已执行的任务 list, 查看 one task, its live status fragment and 下载 of the failure report."""
from flask import abort, make_response, render_template, request
from flask_login import current_user

from portal import audit, downloads, xlsx_export
from portal.access import area_required, may
from portal.background.models import KIND_NAMES, STATE_NAMES, Task
from portal.certificates.models import PDF_STATE_NAMES, REPORT_STATE_NAMES
from portal.extensions import db
from portal.htmx import is_htmx, render_view
from portal.paging import page_arg
from portal.tasks import bp
from portal.tasks.services import certificate_progress, failure_report_file, issued_numbers_sheet, list_tasks, \
    row_errors_page, signed_pdf_members, task_certificates, task_filters


def _task_or_404(task_id, action="view"):
    """A task the current user may see; another user's or authority's id is a 404, not a 403."""
    task = db.session.get(Task, task_id)
    if task is None or not may(current_user, action, task):
        abort(404)
    return task


def _status_context(task):
    return {"task": task, "has_report": failure_report_file(task) is not None, "progress": certificate_progress(task),
            "pdf_names": PDF_STATE_NAMES, "report_names": REPORT_STATE_NAMES}


@bp.route("/")
@area_required("tasks")
def index():
    """已执行的任务: scoped, newest first, filterable by kind / state / file name, paginated."""
    filters = task_filters(request.args)
    pagination = list_tasks(current_user, filters, page_arg(request.args))
    reports = {t.id: failure_report_file(t) is not None for t in pagination.items}
    return render_view("tasks/index.html", "tasks/_rows.html", pagination=pagination, filters=filters,
                       reports=reports, kinds=KIND_NAMES, states=STATE_NAMES)


@bp.route("/<int:task_id>")
@area_required("tasks")
def detail(task_id):
    """查看: the task's facts, live progress, row errors (a page of them) and the certificates it issued."""
    task = _task_or_404(task_id)
    errors = row_errors_page(task, request.args.get("errors_page", 1, type=int))
    certificates, pdf_counts = ([], {}) if is_htmx() else task_certificates(task)  # htmx: the errors' pager
    return render_view("tasks/detail.html", "tasks/_row_errors.html", errors=errors,
                       certificates=certificates, pdf_counts=pdf_counts, **_status_context(task))


@bp.route("/<int:task_id>/status")
@area_required("tasks")
def status(task_id):
    """The progress fragment: polls itself while the task is queued or running, then shows the counts."""
    task = _task_or_404(task_id)
    view = "detail" if request.args.get("view") == "detail" else ""
    response = make_response(render_template("tasks/_task_status.html", view=view, **_status_context(task)))
    response.headers["Cache-Control"] = "no-store"
    # The rows have just ended (the poll came from a fragment drawn while they ran): the finished detail page
    # also lists row errors and certificates, so it reloads once; the counters then go on polling in place.
    rows_just_ended = request.args.get("rows") == "running" and not task.is_active
    if view and rows_just_ended and request.headers.get("HX-Request") == "true":
        response.headers["HX-Refresh"] = "true"
    return response


@bp.route("/<int:task_id>/failure-report")
@area_required("tasks")
def failure_report(task_id):
    """下载: the failure report .xlsx (failed rows + 错误信息), re-importable once fixed."""
    task = _task_or_404(task_id, "download")
    path = failure_report_file(task)
    if path is None:
        abort(404)
    return downloads.private_file(path, xlsx_export.XLSX, f"导入失败数据_{task.id}.xlsx")


def _import_task_for_export(task_id, what):
    """An import task the user may download from, with the export written to the audit log."""
    task = _task_or_404(task_id, "download")
    if task.kind != "import":
        abort(404)
    audit.record(what, actor=current_user, target=f"任务 {task.id}", detail=task.file_name or "")
    db.session.commit()
    return task


@bp.route("/<int:task_id>/issued-numbers")
@area_required("tasks")
def issued_numbers(task_id):
    """导出证书编号: the numbers this import issued, one row each, as .xlsx."""
    task = _import_task_for_export(task_id, "task.export_numbers")
    return downloads.private_xlsx([issued_numbers_sheet(task)], f"导入任务{task.id}_证书编号.xlsx")


@bp.route("/<int:task_id>/signed-pdfs")
@area_required("tasks")
def signed_pdfs(task_id):
    """下载电子证照: a zip of this import's signed PDFs, streamed as it is written."""
    task = _import_task_for_export(task_id, "task.export_pdfs")
    return downloads.private_zip(signed_pdf_members(task), f"导入任务{task.id}_电子证照.zip")
