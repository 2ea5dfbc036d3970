"""The one authorization model: which role may open which area, and may(user, action, obj).

Every view, download, fragment and CLI command asks here; nothing else decides who sees what.
"""
from functools import wraps

import sqlalchemy as sa
from flask import abort
from flask_login import current_user

from portal.background.models import Task
from portal.certificates.models import Certificate
from portal.extensions import db, login_manager

# Menu areas and the roles that may open them (SPEC §1).
AREAS = {
    "delegation": {"title": "证照委托授权", "endpoint": "delegation.index", "roles": {"delegate", "admin"}},
    "entry": {"title": "证照录入", "endpoint": "entry.index", "roles": {"clerk"}},
    "maintenance": {"title": "证照维护", "endpoint": "maintenance.index", "roles": {"clerk", "supervisor", "admin"}},
    "tasks": {"title": "任务管理", "endpoint": "tasks.index", "roles": {"clerk", "supervisor", "admin"}},
    "statistics": {"title": "统计分析", "endpoint": "statistics.index", "roles": {"supervisor", "admin"}},
    "admin": {"title": "系统管理", "endpoint": "admin.index", "roles": {"admin"}},
}


def can_open(user, area):
    """May this user open this menu area?"""
    return bool(user and user.is_authenticated and user.is_active and user.role in AREAS[area]["roles"])


def menu_for(user):
    """The menu entries this user may open, in menu order."""
    return [dict(key=key, **area) for key, area in AREAS.items() if can_open(user, key)]


def _view_guard(allowed):
    """View decorator: 401 → login for anonymous users, 403 for a user `allowed(user)` refuses."""
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not allowed(current_user):
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator


def area_required(area):
    """View decorator: 401 → login for anonymous users, 403 for a role that may not open the area."""
    return _view_guard(lambda user: can_open(user, area))


def roles_required(*roles):
    """View decorator for pages outside the menu areas: login for anonymous users, 403 for other roles."""
    return _view_guard(lambda user: user.is_active and user.role in roles)


# ---------------------------------------------------------------------------------------------------
# Objects: certificates, their files, tasks. Lists are filtered in the query (scope_*), single
# objects are judged by may(); both read the same facts, so a list never shows what may() refuses.

def _authority_ids(user):
    return [a.id for a in user.authorities]


def delegation_scope_clause(user):
    """SQL condition for the certificates the user's active delegations cover (None: no delegation)."""
    hook = _hooks.get("delegation_scope")
    return hook(user) if hook else None


_hooks = {}


def register_hook(name, function):
    """Areas that add facts to the model (delegations) plug in here, keeping one place that decides."""
    _hooks[name] = function


def scope_certificates(query, user, purpose="view"):
    """Restrict a Certificate query to what the user may see (or, purpose='delegation', via grants)."""
    if not (user and user.is_authenticated and user.is_active):
        return query.where(sa.false())
    if purpose == "delegation":
        clause = delegation_scope_clause(user)
        return query.where(clause if clause is not None else sa.false())
    if user.role == "admin":
        return query
    if user.role in ("clerk", "supervisor"):
        return query.where(Certificate.authority_id.in_(_authority_ids(user)))
    return query.where(sa.false())


def scope_tasks(query, user):
    """Restrict a Task query: clerks their own, supervisors their authority's, admins all."""
    if not (user and user.is_authenticated and user.is_active):
        return query.where(sa.false())
    if user.role == "admin":
        return query
    if user.role == "supervisor":
        return query.where(Task.authority_id.in_(_authority_ids(user)))
    if user.role == "clerk":
        return query.where(Task.operator_id == user.id)
    return query.where(sa.false())


def may(user, action, obj):
    """May this user do this action on this object? Actions: view, download, download_original, cancel,
    resend, regenerate, issue."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    if isinstance(obj, Certificate):
        mine = obj.authority_id in _authority_ids(user)
        if action in ("view", "download"):
            if user.role == "admin" or (user.role in ("clerk", "supervisor") and mine):
                return True
            hook = _hooks.get("delegation_allows")
            return bool(hook and hook(user, obj, action))
        if action == "cancel":
            return user.role == "clerk" and mine and obj.status == "issued"
        if action == "resend":
            return user.role == "admin" or (user.role == "supervisor" and mine)
        if action == "download_original":  # a cancelled certificate's PDF as first signed, without its mark
            return user.role == "admin"
        if action == "regenerate":  # 重新生成 a failed PDF: the admin, who can also mend its cause (keys, disk)
            return user.role == "admin"
        return False
    if isinstance(obj, Task):
        if action not in ("view", "download"):
            return False
        if user.role == "admin":
            return True
        if user.role == "supervisor":
            return obj.authority_id in _authority_ids(user)
        return user.role == "clerk" and obj.operator_id == user.id
    return False


def get_certificate_or_404(certificate_id, action="view"):
    """Load a certificate the current user may act on; 404 when it does not exist or is not theirs.

    404 rather than 403 for another authority's id: the answer must not reveal that it exists.
    """
    cert = db.session.get(Certificate, certificate_id)
    if cert is None or not may(current_user, "view", cert):
        abort(404)
    if action != "view" and not may(current_user, action, cert):
        abort(403)
    return cert
