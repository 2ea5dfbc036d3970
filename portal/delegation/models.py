"""委托授权: a grant of read access to one certificate type within a scope, for a date range."""
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.clock import utcnow
from portal.extensions import db

CERT_TYPES = {"crane": "建筑起重机械使用登记证书"}
OPERATIONS = {"view": "查看", "change": "变更"}


class Delegation(db.Model):
    """One grant: grantee, certificate type, scope rows, operations, validity (inclusive dates), revocation."""
    __tablename__ = "delegations"
    __table_args__ = (
        sa.CheckConstraint("end_date >= start_date", name="dates"),
        sa.Index("ix_delegations_grantee_type", "grantee_id", "cert_type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grantee_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    cert_type: Mapped[str] = mapped_column(sa.String(32), default="crane")
    # Comma-separated operation keys; only 'view' can be granted for the crane type (R13).
    operations: Mapped[str] = mapped_column(sa.String(64), default="view")
    start_date: Mapped[date]
    end_date: Mapped[date]
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    granted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    grantee = relationship("User", foreign_keys=[grantee_id])
    granted_by = relationship("User", foreign_keys=[granted_by_id])
    revoked_by = relationship("User", foreign_keys=[revoked_by_id])
    scopes = relationship("DelegationScope", back_populates="delegation", cascade="all, delete-orphan",
                          order_by="DelegationScope.id")

    @property
    def cert_type_name(self):
        return CERT_TYPES.get(self.cert_type, self.cert_type)

    @property
    def operation_keys(self):
        return [op for op in self.operations.split(",") if op]

    @property
    def operation_names(self):
        return "、".join(OPERATIONS.get(op, op) for op in self.operation_keys)

    @property
    def authority_ids(self):
        return {s.authority_id for s in self.scopes if s.authority_id is not None}

    @property
    def division_codes(self):
        return {s.division_code for s in self.scopes if s.division_code}

    def __repr__(self):
        return f"<Delegation {self.id} to user {self.grantee_id} {self.start_date}..{self.end_date}>"


class DelegationScope(db.Model):
    """One element of a grant's scope: every certificate of an issuing authority, or of a county code."""
    __tablename__ = "delegation_scopes"
    __table_args__ = (
        sa.CheckConstraint("(authority_id IS NULL) <> (division_code IS NULL)", name="one_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    delegation_id: Mapped[int] = mapped_column(sa.ForeignKey("delegations.id", ondelete="CASCADE"), index=True)
    authority_id: Mapped[int | None] = mapped_column(sa.ForeignKey("authorities.id", ondelete="CASCADE"), index=True)
    division_code: Mapped[str | None] = mapped_column(sa.String(6), index=True)

    delegation = relationship("Delegation", back_populates="scopes")
    authority = relationship("Authority")
