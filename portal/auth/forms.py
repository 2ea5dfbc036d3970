"""Login forms: types and required fields only."""
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length, Regexp


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名"), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码"), Length(max=128)])


class CodeForm(FlaskForm):
    code = StringField("短信验证码", validators=[DataRequired("请输入短信验证码"),
                                                Regexp(r"^\s*\d{6}\s*$", message="验证码为 6 位数字")])


class EmptyForm(FlaskForm):
    """Carries only the CSRF token, for POST buttons."""
