"""The durable outbox of reports to 住建部: written in the issuing/cancelling transaction."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.clock import utcnow
from portal.extensions import db

OUTBOX_STATE_NAMES = {"pending": "待上报", "sending": "上报中", "delivered": "已上报", "failed": "上报失败"}


class ReportOutbox(db.Model):
    """One report (issue or cancel) of one certificate, with its idempotency key and attempts."""
    __tablename__ = "report_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(sa.ForeignKey("certificates.id", ondelete="CASCADE"), index=True)
    operation: Mapped[str] = mapped_column(sa.String(8))  # issue | cancel
    idempotency_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The batch (one request, one Idempotency-Key) this row was sent in: until the platform answers, the
    # same rows are re-sent together under the same key, so a lost answer is replayed, never reported twice.
    batch_key: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    payload: Mapped[dict] = mapped_column(sa.JSON)
    state: Mapped[str] = mapped_column(sa.String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    verdict: Mapped[str | None] = mapped_column(sa.String(16))  # accepted | collected | rejected
    verdict_reasons: Mapped[str | None] = mapped_column(sa.Text)
    verdict_check_at: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]

    certificate = relationship("Certificate")

    @property
    def state_name(self):
        return OUTBOX_STATE_NAMES.get(self.state, self.state)
