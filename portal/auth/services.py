"""Login with password then SMS code (manual §一); lockout; code issue and check."""
import hashlib
import hmac
import secrets
from datetime import timedelta
from functools import cache

from flask import current_app
from werkzeug.security import generate_password_hash

from portal import audit
from portal.auth.models import LoginFailure, SmsCode, User
from portal.clock import utcnow
from portal.extensions import db
from portal.sms import SmsError, sender_from_config

BAD_CREDENTIALS = "用户名或密码错误，请重新输入"
LOCKED = "登录失败次数过多，账号已暂时锁定，请 {minutes} 分钟后再试"


class LoginError(Exception):
    """A refused login step; the message is shown to the user as is."""


def _normalise(username):
    return (username or "").strip().lower()


def check_password_step(username, password):
    """Step 1: return the user when the password is right; count failures per typed name."""
    name = _normalise(username)
    now = utcnow()
    failure = db.session.get(LoginFailure, name)
    lock_minutes = current_app.config["LOGIN_LOCK_MINUTES"]
    if failure and failure.locked_until and failure.locked_until > now:
        remaining = max(1, int((failure.locked_until - now).total_seconds() // 60) + 1)
        audit.record("login.locked", target=name, actor_name=name)
        db.session.commit()
        raise LoginError(LOCKED.format(minutes=remaining))
    user = db.session.scalar(db.select(User).filter_by(username=name))
    # Hash even for an unknown name so the answer takes as long either way.
    valid = user.check_password(password or "") if user else (
        _dummy_user().check_password(password or "") and False)
    if not valid:
        failure = failure or LoginFailure(username=name, failures=0)
        db.session.add(failure)
        failure.failures = (0 if failure.locked_until and failure.locked_until <= now else failure.failures) + 1
        failure.last_failure_at = now
        failure.locked_until = None
        message = BAD_CREDENTIALS
        if failure.failures >= current_app.config["LOGIN_MAX_FAILURES"]:
            failure.locked_until = now + timedelta(minutes=lock_minutes)
            failure.failures = 0
            message = LOCKED.format(minutes=lock_minutes)
        audit.record("login.failed", actor=user, target=name, actor_name=name, detail="密码错误")
        db.session.commit()
        raise LoginError(message)
    if not user.is_enabled:
        audit.record("login.disabled", actor=user, target=name)
        db.session.commit()
        raise LoginError("该账号已停用，请联系系统管理员")
    if failure:
        db.session.delete(failure)
        db.session.commit()
    return user


@cache
def _dummy_user():
    return User(password_hash=generate_password_hash(secrets.token_hex(16)))


def _hash_code(user_id, code):
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{user_id}:{code}".encode(), hashlib.sha256).hexdigest()


def send_login_code(user):
    """Send a fresh 6-digit code unless one was sent less than SMS_RESEND_SECONDS ago."""
    config = current_app.config
    if not user.phone:
        raise LoginError("该账号未登记手机号码，无法发送短信验证码，请联系系统管理员")
    now = utcnow()
    last = db.session.scalar(db.select(SmsCode).filter_by(user_id=user.id).order_by(SmsCode.id.desc()).limit(1))
    if last and (now - last.created_at).total_seconds() < config["SMS_RESEND_SECONDS"]:
        wait = config["SMS_RESEND_SECONDS"] - int((now - last.created_at).total_seconds())
        raise LoginError(f"验证码已发送，请 {wait} 秒后再重新获取")
    code = f"{secrets.randbelow(10**6):06d}"
    db.session.execute(db.update(SmsCode).where(SmsCode.user_id == user.id, SmsCode.used_at.is_(None))
                       .values(voided=True))
    db.session.add(SmsCode(user_id=user.id, code_hash=_hash_code(user.id, code), created_at=now,
                           expires_at=now + timedelta(seconds=config["SMS_CODE_TTL_SECONDS"])))
    minutes = config["SMS_CODE_TTL_SECONDS"] // 60
    try:
        sender_from_config(config).send(user.phone, f"【山西省住建厅证照管理系统】您的登录验证码为 {code}，{minutes} 分钟内有效，请勿泄露。")
    except SmsError as exc:
        db.session.rollback()
        raise LoginError(str(exc)) from exc
    audit.record("login.code_sent", actor=user, target=user.masked_phone)
    db.session.commit()


def check_login_code(user, code):
    """Step 2: accept the latest unexpired, unused code; 5 wrong tries void it."""
    config = current_app.config
    now = utcnow()
    sms = db.session.scalar(db.select(SmsCode).filter_by(user_id=user.id, voided=False, used_at=None)
                            .order_by(SmsCode.id.desc()).limit(1))
    code = (code or "").strip()
    if sms is None:
        raise LoginError("请先点击“发送短信验证码”获取验证码")
    if sms.expires_at <= now:
        sms.voided = True
        db.session.commit()
        raise LoginError("验证码已过期，请重新获取")
    if not hmac.compare_digest(sms.code_hash, _hash_code(user.id, code)):
        sms.attempts += 1
        left = config["SMS_MAX_ATTEMPTS"] - sms.attempts
        audit.record("login.code_failed", actor=user, target=user.username)
        if left <= 0:
            sms.voided = True
            db.session.commit()
            raise LoginError("验证码错误次数过多，该验证码已失效，请重新获取")
        db.session.commit()
        raise LoginError(f"验证码错误，还可尝试 {left} 次")
    sms.used_at = now
    user.last_login_at = now
    audit.record("login", actor=user, target=user.username)
    db.session.commit()
    return user
