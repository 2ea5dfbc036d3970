"""委托授权 services: grant, change and revoke delegations (audited), and what an active grant covers.

"Active" is judged by date on every call (the business clock's day, both ends inclusive) and never cached:
a revoked or expired grant stops working on the very next request.
"""
import re
from datetime import date

import sqlalchemy as sa

from portal import audit
from portal.access import scope_certificates
from portal.auth.models import ROLES, User
from portal.certificates.authorities import Authority
from portal.certificates.models import Certificate
from portal.certificates.search import contains, number_matches
from portal.clock import today, utcnow
from portal.delegation.models import CERT_TYPES, OPERATIONS, Delegation, DelegationScope
from portal.display import normalize_record_number
from portal.extensions import db
from portal.forms import FieldError
from portal.paging import bounded_int, paginate
from portal.standard import codes
from portal.standard.rules import NO_CHANGE

PER_PAGE = 20
MANAGERS = ("admin", "supervisor")  # who grants: admins for every authority, supervisors for their own
GRANTABLE = {"crane": {"view"}}  # operations each type can be granted; 'change' never for crane (R13)


class DelegationForbidden(Exception):
    """The actor may not grant for (or see) what the request names; answered 403/404, never explained."""


def can_manage(user):
    """May this user open the grant pages (admins; supervisors within their authority)?"""
    return bool(user and user.is_authenticated and user.is_active and user.role in MANAGERS)


# ---------------------------------------------------------------------------------------------------
# What an actor may grant, and which grants they see.

def manageable_authorities(actor):
    """The authorities this actor may grant for: all for an admin, their own for a supervisor."""
    if actor.role == "admin":
        return db.session.scalars(sa.select(Authority).order_by(Authority.id)).all()
    if actor.role == "supervisor":
        return list(actor.authorities)
    return []


def _manageable_codes(actor):
    """County codes a supervisor may name: their authorities' jurisdictions (None = any, for admins)."""
    if actor.role == "admin":
        return None
    return set().union(*(a.jurisdiction for a in actor.authorities)) if actor.authorities else set()


def _visible_clause(actor):
    """SQL over Delegation: grants whose whole scope lies within what this actor may grant."""
    if actor.role == "admin":
        return sa.true()
    if actor.role != "supervisor":
        return sa.false()
    own_ids = [a.id for a in actor.authorities]
    own_codes = sorted(_manageable_codes(actor))
    outside = sa.select(DelegationScope.id).where(
        DelegationScope.delegation_id == Delegation.id,
        sa.or_(sa.and_(DelegationScope.authority_id.is_not(None), DelegationScope.authority_id.not_in(own_ids)),
               sa.and_(DelegationScope.division_code.is_not(None), DelegationScope.division_code.not_in(own_codes))))
    return ~sa.exists(outside)


def list_grants(actor):
    """The grants this actor manages, newest first (supervisors: only those within their authority)."""
    query = sa.select(Delegation).where(_visible_clause(actor)).order_by(Delegation.id.desc())
    return db.session.scalars(query).all()


def get_managed_grant(actor, grant_id):
    """A grant this actor manages, or None (another authority's grant looks like a missing one)."""
    return db.session.scalar(sa.select(Delegation).where(Delegation.id == grant_id, _visible_clause(actor)))


def grantee_choices():
    """Users that may receive grants: enabled users of role 'delegate'."""
    return db.session.scalars(sa.select(User).where(User.role == "delegate", User.is_enabled.is_(True))
                              .order_by(User.username)).all()


# ---------------------------------------------------------------------------------------------------
# Checking a grant's input.

def parse_codes(text):
    """County codes from free text (comma, space, 、 or ; separated), in order, without duplicates."""
    tokens = [t for t in re.split(r"[\s,，;；、]+", text or "") if t]
    return list(dict.fromkeys(tokens))


def _parse_date(value, label, field):
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        raise FieldError(f"请填写{label}，格式为 YYYY-MM-DD，例如 {today().isoformat()}", field) from None


def _grantee(grantee_id):
    user_id = bounded_int(grantee_id)
    user = db.session.get(User, user_id) if user_id else None
    if user is None:
        raise FieldError("请选择被授权用户", "grantee")
    if user.role != "delegate":
        raise FieldError(f"用户 {user.username} 的角色是“{ROLES.get(user.role, user.role)}”；只有“被授权用户”角色的账号"
                              "可以接受委托授权，请先在用户管理中新建或调整被授权用户", "grantee")
    if not user.is_enabled:
        raise FieldError(f"用户 {user.username} 已停用，不能接受委托授权；请先在用户管理中启用该账号", "grantee")
    return user


def _operations(cert_type, operations):
    ops = list(dict.fromkeys(operations or []))
    unknown = [op for op in ops if op not in OPERATIONS]
    if unknown:
        raise FieldError(f"未知的操作权限：{'、'.join(unknown)}", "operations")
    if "change" in ops and "change" not in GRANTABLE[cert_type]:
        raise FieldError(f"不能授予“变更”权限：{NO_CHANGE}。请只勾选“查看”", "operations")
    if "view" not in ops:
        raise FieldError("请勾选“查看”权限：委托授权至少包含查看", "operations")
    return ops


