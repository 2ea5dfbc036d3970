"""The upload form: one file (the filled template zip) and the CSRF token."""
from flask_wtf import FlaskForm
from flask_wtf.file import FileField


class ImportUploadForm(FlaskForm):
    """批量导入 upload; the zip itself is judged by portal.standard.workbook, not by the form."""
    file = FileField("导入文件（zip 压缩包）")
