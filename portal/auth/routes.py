"""Login: password, then the SMS code, then the portal; logout."""
import time

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from portal import audit
from portal.auth import bp
from portal.auth.forms import CodeForm, EmptyForm, LoginForm
from portal.auth.models import User
from portal.auth.services import LoginError, check_login_code, check_password_step, send_login_code
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


def _safe_next(target):
    return target if target and target.startswith("/") and not target.startswith("//") else None


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Step 1: username and password."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = check_password_step(form.username.data, form.password.data)
        except LoginError as exc:
            form.password.errors.append(str(exc))
        else:
            session.clear()  # nothing from before the login carries over
            session["pending_login"] = {"user_id": user.id, "version": user.session_version, "at": time.time(),
                                        "next": _safe_next(request.args.get("next"))}
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
    if form.validate_on_submit():
        try:
            check_login_code(user, form.code.data)
        except LoginError as exc:
            form.code.errors.append(str(exc))
        else:
            target = session["pending_login"].get("next")
            session.clear()  # rotate: the pre-login session is discarded
            login_user(user)
            session.permanent = True
            return redirect(target or url_for("main.index"), 303)
    return render_template("auth/verify.html", form=form, user=user, send_form=EmptyForm())


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
        send_login_code(user)
    except LoginError as exc:
        error = str(exc)
    return render_view("auth/verify.html", "auth/partials/_code_status.html", status=200 if not error else 429,
                       error=error, sent=error is None, user=user, form=CodeForm(), send_form=EmptyForm(),
                       resend_seconds=current_app.config["SMS_RESEND_SECONDS"])


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """退出."""
    audit.record("logout", actor=current_user, target=current_user.username)
    db.session.commit()
    logout_user()
    session.clear()
    flash("您已安全退出", "info")
    return redirect(url_for("auth.login"), 303)
