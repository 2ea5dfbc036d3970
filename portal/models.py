"""Every model, imported in one place so Alembic sees one metadata."""
from portal.admin.models import AuditEntry, Authority, user_authorities  # noqa: F401
from portal.auth.models import LoginFailure, SmsCode, User  # noqa: F401
