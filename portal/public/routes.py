"""公开查询: certificate lookup and verification, no login."""
from flask import render_template

from portal.public import bp


@bp.route("/")
def index():
    """Public lookup page."""
    return render_template("public/index.html")
