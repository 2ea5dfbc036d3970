"""Login: password, then the SMS code, then the portal; logout."""
import time

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from portal.auth import bp
from portal.auth.forms import CodeForm, EmptyForm, LoginForm, local_target
# services before models: it loads portal.admin first, as the admin ↔ auth model imports require
from portal.auth.services import LoginError, check_login_code, check_password_step, end_sessions, send_login_code
from portal.auth.models import User  # noqa: I100
from portal.extensions import db
from portal.htmx import render_view

PENDING_SECONDS = 600


def _pending_user():
    """The user who passed the password step in this session in the last 10 minutes, if any."""
    pending = session.get("pending_login")
    if not pending or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None
    user = db.session.get(User, pending["user_id"])
    if user is None or not user.is_enabled or user.session_version != pending.get("version"):
        return None
    return user


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Step 1: username and password."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            passed = check_password_step(form.username.data, form.password.data, request.remote_addr)
        except LoginError as exc:
            form.password.errors.append(str(exc))
        else:
            session.clear()  # nothing from before the login carries over
            session["pending_login"] = {"user_id": passed.user.id, "version": passed.user.session_version,
                                        "at": time.time(), "next": local_target(request.args.get("next")),
                                        "despite_lock": passed.despite_lock}
            return redirect(url_for("auth.verify"), 303)
    return render_template("auth/login.html", form=form)


@bp.route("/verify", methods=["GET", "POST"])
def verify():
    """Step 2: send the SMS code and enter it."""
    user = _pending_user()
    if user is None:
        flash("请先输入用户名和密码", "warning")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    pending = session["pending_login"]
    if form.validate_on_submit():
        try:
            check_login_code(user, form.code.data, despite_lock=pending.get("despite_lock", False),
                             code_id=pending.get("code_id"))
        except LoginError as exc:
            form.code.errors.append(str(exc))
        else:
            session.clear()  # rotate: the pre-login session is discarded
            login_user(user)
            session.permanent = True
            return redirect(pending.get("next") or url_for("main.index"), 303)
    return render_template("auth/verify.html", form=form, user=user, send_form=EmptyForm(),
                           despite_lock=pending.get("despite_lock", False))


@bp.route("/send-code", methods=["POST"])
def send_code():
    """发送短信验证码: answers with the status line fragment."""
    user = _pending_user()
    if user is None:
        return render_view("auth/verify.html", "auth/partials/_code_status.html", status=400,
                           error="登录已超时，请重新输入用户名和密码", user=None, form=CodeForm(),
                           send_form=EmptyForm())
    error = None
    try:
        code_id = send_login_code(user)
    except LoginError as exc:
        error = str(exc)
    else:
        session["pending_login"] = dict(session["pending_login"], code_id=code_id)
    return render_view("auth/verify.html", "auth/partials/_code_status.html", status=200 if not error else 429,
                       error=error, sent=error is None, user=user, form=CodeForm(), send_form=EmptyForm(),
                       resend_seconds=current_app.config["SMS_RESEND_SECONDS"])


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """退出: ends the user's sessions on the server too, so a copied session cookie is worthless."""
    end_sessions(current_user._get_current_object())
    logout_user()
    session.clear()
    flash("您已安全退出", "info")
    return redirect(url_for("auth.login"), 303)
