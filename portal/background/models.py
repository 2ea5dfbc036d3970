"""Background task rows: imports and report runs. The page reads these, never Redis."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.clock import utcnow
from portal.extensions import db

KIND_NAMES = {"import": "批量导入", "report": "上报住建部"}
STATE_NAMES = {"queued": "排队中", "running": "执行中", "done": "已完成", "failed": "失败"}


class Task(db.Model):
    """One background task: state, counts and result, written by the job as it runs."""
    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16), index=True)
    title: Mapped[str] = mapped_column(sa.String(300), default="")
    file_name: Mapped[str] = mapped_column(sa.String(300), default="")
    upload_path: Mapped[str | None] = mapped_column(sa.String(300))
    operator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    authority_id: Mapped[int | None] = mapped_column(sa.ForeignKey("authorities.id"), index=True)
    state: Mapped[str] = mapped_column(sa.String(16), default="queued", index=True)
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    succeeded: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(sa.Text)
    result_path: Mapped[str | None] = mapped_column(sa.String(300))
    job_id: Mapped[str | None] = mapped_column(sa.String(64))
    heartbeat_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    operator = relationship("User")
    authority = relationship("Authority")

    @property
    def kind_name(self):
        return KIND_NAMES.get(self.kind, self.kind)

    @property
    def state_name(self):
        return STATE_NAMES.get(self.state, self.state)

    @property
    def is_active(self):
        return self.state in ("queued", "running")

    @property
    def percent(self):
        return int(100 * self.done / self.total) if self.total else (100 if self.state == "done" else 0)
