"""Background task rows: imports, PDF chunks and report runs. The pages read these, never Redis."""
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.clock import utcnow
from portal.extensions import db


@dataclass(frozen=True)
class TaskKind:
    """What a kind of task is called, which RQ job runs it (by dotted path, given the task id) and on which
    queue, what its failure says, and whether 任务管理 lists it."""
    name: str
    job: str
    queue: str
    failure: str  # the task's error when its job raised: {error} is the exception
    listed: bool = True


KINDS = {
    "import": TaskKind("批量导入", "jobs.imports.run_import_task", "default",
                       "导入任务意外中止（{error}）；已导入的行不受影响，可重新执行该任务"),
    "report": TaskKind("上报住建部", "jobs.reports.send_due_reports", "reports",
                       "上报任务意外中止（{error}）；未上报的记录仍在待上报队列中，将自动重试"),
    # One per chunk of an import's certificates: plumbing, shown through the import's own page.
    "pdf": TaskKind("生成电子证照", "jobs.certificates.seal_certificates", "pdf",
                    "电子证照生成任务意外中止（{error}）", listed=False),
    # Sealing the OFDs an authority's certificates lack, once its SM2 seal key exists (run on the same queue).
    "ofd": TaskKind("补签 OFD 电子证照", "jobs.certificates.seal_missing_ofds", "pdf",
                    "OFD 电子证照补签任务意外中止（{error}）；未补签的证照可再次补签", listed=False),
}
KIND_NAMES = {key: kind.name for key, kind in KINDS.items() if kind.listed}
# 'retry': the run failed because the database, Redis or storage was unreachable; the reconciler runs it again
# at retry_at (lifecycle.TASK_MAX_ATTEMPTS times at most, then 'failed').
STATE_NAMES = {"queued": "排队中", "running": "执行中", "retry": "等待重试", "done": "已完成", "failed": "失败"}
ACTIVE_STATES = ("queued", "running", "retry")


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
    params: Mapped[dict | None] = mapped_column(sa.JSON)  # the job's arguments beyond the task id (kind 'pdf')
    heartbeat_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")  # runs the infrastructure cut short
    retry_at: Mapped[datetime | None]  # when a task in state 'retry' runs again
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    operator = relationship("User")
    authority = relationship("Authority")

    @property
    def kind_name(self):
        return KINDS[self.kind].name if self.kind in KINDS else self.kind

    @property
    def state_name(self):
        if self.state == "running" and self.is_silent:
            return "执行中断，等待恢复"  # its worker died: the reconciler queues it again (never 执行中 forever)
        return STATE_NAMES.get(self.state, self.state)

    @property
    def is_silent(self):
        """Running without a heartbeat for the configured TASK_STALE_SECONDS: its worker is judged dead."""
        last = self.heartbeat_at or self.started_at or self.created_at
        stale = current_app.config.get("TASK_STALE_SECONDS", 45)
        return last is not None and (utcnow() - last).total_seconds() > stale

    @property
    def is_active(self):
        return self.state in ACTIVE_STATES

    @property
    def percent(self):
        return int(100 * self.done / self.total) if self.total else (100 if self.state == "done" else 0)
