"""Managing users and issuing authorities; every change is audited in the same transaction."""
import re

from portal import audit
from portal.auth.models import ROLES, User
from portal.certificates import keys, seal_keys
from portal.certificates.authorities import Authority
from portal.certificates.ofd_documents import queue_missing_ofds
from portal.extensions import db
from portal.forms import FieldError
from portal.standard import codes
from portal.standard.values import Uscc


def _authorities(ids):
    found = db.session.scalars(db.select(Authority).where(Authority.id.in_(ids or []))).all()
    if len(found) != len(set(ids or [])):
        raise FieldError("所选发证机关不存在", "authorities")
    return found


def _check_user_fields(role, authorities, can_sign):
    if role not in ROLES:
        raise FieldError("角色不正确", "role")
    if role in {"clerk", "supervisor"} and not authorities:
        raise FieldError(f"{ROLES[role]}必须属于至少一个发证机关", "authorities")
    if can_sign and role != "clerk":
        raise FieldError("只有录证人员可以拥有签章权限", "can_sign")


def create_user(actor, username, password, role, phone="", display_name="", authority_ids=(), can_sign=False):
    """Create a user; refuses a taken username."""
    username = (username or "").strip().lower()
    if db.session.scalar(db.select(User).filter_by(username=username)):
        raise FieldError(f"用户名 {username} 已存在，请换一个", "username")
    if not password or len(password) < 8:
        raise FieldError("初始密码至少 8 位", "password")
    authorities = _authorities(authority_ids)
    _check_user_fields(role, authorities, can_sign)
    user = User(username=username, display_name=display_name or username, role=role, phone=phone or "",
                can_sign=bool(can_sign), authorities=authorities)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", actor=actor, target=username,
                 detail=f"角色={ROLES[role]} 签章权限={'是' if can_sign else '否'} 机关={','.join(a.name for a in authorities)}")
    db.session.commit()
    return user


def update_user(actor, user, role, phone, display_name, authority_ids, can_sign):
    """Change a user's role, phone, authorities and 签章权限."""
    authorities = _authorities(authority_ids)
    _check_user_fields(role, authorities, can_sign)
    if user.id == actor.id and role != "admin":
        raise FieldError("不能取消自己的系统管理员角色", "role")
    user.role, user.phone, user.display_name = role, phone or "", display_name or user.username
    user.authorities, user.can_sign = authorities, bool(can_sign)
    audit.record("user.update", actor=actor, target=user.username,
                 detail=f"角色={ROLES[role]} 手机={user.masked_phone} 签章权限={'是' if can_sign else '否'} "
                        f"机关={','.join(a.name for a in authorities)}")
    db.session.commit()
    return user


def set_user_enabled(actor, user, enabled):
    """Enable or disable a user; disabling ends the user's sessions at once."""
    if user.id == actor.id and not enabled:
        raise FieldError("不能停用自己的账号")
    user.is_enabled = bool(enabled)
    if not enabled:
        user.end_sessions()
    audit.record("user.enable" if enabled else "user.disable", actor=actor, target=user.username)
    db.session.commit()


def reset_password(actor, user, password):
    """Set a new password and end the user's sessions."""
    if not password or len(password) < 8:
        raise FieldError("新密码至少 8 位", "password")
    user.set_password(password)
    user.end_sessions()
    audit.record("user.reset_password", actor=actor, target=user.username)
    db.session.commit()


def parse_jurisdiction(text, division_code):
    """County codes from free text; empty means every code of the authority's city."""
    tokens = [t for t in re.split(r"[\s,，;；、]+", text or "") if t]
    if not tokens:
        division = codes.division(division_code)
        if division is None:
            raise FieldError(f"行政区划代码 {division_code} 不在山西省区划代码表中", "division_code")
        return {d.code for d in codes.divisions_of_city(division.city_code)}
    unknown = [t for t in tokens if codes.division(t) is None]
    if unknown:
        raise FieldError(f"管辖区县代码 {'、'.join(unknown)} 不在山西省区划代码表中，请对照代码表填写 6 位代码",
                         "jurisdiction")
    return set(tokens)


def save_authority(actor, authority, name, uscc, division_code, jurisdiction_text):
    """Create (authority=None) or update an issuing authority after checking USCC and codes."""
    name, uscc, division_code = (name or "").strip(), (uscc or "").strip().upper(), (division_code or "").strip()
    try:
        Uscc.parse(uscc)
    except ValueError as exc:
        raise FieldError(str(exc), "uscc") from exc
    if codes.division(division_code) is None:
        raise FieldError(f"行政区划代码 {division_code} 不在山西省区划代码表中，请填写 6 位代码，例如 140100",
                         "division_code")
    for field, value, label in (("name", name, "名称"), ("uscc", uscc, "统一社会信用代码")):
        clash = db.session.scalar(db.select(Authority).filter_by(**{field: value}))
        if clash and clash is not authority:
            raise FieldError(f"已有发证机关使用该{label}：{clash.name}", field)
    jurisdiction = parse_jurisdiction(jurisdiction_text, division_code)
    creating = authority is None
    authority = authority or Authority()
    authority.name, authority.uscc, authority.division_code = name, uscc, division_code
    authority.jurisdiction = jurisdiction
    db.session.add(authority)
    audit.record("authority.create" if creating else "authority.update", actor=actor, target=uscc,
                 detail=f"{name} 区划={division_code} 管辖={len(jurisdiction)} 个区县")
    db.session.commit()
    return authority


def create_signing_key(actor, authority, replace=False):
    """The authority's keys under the development root CAs (audited): the ECDSA key and certificate of the
    PDF and the SM2 key, certificate and electronic seal of the OFD, whichever it lacks (both on replace).
    Then its certificates' missing OFDs are sealed in the background; returns how many.

    Replacing keeps earlier PDFs and OFDs valid: they carry the old certificates, still issued by the roots.
    """
    if keys.has_key(authority.uscc) and seal_keys.has_seal_key(authority.uscc) and not replace:
        raise FieldError(f"{authority.name} 已有电子签章密钥；如需更换，请选择“更换密钥”")
    keys.init_key(authority.uscc, authority.name, overwrite=replace)
    audit.record("authority.key_replace" if replace else "authority.key_create", actor=actor, target=authority.uscc,
                 detail=authority.name)
    db.session.commit()
    return queue_missing_ofds(authority.uscc)
