from flask import Blueprint

bp = Blueprint("delegation", __name__, url_prefix="/delegation")

from portal.delegation import models, routes  # noqa: E402,F401
from portal.access import register_hook  # noqa: E402
from portal.delegation.services import delegation_allows, delegation_scope  # noqa: E402

# Delegations add facts to the one authorization model: may() and scope_certificates ask these.
register_hook("delegation_scope", delegation_scope)
register_hook("delegation_allows", delegation_allows)
