"""证照委托授权."""
from flask import render_template

from portal.access import area_required
from portal.delegation import bp


@bp.route("/")
@area_required("delegation")
def index():
    """证照委托授权: the area's start page."""
    return render_template("delegation/index.html")
