"""The audit log: its table, writing to it (the caller's transaction commits an entry with its change), and
the Chinese names of its action codes (portal/data/audit_actions.csv, loaded once)."""
import csv
from datetime import datetime
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from flask import has_request_context, request
from sqlalchemy.orm import Mapped, mapped_column

from portal.clock import utcnow
from portal.extensions import db


class AuditEntry(db.Model):
    """One line of the audit log: who did what to what, from where."""
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    actor_name: Mapped[str] = mapped_column(sa.String(64), default="")
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    target: Mapped[str] = mapped_column(sa.String(200), default="")
    detail: Mapped[str] = mapped_column(sa.Text, default="")
    ip: Mapped[str] = mapped_column(sa.String(64), default="")


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


ACTIONS_CSV = Path(__file__).parent / "data" / "audit_actions.csv"


@cache
def action_names():
    """{action code: 中文名称}, in the table's order."""
    with ACTIONS_CSV.open(encoding="utf-8", newline="") as table:
        return {row["code"].strip(): row["name"].strip() for row in csv.DictReader(table)}


def action_name(code):
    """The action's Chinese name; an unknown code is shown as it is."""
    return action_names().get(code, code)
