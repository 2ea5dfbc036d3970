"""Issuing authorities (发证机关) and the users who work for them."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.clock import utcnow
from portal.extensions import db

user_authorities = sa.Table(
    "user_authorities",
    db.metadata,
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("authority_id", sa.ForeignKey("authorities.id", ondelete="CASCADE"), primary_key=True),
)


class Authority(db.Model):
    """An issuing authority: name, USCC, its own division code and the county codes it issues for."""
    __tablename__ = "authorities"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    uscc: Mapped[str] = mapped_column(sa.String(18), unique=True)
    division_code: Mapped[str] = mapped_column(sa.String(6))
    # Comma-separated county-level codes: small, read whole, never queried by element.
    jurisdiction_codes: Mapped[str] = mapped_column(sa.Text, default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    users = relationship("User", secondary=user_authorities, back_populates="authorities")

    @property
    def jurisdiction(self) -> frozenset[str]:
        return frozenset(code for code in self.jurisdiction_codes.split(",") if code)

    @jurisdiction.setter
    def jurisdiction(self, codes):
        self.jurisdiction_codes = ",".join(sorted(set(codes)))

    def __repr__(self):
        return f"<Authority {self.uscc} {self.name}>"
