"""公开查询 forms: the uploaded file to verify (its CSRF token and presence; the view bounds its size)."""
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired


class VerifyFileForm(FlaskForm):
    file = FileField("电子证照文件", validators=[FileRequired("请选择要核验的电子证照文件（PDF 或 OFD 格式）")])
