"""Login with password then SMS code (manual §一); lockout; code issue and check.

Every counter is changed in SQL (UPDATE … SET n = n + 1 … RETURNING) and committed before the password
or the code is judged: N requests at once count N, and no more than the allowed number are ever judged.

Lockout after LOGIN_MAX_FAILURES attempts, for LOGIN_LOCK_MINUTES:
- per name and source address: that address is refused for that name, even with the right password;
- per name over all addresses: the name is locked, yet an address that has not used up its own attempts
  still gets in with the right password plus an SMS code sent after that password step, so an outsider
  cannot lock the owner out. Refusals and such logins are both audited.
"""
import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite
from werkzeug.security import generate_password_hash

from portal import audit
from portal.auth.models import ANY_SOURCE, LoginFailure, SmsCode, User
from portal.clock import utcnow
from portal.extensions import db
from portal.sms import SmsError, sender_from_config

BAD_CREDENTIALS = "用户名或密码错误，请重新输入"
LOCKED = "登录失败次数过多，账号已暂时锁定，请 {minutes} 分钟后再试"
NO_CODE = "请先点击“发送短信验证码”获取验证码"
TOO_MANY_CODES = "验证码错误次数过多，该验证码已失效，请重新获取"


class LoginError(Exception):
    """A refused login step; the message is shown to the user as is."""


@dataclass(frozen=True)
class PasswordPassed:
    """The password step's result. `despite_lock`: the name is locked by other addresses' failures,
    so only a code sent after this step may complete the login."""
    user: User
    despite_lock: bool = False


def _normalise(username):
    return (username or "").strip().lower()


