from flask import Blueprint

bp = Blueprint("entry", __name__, url_prefix="/entry")

from portal.entry import routes  # noqa: E402,F401
