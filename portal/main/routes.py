"""The landing page after login and the error pages."""
from flask import render_template
from flask_login import login_required

from portal.extensions import db
from portal.main import bp


@bp.route("/")
@login_required
def index():
    """Landing page: the 电子证照 entry and the user's menu."""
    return render_template("main/index.html")


def _error(status, title, message):
    return render_template("errors/error.html", status=status, title=title, message=message), status


@bp.app_errorhandler(400)
def bad_request(error):
    description = getattr(error, "description", "") or ""
    if "CSRF" in description:
        return _error(400, "请求已失效", "页面已过期或请求来源无法确认（缺少 CSRF 令牌），请刷新页面后重试。")
    return _error(400, "请求有误", "提交的内容无法处理，请检查后重试。")


@bp.app_errorhandler(403)
def forbidden(error):
    return _error(403, "无权访问", "您没有权限访问该页面或数据。如需开通，请联系系统管理员。")


@bp.app_errorhandler(404)
def not_found(error):
    return _error(404, "页面不存在", "您访问的页面或数据不存在。")


@bp.app_errorhandler(405)
def method_not_allowed(error):
    return _error(405, "请求方式不正确", "该地址不支持这种请求方式。")


@bp.app_errorhandler(413)
def too_large(error):
    return _error(413, "文件过大", "上传的文件超过了允许的大小，请压缩或拆分后重新上传。")


@bp.app_errorhandler(429)
def too_many(error):
    return _error(429, "请求过于频繁", "您的请求过于频繁，请稍后再试。")


@bp.app_errorhandler(500)
def server_error(error):
    db.session.rollback()
    return _error(500, "系统繁忙", "系统处理时出现问题，已记录日志，请稍后重试。")
