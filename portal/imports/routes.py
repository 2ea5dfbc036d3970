"""批量导入: template download, upload, and the import task it starts."""
import io

from flask import redirect, render_template, request, send_file, url_for
from flask_login import current_user

from portal.access import area_required
from portal.imports import bp
from portal.imports.forms import ImportUploadForm
from portal.imports.services import import_authority, import_limits, start_import
from portal.standard.workbook import TEMPLATE_ZIP_NAME, ImportRefused, write_template_zip


def _page(form, error=None, status=200):
    return render_template("imports/index.html", form=form, error=error, authority=import_authority(current_user),
                           template_name=TEMPLATE_ZIP_NAME, limits=import_limits()), status


@bp.route("/", methods=["GET"])
@area_required("entry")
def index():
    """批量导入 page: 导出 the template, choose the filled zip, 上传."""
    return _page(ImportUploadForm())


@bp.route("/template", methods=["GET"])
@area_required("entry")
def template():
    """导出: the import template zip."""
    buffer = io.BytesIO()
    write_template_zip(buffer)
    buffer.seek(0)
    return send_file(buffer, mimetype="application/zip", as_attachment=True, download_name=TEMPLATE_ZIP_NAME,
                     max_age=0)


@bp.route("/", methods=["POST"])
@area_required("entry")
def upload():
    """上传: check the zip at once; a refused file shows why (422, nothing stored), else the task starts."""
    form = ImportUploadForm()
    if not form.validate_on_submit():
        return _page(form, "页面已过期，请刷新后重新上传", 400)
    upload_file = request.files.get(form.file.name)
    if upload_file is None or not upload_file.filename:
        return _page(form, "请先选择要上传的导入压缩包（.zip）", 422)
    try:
        task = start_import(current_user, upload_file.filename, upload_file.read())
    except ImportRefused as refused:
        return _page(form, refused.message, 422)
    return redirect(url_for("tasks.detail", task_id=task.id), 303)
