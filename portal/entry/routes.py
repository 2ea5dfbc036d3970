"""证照录入."""
from flask import render_template

from portal.access import area_required
from portal.entry import bp


@bp.route("/")
@area_required("entry")
def index():
    """证照录入: the area's start page."""
    return render_template("entry/index.html")
