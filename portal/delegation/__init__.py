from flask import Blueprint

bp = Blueprint("delegation", __name__, url_prefix="/delegation")

from portal.delegation import routes  # noqa: E402,F401
