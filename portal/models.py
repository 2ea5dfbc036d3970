"""Every model, imported in one place so Alembic sees one metadata."""
from portal.audit import AuditEntry  # noqa: F401
from portal.auth.models import LoginFailure, SmsCode, User  # noqa: F401
from portal.background.models import Task  # noqa: F401
from portal.certificates.authorities import Authority, user_authorities  # noqa: F401
from portal.certificates.models import Attachment, Certificate, CertificateEvent, CertificatePerson, \
    DraftAttachment, NumberCounter  # noqa: F401
from portal.delegation.models import Delegation, DelegationScope  # noqa: F401
from portal.platform.models import ReportOutbox  # noqa: F401
