"""Login forms: types and required fields only; and the check of the `next` target."""
import unicodedata
from urllib.parse import urlsplit

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


def local_target(raw):
    """The `next` page to go to after login, or None unless it is a path on this site.

    Judged after the normalisation a browser applies to a Location header (control characters and
    whitespace dropped, backslashes read as slashes): `/%09/evil.example` is `//evil.example` to a browser,
    another site. The normalised value is returned, so no control character ever reaches a header.
    """
    if not raw or len(raw) > 2000:
        return None
    target = "".join(ch for ch in raw if not (ch.isspace() or unicodedata.category(ch) == "Cc")).replace("\\", "/")
    parts = urlsplit(target)
    if not target.startswith("/") or target.startswith("//") or parts.scheme or parts.netloc:
        return None
    return target
