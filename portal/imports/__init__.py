from flask import Blueprint

bp = Blueprint("imports", __name__, url_prefix="/entry/crane/import")

from portal.imports import routes  # noqa: E402,F401
