"""The certificate, its personnel, attachments, history, and the per-authority-year number counter."""
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.clock import utcnow
from portal.extensions import db

STATUS_NAMES = {"issued": "已发证", "cancelled": "已注销"}
PDF_STATE_NAMES = {"pending": "生成中", "signed": "已签章", "failed": "生成失败"}
# The OFD copy is made right after the PDF; "failed" keeps the PDF 已签章 and says in ofd_error why.
OFD_STATE_NAMES = {"pending": "待生成", "signed": "已签章", "failed": "未生成"}
REPORT_STATE_NAMES = {"pending": "待上报", "reported": "已上报", "collected": "归集成功",
                      "rejected": "校验失败", "failed": "上报失败"}


TRIGRAM_SEARCHED = ("number", "holder_name", "project_name")


class NumberCounter(db.Model):
    """The last serial used per issuing authority per year (R1); a row lock serialises issuers."""
    __tablename__ = "number_counters"

    authority_id: Mapped[int] = mapped_column(sa.ForeignKey("authorities.id"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last_serial: Mapped[int] = mapped_column(default=0)


class Certificate(db.Model):
    """One 建筑起重机械使用登记证书: face fields, system fields, states."""
    __tablename__ = "certificates"
    __table_args__ = (
        sa.UniqueConstraint("authority_id", "year", "serial", name="uq_certificates_authority_year_serial"),
        # R12 in the database too: at most one certificate that is not cancelled per 备案编号.
        sa.Index("uq_certificates_record_number_valid", "record_number", unique=True,
                 sqlite_where=sa.text("status = 'issued'"), postgresql_where=sa.text("status = 'issued'")),
        # An import row is issued at most once, however often its job runs.
        sa.UniqueConstraint("import_task_id", "import_row_key", name="uq_certificates_import_row"),
        sa.Index("ix_certificates_holder_name_prefix", "holder_name",
                 postgresql_ops={"holder_name": "text_pattern_ops"}),
        sa.Index("ix_certificates_project_name_prefix", "project_name",
                 postgresql_ops={"project_name": "text_pattern_ops"}),
        # Any part of 证书编号 / 使用单位 / 工程名称 (portal.certificates.search): trigram indexes.
        *(sa.Index(f"ix_certificates_{column}_trgm", column, postgresql_using="gin",
                   postgresql_ops={column: "gin_trgm_ops"}) for column in TRIGRAM_SEARCHED),
        sa.Index("ix_certificates_authority_issue_date", "authority_id", "issue_date"),
        # An admin's date-range search spans every authority.
        sa.Index("ix_certificates_issue_date_id", "issue_date", "id"),
        # The reconciler looks for certificates whose PDF is still pending or failed.
        sa.Index("ix_certificates_pdf_state", "pdf_state"),
        sa.Index("ix_certificates_ofd_state", "ofd_state"),  # the reconciler's OFDs still to make, among many
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ecert_id: Mapped[str] = mapped_column(sa.String(32), unique=True)
    number: Mapped[str] = mapped_column(sa.String(32), unique=True)
    # 电子证照标识 (GB/T 36904), fixed when issued: a later LICENSE_TYPE_CODE does not rewrite it.
    license_id: Mapped[str] = mapped_column(sa.String(100), unique=True, index=True)
    verify_token: Mapped[str] = mapped_column(sa.String(48), unique=True)
    authority_id: Mapped[int] = mapped_column(sa.ForeignKey("authorities.id"), index=True)
    year: Mapped[int]
    serial: Mapped[int]
    status: Mapped[str] = mapped_column(sa.String(16), default="issued", index=True)

    holder_name: Mapped[str] = mapped_column(sa.String(200))
    holder_uscc: Mapped[str] = mapped_column(sa.String(18), index=True)
    authority_name: Mapped[str] = mapped_column(sa.String(200))
    authority_uscc: Mapped[str] = mapped_column(sa.String(18))
    issue_date: Mapped[date]
    valid_until: Mapped[date | None]
    crane_type: Mapped[str] = mapped_column(sa.String(1))
    model: Mapped[str] = mapped_column(sa.String(200))
    record_number: Mapped[str] = mapped_column(sa.String(16), index=True)
    manufacturer: Mapped[str] = mapped_column(sa.String(200))
    serial_number: Mapped[str] = mapped_column(sa.String(200))
    manufacture_date: Mapped[date | None]
    owner_name: Mapped[str] = mapped_column(sa.String(200))
    owner_uscc: Mapped[str] = mapped_column(sa.String(18))
    installer_name: Mapped[str] = mapped_column(sa.String(200))
    installer_uscc: Mapped[str] = mapped_column(sa.String(18))
    supervision_name: Mapped[str] = mapped_column(sa.String(200))
    supervision_uscc: Mapped[str] = mapped_column(sa.String(18))
    contractor_name: Mapped[str] = mapped_column(sa.String(200), default="")
    contractor_uscc: Mapped[str] = mapped_column(sa.String(18), default="")
    project_name: Mapped[str] = mapped_column(sa.String(200))
    project_address: Mapped[str] = mapped_column(sa.String(300))
    project_division: Mapped[str] = mapped_column(sa.String(6), index=True)
    location: Mapped[str] = mapped_column(sa.String(50))
    permit_number: Mapped[str] = mapped_column(sa.String(18))
    business: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # 业务信息 of the type: key → text

    pdf_state: Mapped[str] = mapped_column(sa.String(16), default="pending")
    pdf_path: Mapped[str | None] = mapped_column(sa.String(300))
    pdf_error: Mapped[str | None] = mapped_column(sa.Text)
    pdf_attempts: Mapped[int] = mapped_column(default=0, server_default="0")  # failed sealing attempts so far
    pdf_retry_at: Mapped[datetime | None]  # when a transient failure is retried; None: no automatic retry
    ofd_state: Mapped[str] = mapped_column(sa.String(16), default="pending")
    ofd_path: Mapped[str | None] = mapped_column(sa.String(300))
    ofd_error: Mapped[str | None] = mapped_column(sa.Text)
    # Indexed: 上报失败 / 校验失败 are few among many, and the list filters on them.
    report_state: Mapped[str] = mapped_column(sa.String(16), default="pending", index=True)
    report_message: Mapped[str | None] = mapped_column(sa.Text)

    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None]
    cancelled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    cancel_reason: Mapped[str | None] = mapped_column(sa.Text)
    import_task_id: Mapped[int | None] = mapped_column(sa.Integer, index=True)
    import_row_key: Mapped[str | None] = mapped_column(sa.String(64))
    # The single-entry form's one-time token: a double-clicked 提交 finds the first certificate.
    submission_token: Mapped[str | None] = mapped_column(sa.String(64), unique=True)

    authority = relationship("Authority")
    created_by = relationship("User", foreign_keys=[created_by_id])
    cancelled_by = relationship("User", foreign_keys=[cancelled_by_id])
    persons = relationship("CertificatePerson", back_populates="certificate", order_by="CertificatePerson.position",
                           cascade="all, delete-orphan")
    attachments = relationship("Attachment", back_populates="certificate", order_by="Attachment.id",
                               cascade="all, delete-orphan")
    events = relationship("CertificateEvent", back_populates="certificate", order_by="CertificateEvent.id",
                          cascade="all, delete-orphan")

    @property
    def status_name(self):
        return STATUS_NAMES.get(self.status, self.status)

    @property
    def pdf_state_name(self):
        if self.pdf_state == "failed" and self.pdf_retry_at is not None:
            return "签章失败，将自动重试"
        return PDF_STATE_NAMES.get(self.pdf_state, self.pdf_state)

    @property
    def ofd_state_name(self):
        return OFD_STATE_NAMES.get(self.ofd_state, self.ofd_state)

    @property
    def report_state_name(self):
        return REPORT_STATE_NAMES.get(self.report_state, self.report_state)

    @property
    def is_valid(self):
        return self.status == "issued"

    def __repr__(self):
        return f"<Certificate {self.number}>"


class CertificatePerson(db.Model):
    """相关人员信息: entered once at the new issue (R13)."""
    __tablename__ = "certificate_persons"

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(sa.ForeignKey("certificates.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    type_code: Mapped[str] = mapped_column(sa.String(4))
    name: Mapped[str] = mapped_column(sa.String(50))
    id_number: Mapped[str] = mapped_column(sa.String(18))
    cert_no: Mapped[str] = mapped_column(sa.String(50), default="")
    phone: Mapped[str] = mapped_column(sa.String(30), default="")

    certificate = relationship("Certificate", back_populates="persons")


class Attachment(db.Model):
    """A scanned document (PDF/JPG/PNG) stored under STORAGE_DIR by content hash."""
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(sa.ForeignKey("certificates.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    certificate = relationship("Certificate", back_populates="attachments")


class DraftAttachment(db.Model):
    """An attachment uploaded in 单个录入 before its certificate exists (see certificates/drafts.py)."""
    __tablename__ = "draft_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(sa.String(200))
    filename: Mapped[str] = mapped_column(sa.String(200))
    size: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class CertificateEvent(db.Model):
    """The certificate's history: issued, sealed, reported, cancelled, …"""
    __tablename__ = "certificate_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(sa.ForeignKey("certificates.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_name: Mapped[str] = mapped_column(sa.String(64), default="")
    action: Mapped[str] = mapped_column(sa.String(32))
    detail: Mapped[str] = mapped_column(sa.Text, default="")

    certificate = relationship("Certificate", back_populates="events")


# The trigram indexes need pg_trgm (a trusted extension: the database owner may create it).
sa.event.listen(Certificate.__table__, "before_create",
                sa.DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"))
