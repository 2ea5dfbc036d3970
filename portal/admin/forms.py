"""Admin forms: types, required fields and lengths; USCC and division rules come from portal.standard."""
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from portal.auth.models import ROLES

PHONE = Regexp(r"^1\d{10}$", message="手机号码应为 11 位数字，以 1 开头")


class UserForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名"), Length(max=64),
                                               Regexp(r"^[A-Za-z0-9_.-]+$", message="用户名只能包含字母、数字、下划线、点和横线")])
    display_name = StringField("姓名", validators=[Optional(), Length(max=64)])
    # No role until the admin picks one: a default would make a careless 新建用户 a 系统管理员.
    role = SelectField("角色", choices=[("", "请选择角色")] + list(ROLES.items()),
                       validators=[DataRequired("请选择用户角色（录证人员、主管、被授权用户或系统管理员）")])
    phone = StringField("手机号码", validators=[DataRequired("请输入手机号码，用于接收登录验证码"), PHONE])
    authorities = SelectMultipleField("所属发证机关", coerce=int)
    can_sign = BooleanField("签章权限")
    password = PasswordField("初始密码", validators=[Optional(), Length(min=8, max=128, message="密码至少 8 位")])


class UserEditForm(UserForm):
    username = None


class PasswordResetForm(FlaskForm):
    password = PasswordField("新密码", validators=[DataRequired("请输入新密码"),
                                                Length(min=8, max=128, message="密码至少 8 位")])


class AuthorityForm(FlaskForm):
    name = StringField("发证机关名称", validators=[DataRequired("请输入发证机关名称"), Length(max=100)])
    uscc = StringField("统一社会信用代码", validators=[DataRequired("请输入 18 位统一社会信用代码"), Length(max=18)])
    division_code = StringField("行政区划代码", validators=[DataRequired("请输入 6 位行政区划代码"), Length(max=6)])
    jurisdiction = TextAreaField("管辖区县代码", validators=[Optional()],
                                 description="以逗号或空格分隔的区/县级区划代码；留空则为所在地市的全部区县")