def _scope(actor, authority_ids, division_codes):
    """Check the scope against the actor's reach; an authority id outside it is DelegationForbidden."""
    try:
        ids = sorted({int(i) for i in authority_ids or []})
    except (TypeError, ValueError):
        raise DelegationForbidden() from None
    allowed = {a.id: a for a in manageable_authorities(actor)}
    if any(i not in allowed for i in ids):
        # Same answer for another authority's id and a made-up one: nothing about it leaks.
        raise DelegationForbidden()
    authorities = [allowed[i] for i in ids]
    division_list = list(dict.fromkeys(division_codes or []))
    unknown = [c for c in division_list if codes.division(c) is None]
    if unknown:
        raise FieldError(f"区划代码 {'、'.join(unknown)} 不在山西省区划代码表中，请填写 6 位区/县级代码，"
                              "例如 140105（太原市小店区）", "division_codes")
    reach = _manageable_codes(actor)
    outside = [c for c in division_list if reach is not None and c not in reach]
    if outside:
        raise FieldError(f"区划代码 {'、'.join(outside)} 不在您所属发证机关的管辖范围内，只能委托本机关管辖的区县",
                              "division_codes")
    if not authorities and not division_list:
        raise FieldError("请至少选择一个发证机关或填写一个区/县级区划代码作为授权范围", "authorities")
    return authorities, division_list


def _overlaps(scope_a, scope_b):
    """Do two scopes ((authority objects), {codes}) name any certificate in common?"""
    (auth_a, codes_a), (auth_b, codes_b) = scope_a, scope_b
    ids_a, ids_b = {a.id for a in auth_a}, {a.id for a in auth_b}
    if ids_a & ids_b or codes_a & codes_b:
        return True
    # A county code overlaps an authority whose jurisdiction contains it.
    return any(codes_a & a.jurisdiction for a in auth_b) or any(codes_b & a.jurisdiction for a in auth_a)


def _check_no_overlap(grantee, cert_type, authorities, division_list, start, end, ignore_id=None):
    query = sa.select(Delegation).where(
        Delegation.grantee_id == grantee.id, Delegation.cert_type == cert_type, Delegation.revoked_at.is_(None),
        Delegation.start_date <= end, Delegation.end_date >= start)
    if ignore_id is not None:
        query = query.where(Delegation.id != ignore_id)
    mine = (authorities, set(division_list))
    for other in db.session.scalars(query):
        theirs = ([s.authority for s in other.scopes if s.authority is not None], other.division_codes)
        if _overlaps(mine, theirs):
            raise FieldError(
                f"用户 {grantee.username} 已有一条有效期重叠、范围重叠的委托授权（编号 {other.id}，{scope_words(other)}，"
                f"{other.start_date.isoformat()} 至 {other.end_date.isoformat()}）。请调整有效期或范围使其不重叠，"
                "或先撤销原授权后再授权", "authorities")


def _check_dates(start, end, day):
    if end < start:
        raise FieldError(f"结束日期 {end.isoformat()} 早于开始日期 {start.isoformat()}，请把结束日期设为开始日期当天或之后",
                              "end_date")
    if end < day:
        raise FieldError(f"结束日期 {end.isoformat()} 已经过去，这样的授权不会生效；请填写今天（{day.isoformat()}）或之后的日期",
                              "end_date")


def scope_words(grant):
    """The scope in words: '太原市住房和城乡建设局；140105 太原市小店区'."""
    parts = [s.authority.name for s in grant.scopes if s.authority is not None]
    for code in sorted(grant.division_codes):
        division = codes.division(code)
        parts.append(f"{code} {division.full_name}" if division else code)
    return "；".join(parts)


# ---------------------------------------------------------------------------------------------------
# Grant, change, revoke.

def grant_delegation(actor, grantee_id, cert_type, authority_ids, division_codes, operations, start_date, end_date,
                     note="", *, on=None):
    """Grant a delegation after every check; raises FieldError/DelegationForbidden, writing nothing."""
    if not can_manage(actor):
        raise DelegationForbidden()
    day = on or today()
    if cert_type not in CERT_TYPES:
        raise FieldError("请选择证照类型（目前只有建筑起重机械使用登记证书）", "cert_type")
    authorities, division_list = _scope(actor, authority_ids, division_codes)
    grantee = _grantee(grantee_id)
    ops = _operations(cert_type, operations)
    start = _parse_date(start_date, "开始日期", "start_date")
    end = _parse_date(end_date, "结束日期", "end_date")
    _check_dates(start, end, day)
    _check_no_overlap(grantee, cert_type, authorities, division_list, start, end)
    grant = Delegation(grantee=grantee, cert_type=cert_type, operations=",".join(ops), start_date=start,
                       end_date=end, note=(note or "").strip()[:500], granted_by=actor)
    grant.scopes = [DelegationScope(authority=a) for a in authorities] + \
                   [DelegationScope(division_code=c) for c in division_list]
    db.session.add(grant)
    db.session.flush()
    audit.record("delegation.grant", actor=actor, target=f"delegation:{grant.id}",
                 detail=f"被授权用户={grantee.username} 类型={grant.cert_type_name} 范围={scope_words(grant)} "
                        f"权限={grant.operation_names} 有效期={start.isoformat()}至{end.isoformat()}")
    db.session.commit()
    return grant


