from flask import Blueprint

bp = Blueprint("maintenance", __name__, url_prefix="/maintenance")

from portal.maintenance import routes  # noqa: E402,F401
