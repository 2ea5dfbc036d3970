"""The one authorization model: which role may open which area, and may(user, action, obj).

Every view, download, fragment and CLI command asks here; nothing else decides who sees what.
"""
from functools import wraps

from flask import abort
from flask_login import current_user

# Menu areas and the roles that may open them (SPEC §1).
AREAS = {
    "delegation": {"title": "证照委托授权", "endpoint": "delegation.index", "roles": {"delegate", "admin"}},
    "entry": {"title": "证照录入", "endpoint": "entry.index", "roles": {"clerk"}},
    "maintenance": {"title": "证照维护", "endpoint": "maintenance.index", "roles": {"clerk", "supervisor", "admin"}},
    "tasks": {"title": "任务管理", "endpoint": "tasks.index", "roles": {"clerk", "supervisor", "admin"}},
    "admin": {"title": "系统管理", "endpoint": "admin.index", "roles": {"admin"}},
}


def can_open(user, area):
    """May this user open this menu area?"""
    return bool(user and user.is_authenticated and user.is_active and user.role in AREAS[area]["roles"])


def menu_for(user):
    """The menu entries this user may open, in menu order."""
    return [dict(key=key, **area) for key, area in AREAS.items() if can_open(user, key)]


def area_required(area):
    """View decorator: 401 → login for anonymous users, 403 for a role that may not open the area."""
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                from portal.extensions import login_manager
                return login_manager.unauthorized()
            if not can_open(current_user, area):
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator
