from flask import Blueprint

bp = Blueprint("statistics", __name__, url_prefix="/statistics")

from portal.statistics import routes  # noqa: E402,F401
