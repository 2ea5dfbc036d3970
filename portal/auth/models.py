"""Users, login throttling and SMS login codes."""
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from portal.certificates.authorities import user_authorities
from portal.clock import utcnow
from portal.extensions import db

# Werkzeug's scrypt (memory-hard). Tests lower the cost factor; production keeps the default.
PASSWORD_METHOD = "scrypt"

ROLES = {
    "admin": "系统管理员",
    "clerk": "录证人员",
    "supervisor": "主管",
    "delegate": "被授权用户",
}


class User(UserMixin, db.Model):
    """A portal user with one role, member of issuing authorities, maybe holding 签章权限."""
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(64), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    phone: Mapped[str] = mapped_column(sa.String(20), default="")
    role: Mapped[str] = mapped_column(sa.String(16))
    can_sign: Mapped[bool] = mapped_column(default=False)
    is_enabled: Mapped[bool] = mapped_column(default=True)
    # Bumped on logout, a new login, password reset or disable: every session holding the old value is void.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    authorities = relationship("Authority", secondary=user_authorities, back_populates="users",
                               order_by="Authority.id")

    def set_password(self, password):
        self.password_hash = generate_password_hash(password, method=PASSWORD_METHOD)

    def check_password(self, password):
        return check_password_hash(self.password_hash, password)

    def get_id(self):
        return f"{self.id}:{self.session_version}"

    def end_sessions(self):
        """Void every session of this user (logout, new login, password reset, disable).

        Incremented in SQL, not in Python, so two requests at once cannot write back the same version.
        """
        self.session_version = User.session_version + 1

    @property
    def is_active(self):
        return self.is_enabled

    @property
    def role_name(self):
        return ROLES.get(self.role, self.role)

    @property
    def masked_phone(self):
        phone = self.phone or ""
        return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "未登记"

    def __repr__(self):
        return f"<User {self.username} {self.role}>"


ANY_SOURCE = "*"  # LoginFailure.source of the row that counts a name's attempts from every address


class LoginFailure(db.Model):
    """Password attempts not (yet) proven right, per typed user name and source address.

    One row per (name, address) and one per name with source ANY_SOURCE, counting every address.
    Unknown names are counted too, so a lockout message never tells an attacker which names exist.
    An attempt is counted before its password is checked; a right password deletes its row again.
    """
    __tablename__ = "login_failures"

    username: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]


class SmsCode(db.Model):
    """A one-time login code sent by SMS; only its hash is stored."""
    __tablename__ = "sms_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None]
    voided: Mapped[bool] = mapped_column(default=False)
