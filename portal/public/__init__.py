from flask import Blueprint

bp = Blueprint("public", __name__, url_prefix="/public")

from portal.public import routes  # noqa: E402,F401