def change_delegation(actor, grant, end_date, note, *, on=None):
    """Change a grant's end date and note (scope and grantee stay: grant anew for those); audited."""
    if not can_manage(actor) or get_managed_grant(actor, grant.id) is None:
        raise DelegationForbidden()
    if grant.revoked_at is not None:
        raise FieldError(f"授权编号 {grant.id} 已撤销，不能修改；如需继续授权请新建", "end_date")
    day = on or today()
    end = _parse_date(end_date, "结束日期", "end_date")
    _check_dates(grant.start_date, end, day)
    authorities = [s.authority for s in grant.scopes if s.authority is not None]
    _check_no_overlap(grant.grantee, grant.cert_type, authorities, list(grant.division_codes), grant.start_date, end,
                      ignore_id=grant.id)
    before = grant.end_date
    grant.end_date, grant.note = end, (note or "").strip()[:500]
    audit.record("delegation.change", actor=actor, target=f"delegation:{grant.id}",
                 detail=f"被授权用户={grant.grantee.username} 结束日期 {before.isoformat()}→{end.isoformat()}")
    db.session.commit()
    return grant


def revoke_delegation(actor, grant):
    """Revoke a grant now; it stops working on the next request. Revoking twice is refused."""
    if not can_manage(actor) or get_managed_grant(actor, grant.id) is None:
        raise DelegationForbidden()
    if grant.revoked_at is not None:
        raise FieldError(f"授权编号 {grant.id} 已于此前撤销，无需重复撤销")
    grant.revoked_at, grant.revoked_by = utcnow(), actor
    audit.record("delegation.revoke", actor=actor, target=f"delegation:{grant.id}",
                 detail=f"被授权用户={grant.grantee.username} 范围={scope_words(grant)}")
    db.session.commit()
    return grant


# ---------------------------------------------------------------------------------------------------
# What active grants cover: the SQL the access hooks and the delegate's pages use.

def _active(query, day):
    return query.where(Delegation.revoked_at.is_(None), Delegation.start_date <= day, Delegation.end_date >= day)


def _covers(grant_filter):
    """Certificate clause: authority in the grants' authorities OR project division in their codes."""
    authority_ids = sa.select(DelegationScope.authority_id).join(Delegation).where(
        DelegationScope.authority_id.is_not(None), *grant_filter)
    division_codes = sa.select(DelegationScope.division_code).join(Delegation).where(
        DelegationScope.division_code.is_not(None), *grant_filter)
    # Every certificate is of the crane type today; a second type would add its type column here.
    return sa.or_(Certificate.authority_id.in_(authority_ids), Certificate.project_division.in_(division_codes))


def delegation_scope(user):
    """Access hook: SQL clause over Certificate for the user's grants active today; None for non-delegates."""
    if user.role != "delegate":
        return None
    day = today()
    return _covers([Delegation.grantee_id == user.id, Delegation.cert_type == "crane",
                    Delegation.revoked_at.is_(None), Delegation.start_date <= day, Delegation.end_date >= day])


def delegation_allows(user, cert, action):
    """Access hook: may a delegate view/download this certificate through an active grant today?"""
    if action not in ("view", "download") or user.role != "delegate":
        return False
    clause = delegation_scope(user)
    return db.session.scalar(sa.select(sa.func.count(Certificate.id)).where(Certificate.id == cert.id, clause)) > 0


def active_grants(user):
    """The user's grants active today, oldest first."""
    query = _active(sa.select(Delegation).where(Delegation.grantee_id == user.id), today())
    return db.session.scalars(query.order_by(Delegation.start_date, Delegation.id)).all()


def active_grant(user, grant_id):
    """The user's own grant with this id if it is active today, else None."""
    query = _active(sa.select(Delegation).where(Delegation.id == grant_id, Delegation.grantee_id == user.id), today())
    return db.session.scalar(query)


def _in_grant(user, grant):
    """Certificates the user may see by delegation (hook) AND within this one grant's scope."""
    base = scope_certificates(sa.select(Certificate), user, purpose="delegation")
    return base.where(_covers([Delegation.id == grant.id]))


def search_granted(user, grant, number="", holder_name="", record_number="", page=1):
    """The certificates of one grant, filtered in SQL (any part of 证书编号 / 使用单位, 备案编号), one page."""
    query = _in_grant(user, grant)
    if number.strip():
        query = query.where(number_matches(number))
    if holder_name.strip():
        query = query.where(contains(Certificate.holder_name, holder_name))
    if record_number.strip():
        query = query.where(Certificate.record_number == normalize_record_number(record_number))
    return paginate(query.order_by(Certificate.id.desc()), page, PER_PAGE)


def granted_certificate(user, grant, certificate_id):
    """One certificate of this grant, or None (outside the grant looks like a missing one)."""
    return db.session.scalar(_in_grant(user, grant).where(Certificate.id == certificate_id))
