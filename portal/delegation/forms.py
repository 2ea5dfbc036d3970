"""委托授权 forms: types and lengths only; every rule about grants lives in delegation.services."""
from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField, TextAreaField, widgets
from wtforms.validators import Length, Optional

from portal.delegation.models import CERT_TYPES, OPERATIONS


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class GrantForm(FlaskForm):
    # Choices are offered for convenience; the service judges every submitted value (validate_choice=False),
    # so a tampered id is refused there, with the same answer whether or not it exists.
    grantee = SelectField("被授权用户", coerce=str, validate_choice=False)
    cert_type = SelectField("证照类型", choices=list(CERT_TYPES.items()), validate_choice=False)
    authorities = CheckboxesField("发证机关", coerce=str, validate_choice=False,
                                  description="授权查看所选发证机关颁发的全部证书")
    division_codes = StringField("区/县级区划代码", validators=[Optional(), Length(max=500)],
                                 description="授权查看工程项目地址在这些区县的证书；多个代码以逗号或空格分隔，例如 140105 140106")
    operations = CheckboxesField("操作权限", choices=list(OPERATIONS.items()), coerce=str, validate_choice=False,
                                 default=["view"])
    start_date = StringField("开始日期", render_kw={"type": "date"})
    end_date = StringField("结束日期", render_kw={"type": "date"})
    note = TextAreaField("备注", validators=[Optional(), Length(max=500, message="备注最多 500 字")])


class GrantChangeForm(FlaskForm):
    end_date = StringField("结束日期", render_kw={"type": "date"})
    note = TextAreaField("备注", validators=[Optional(), Length(max=500, message="备注最多 500 字")])
