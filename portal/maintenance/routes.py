"""证照维护."""
from flask import render_template

from portal.access import area_required
from portal.maintenance import bp


@bp.route("/")
@area_required("maintenance")
def index():
    """证照维护: the area's start page."""
    return render_template("maintenance/index.html")
