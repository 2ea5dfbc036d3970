"""Writing to the audit log. The caller's transaction commits the entry with the change it records."""
from flask import has_request_context, request

from portal.admin.models import AuditEntry
from portal.extensions import db


def record(action, actor=None, target="", detail="", actor_name=None):
    """Add an audit entry to the current session (committed with the caller's change)."""
    ip = ""
    if has_request_context():
        ip = request.remote_addr or ""  # the client's, through ProxyFix when TRUSTED_PROXIES is set
    entry = AuditEntry(
        actor_id=getattr(actor, "id", None),
        actor_name=actor_name if actor_name is not None else getattr(actor, "username", "") or "",
        action=action, target=str(target)[:200], detail=str(detail), ip=ip[:64],
    )
    db.session.add(entry)
    return entry
