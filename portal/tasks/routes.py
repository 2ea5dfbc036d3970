"""任务管理."""
from flask import render_template

from portal.access import area_required
from portal.tasks import bp


@bp.route("/")
@area_required("tasks")
def index():
    """任务管理: the area's start page."""
    return render_template("tasks/index.html")
