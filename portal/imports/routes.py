"""批量导入: template download, upload, and the import task it starts."""
from flask import render_template

from portal.access import area_required
from portal.imports import bp


@bp.route("/")
@area_required("entry")
def index():
    """批量导入 page."""
    return render_template("imports/index.html")
