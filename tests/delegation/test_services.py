"""委托授权 services: every refused input writes nothing; grants cover exactly their scope, by date."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.access import may, scope_certificates
from portal.audit import AuditEntry
from portal.certificates.models import Certificate
from portal.delegation.models import Delegation, DelegationScope
from portal.delegation.services import DelegationForbidden, change_delegation, grant_delegation, \
    list_grants, revoke_delegation, today
from portal.extensions import db
from portal.forms import FieldError
from tests.delegation.helpers import DATONG_USCC, TAIYUAN_USCC, authority_id, backdate, datong_certificate, grant, \
    make_delegate, taiyuan_certificate, user


def _counts():
    return (db.session.scalar(sa.select(sa.func.count(Delegation.id))),
            db.session.scalar(sa.select(sa.func.count(DelegationScope.id))),
            db.session.scalar(sa.select(sa.func.count(AuditEntry.id))))


def _visible(username):
    query = scope_certificates(sa.select(Certificate.number), user(username), purpose="delegation")
    return set(db.session.scalars(query))


@pytest.fixture
def certs(demo):
    return {"taiyuan": taiyuan_certificate(1), "taiyuan_2": taiyuan_certificate(2), "datong": datong_certificate(1)}


def test_a_grant_is_stored_with_its_scope_and_audited(demo):
    g = grant(note="监理检查")
    assert (g.grantee.username, g.cert_type, g.operation_keys, g.note) == ("delegate", "crane", ["view"], "监理检查")
    assert g.authority_ids == {authority_id(TAIYUAN_USCC)} and g.granted_by.username == "admin"
    entry = db.session.scalar(sa.select(AuditEntry).filter_by(action="delegation.grant"))
    assert entry.actor_name == "admin" and "太原市住房和城乡建设局" in entry.detail and "delegate" in entry.detail


@pytest.mark.parametrize("kwargs, field, fragment", [
    (dict(operations=("view", "change")), "operations", "不可变更"),
    (dict(operations=()), "operations", "请勾选“查看”"),
    (dict(start=5, days=-1), "end_date", "早于开始日期"),
    (dict(start=-10, days=5), "end_date", "已经过去"),
    (dict(grantee="clerk"), "grantee", "只有“被授权用户”角色"),
    (dict(authorities=(), division_codes=("149999",)), "division_codes", "149999 不在山西省区划代码表中"),
    (dict(authorities=()), "authorities", "请至少选择一个发证机关"),
])
def test_bad_input_is_refused_with_a_chinese_message_and_nothing_written(demo, kwargs, field, fragment):
    before = _counts()
    with pytest.raises(FieldError) as refused:
        grant(**kwargs)
    assert refused.value.field == field and fragment in str(refused.value)
    assert _counts() == before


def test_a_disabled_delegate_cannot_receive_a_grant(demo):
    make_delegate("retired", enabled=False)
    with pytest.raises(FieldError, match="已停用"):
        grant(grantee="retired")
    assert _counts()[0] == 0


def test_overlapping_grants_are_refused_and_the_message_says_how_to_fix(demo):
    first = grant(days=30)
    before = _counts()
    for kwargs in (dict(start=10, days=30),  # same authority, overlapping dates
                   dict(authorities=(), division_codes=("140105",), start=20)):  # a county of that authority
        with pytest.raises(FieldError) as refused:
            grant(**kwargs)
        assert f"编号 {first.id}" in str(refused.value) and "先撤销原授权" in str(refused.value)
    assert _counts() == before
    # Not overlapping: after the first ends, another authority, or once the first is revoked.
    grant(start=31, days=10)
    grant(authorities=(DATONG_USCC,))
    revoke_delegation(user("admin"), first)
    grant(days=5)


def test_a_supervisor_cannot_grant_for_another_authority(demo):
    before = _counts()
    with pytest.raises(DelegationForbidden):
        grant(actor="supervisor", authorities=(DATONG_USCC,))
    with pytest.raises(DelegationForbidden):  # a made-up id is answered the same way
        grant_delegation(user("supervisor"), user("delegate").id, "crane", [9999], [], ["view"], today(), today())
    with pytest.raises(FieldError, match="不在您所属发证机关的管辖范围内"):
        grant(actor="supervisor", authorities=(), division_codes=("140212",))
    assert _counts() == before
    own = grant(actor="supervisor", authorities=(TAIYUAN_USCC,), division_codes=("140105",))
    assert own.granted_by.username == "supervisor"


def test_a_supervisor_sees_and_revokes_only_grants_within_their_authority(demo):
    mine = grant(actor="supervisor")
    theirs = grant(authorities=(DATONG_USCC,))
    mixed = grant(grantee=make_delegate("both"), authorities=(TAIYUAN_USCC, DATONG_USCC))
    assert [g.id for g in list_grants(user("supervisor"))] == [mine.id]
    assert {g.id for g in list_grants(user("admin"))} == {mine.id, theirs.id, mixed.id}
    for other in (theirs, mixed):
        with pytest.raises(DelegationForbidden):
            revoke_delegation(user("supervisor"), other)
        assert other.revoked_at is None
    revoke_delegation(user("supervisor"), mine)
    assert mine.revoked_at is not None and mine.revoked_by.username == "supervisor"


def test_clerks_and_delegates_cannot_grant(demo):
    for name in ("clerk", "delegate"):
        with pytest.raises(DelegationForbidden):
            grant(actor=name)
    assert _counts()[0] == 0


def test_delegate_sees_exactly_the_granted_certificates(certs):
    assert _visible("delegate") == set()
    grant()
    assert _visible("delegate") == {certs["taiyuan"].number, certs["taiyuan_2"].number}
    delegate = user("delegate")
    assert may(delegate, "view", certs["taiyuan"]) and may(delegate, "download", certs["taiyuan"])
    assert not may(delegate, "view", certs["datong"])
    assert not may(delegate, "cancel", certs["taiyuan"]) and not may(delegate, "change", certs["taiyuan"])


def test_a_county_grant_covers_only_that_county(certs):
    grant(authorities=(), division_codes=("140212",))
    assert _visible("delegate") == {certs["datong"].number}


def test_revocation_and_expiry_stop_a_grant_at_once(certs):
    g = grant()
    assert _visible("delegate")
    revoke_delegation(user("admin"), g)
    assert _visible("delegate") == set() and not may(user("delegate"), "view", certs["taiyuan"])
    assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id)).filter_by(action="delegation.revoke")) == 1
    with pytest.raises(FieldError, match="无需重复撤销"):
        revoke_delegation(user("admin"), g)

    expired = grant(days=10)
    backdate(expired, 40, 1)  # ended yesterday
    assert _visible("delegate") == set() and not may(user("delegate"), "view", certs["taiyuan"])
    future = grant(start=1, days=5)  # not yet begun
    assert _visible("delegate") == set()
    backdate(future, 0, 0)  # today only: both ends inclusive
    assert _visible("delegate") == {certs["taiyuan"].number, certs["taiyuan_2"].number}


def test_a_grant_stops_when_the_grantee_is_no_longer_a_delegate(certs):
    grant()
    delegate = user("delegate")
    delegate.role = "clerk"
    db.session.commit()
    assert _visible("delegate") == set()


def test_changing_the_end_date_is_checked_and_audited(demo):
    g = grant(days=30)
    with pytest.raises(FieldError, match="早于开始日期"):
        change_delegation(user("admin"), g, (g.start_date - timedelta(days=1)).isoformat(), "")
    change_delegation(user("admin"), g, (g.start_date + timedelta(days=60)).isoformat(), "延长")
    assert g.end_date == g.start_date + timedelta(days=60) and g.note == "延长"
    entry = db.session.scalar(sa.select(AuditEntry).filter_by(action="delegation.change"))
    assert "→" in entry.detail
    with pytest.raises(DelegationForbidden):
        change_delegation(user("supervisor"), grant(grantee=make_delegate("d2"), authorities=(DATONG_USCC,)),
                          today().isoformat(), "")