def _insert_ignore(table, **values):
    """INSERT … ON CONFLICT DO NOTHING, on PostgreSQL and on SQLite (the portal's two databases)."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    db.session.execute(dialect.insert(table).values(**values).on_conflict_do_nothing())


def _count_attempt(name, source, now):
    """Count one password attempt of (name, source) in SQL; returns (attempts in this window, locked_until).

    A window ends when its lock has passed, or LOGIN_LOCK_MINUTES after its last attempt if never locked.
    The attempt that reaches LOGIN_MAX_FAILURES sets the lock.
    """
    config = current_app.config
    limit, lock = config["LOGIN_MAX_FAILURES"], timedelta(minutes=config["LOGIN_LOCK_MINUTES"])
    table = LoginFailure.__table__
    row = table.c
    _insert_ignore(table, username=name, source=source, attempts=0)
    restart = sa.or_(row.locked_until <= now, sa.and_(row.locked_until.is_(None), row.last_attempt_at < now - lock))
    attempts = sa.case((restart, 1), else_=row.attempts + 1)
    lock_so_far = sa.case((restart, sa.null()), else_=row.locked_until)
    counted = db.session.execute(
        sa.update(table).where(row.username == name, row.source == source)
        .values(attempts=attempts, last_attempt_at=now,
                locked_until=sa.case((attempts >= limit, sa.func.coalesce(lock_so_far, now + lock)), else_=sa.null()))
        .returning(row.attempts, row.locked_until)).one()
    return counted.attempts, counted.locked_until


def _forget_attempts(name, source):
    db.session.execute(sa.delete(LoginFailure.__table__).where(
        LoginFailure.__table__.c.username == name, LoginFailure.__table__.c.source == source))


def _minutes_left(locked_until, now):
    if locked_until is None:
        return current_app.config["LOGIN_LOCK_MINUTES"]
    return max(1, math.ceil((locked_until - now).total_seconds() / 60))


def check_password_step(username, password, source):
    """Step 1: count the attempt (per name and per name + source address), then judge the password."""
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    name, source = _normalise(username), (source or "unknown")[:64]
    now = utcnow()
    from_here, here_locked_until = _count_attempt(name, source, now)
    from_anywhere, _ = _count_attempt(name, ANY_SOURCE, now)
    db.session.commit()  # counted before the slow hash, and visible to every parallel request at once
    if from_here > limit:
        audit.record("login.locked", target=name, actor_name=name, detail=f"该地址对此用户名的登录失败已达 {limit} 次，本次未校验密码")
        db.session.commit()
        raise LoginError(LOCKED.format(minutes=_minutes_left(here_locked_until, now)))
    user = db.session.scalar(db.select(User).filter_by(username=name))
    # Hash even for an unknown name so the answer takes as long either way.
    valid = user.check_password(password or "") if user else (
        _dummy_user().check_password(password or "") and False)
    if not valid:
        audit.record("login.failed", actor=user, target=name, actor_name=name, detail="密码错误")
        db.session.commit()
        if from_here >= limit:
            raise LoginError(LOCKED.format(minutes=_minutes_left(here_locked_until, now)))
        raise LoginError(BAD_CREDENTIALS)
    if not user.is_enabled:
        audit.record("login.disabled", actor=user, target=name)
        db.session.commit()
        raise LoginError("该账号已停用，请联系系统管理员")
    _forget_attempts(name, source)  # this address knows the password; other addresses' counts stay
    despite_lock = from_anywhere > limit
    if despite_lock:
        audit.record("login.lock_bypass", actor=user, target=name,
                     detail="账号因其他地址多次登录失败而锁定；本地址密码正确，须使用新发送的短信验证码登录")
    db.session.commit()
    return PasswordPassed(user, despite_lock)


@cache
def _dummy_user():
    return User(password_hash=generate_password_hash(secrets.token_hex(16)))


def _hash_code(user_id, code):
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{user_id}:{code}".encode(), hashlib.sha256).hexdigest()


def send_login_code(user):
    """Send a fresh 6-digit code unless one was sent less than SMS_RESEND_SECONDS ago; returns its id."""
    config = current_app.config
    if not user.phone:
        raise LoginError("该账号未登记手机号码，无法发送短信验证码，请联系系统管理员")
    # The user's row lock serialises parallel sends, so the resend interval holds for them too.
    db.session.execute(db.select(User.id).where(User.id == user.id).with_for_update())
    now = utcnow()
    last = db.session.scalar(db.select(SmsCode).filter_by(user_id=user.id).order_by(SmsCode.id.desc()).limit(1))
    if last and (now - last.created_at).total_seconds() < config["SMS_RESEND_SECONDS"]:
        wait = config["SMS_RESEND_SECONDS"] - int((now - last.created_at).total_seconds())
        db.session.rollback()
        raise LoginError(f"验证码已发送，请 {wait} 秒后再重新获取")
    code = f"{secrets.randbelow(10**6):06d}"
    db.session.execute(db.update(SmsCode).where(SmsCode.user_id == user.id, SmsCode.used_at.is_(None))
                       .values(voided=True))
    sms = SmsCode(user_id=user.id, code_hash=_hash_code(user.id, code), created_at=now,
                  expires_at=now + timedelta(seconds=config["SMS_CODE_TTL_SECONDS"]))
    db.session.add(sms)
    db.session.flush()
    minutes = config["SMS_CODE_TTL_SECONDS"] // 60
    try:
        sender_from_config(config).send(user.phone, f"【山西省住建厅证照管理系统】您的登录验证码为 {code}，{minutes} 分钟内有效，请勿泄露。")
    except SmsError as exc:
        db.session.rollback()
        raise LoginError(str(exc)) from exc
    audit.record("login.code_sent", actor=user, target=user.masked_phone)
    sms_id = sms.id
    db.session.commit()
    return sms_id


def check_login_code(user, code, despite_lock=False, code_id=None):
    """Step 2: accept the latest unexpired, unused code and complete the login; SMS_MAX_ATTEMPTS tries.

    Each try is counted in SQL before the code is compared, and a right code is used once however many
    requests carry it. With `despite_lock` only `code_id` (the code sent after this password step) counts.
    A completed login ends the user's earlier sessions.
    """
    max_attempts = current_app.config["SMS_MAX_ATTEMPTS"]
    now = utcnow()
    if despite_lock and code_id is None:
        raise LoginError(NO_CODE)
    query = db.select(SmsCode).filter_by(user_id=user.id, voided=False, used_at=None)
    if despite_lock:
        query = query.filter_by(id=code_id)
    sms = db.session.scalar(query.order_by(SmsCode.id.desc()).limit(1))
    code = (code or "").strip()
    if sms is None:
        raise LoginError(NO_CODE)
    if sms.expires_at <= now:
        sms.voided = True
        db.session.commit()
        raise LoginError("验证码已过期，请重新获取")
    sms_id, code_hash = sms.id, sms.code_hash
    unused = (SmsCode.id == sms_id, SmsCode.used_at.is_(None), SmsCode.voided.is_(False))
    attempts = db.session.execute(sa.update(SmsCode).where(*unused).values(attempts=SmsCode.attempts + 1)
                                  .returning(SmsCode.attempts)).scalar()
    db.session.commit()  # counted before the comparison, visible to every parallel request
    if attempts is None:  # used or voided by a request that came first
        raise LoginError(NO_CODE)
    if attempts > max_attempts:
        raise LoginError(TOO_MANY_CODES)
    if not hmac.compare_digest(code_hash, _hash_code(user.id, code)):
        audit.record("login.code_failed", actor=user, target=user.username)
        left = max_attempts - attempts
        if left <= 0:
            db.session.execute(sa.update(SmsCode).where(SmsCode.id == sms_id).values(voided=True))
            db.session.commit()
            raise LoginError(TOO_MANY_CODES)
        db.session.commit()
        raise LoginError(f"验证码错误，还可尝试 {left} 次")
    if db.session.execute(sa.update(SmsCode).where(*unused).values(used_at=now).returning(SmsCode.id)).scalar() is None:
        db.session.rollback()
        raise LoginError(NO_CODE)
    user.last_login_at = now
    user.end_sessions()  # a new login ends the user's sessions elsewhere
    _forget_attempts(user.username, ANY_SOURCE)
    audit.record("login", actor=user, target=user.username,
                 detail="账号锁定期间以正确密码和新短信验证码登录" if despite_lock else "")
    db.session.commit()
    return user


def end_sessions(user):
    """退出: end this session and every other session of the user, on the server."""
    user.end_sessions()
    audit.record("logout", actor=user, target=user.username)
    db.session.commit()
