"""Certificates of both demo authorities and grants for the delegation tests."""
from datetime import timedelta

from portal.auth.models import User
from portal.certificates.issuing import IssueOptions, issue_certificate
from portal.clock import today
from portal.delegation.services import grant_delegation
from portal.extensions import db
from tests.factories import issuable_certificate, issuable_persons

TAIYUAN_USCC = "11140100MB0000002K"
DATONG_USCC = "11140200MB0000003U"


def user(name):
    return db.session.scalar(db.select(User).filter_by(username=name))


def authority_id(uscc):
    from portal.certificates.authorities import Authority
    return db.session.scalar(db.select(Authority.id).filter_by(uscc=uscc))


def taiyuan_certificate(n=1, seal=False, **overrides):
    """A Taiyuan certificate issued by clerk (晋AA-T0000n, project in 140105)."""
    return issue_certificate(user("clerk"), issuable_certificate(n, **overrides), issuable_persons(),
                             options=IssueOptions(seal_now=seal))


def datong_certificate(n=1, seal=False, **overrides):
    """A Datong certificate issued by datong (晋BC-T0000n, project in 140212)."""
    values = issuable_certificate(n, authority_name="大同市住房和城乡建设局", authority_uscc=DATONG_USCC,
                                  record_number=f"晋BC-T{n:05d}", project_division="140212",
                                  project_address="山西省大同市云州区测试路 2 号", permit_number="140212202501150101",
                                  holder_name="大同测试建筑有限公司")
    values.update(overrides)
    return issue_certificate(user("datong"), values, issuable_persons(), options=IssueOptions(seal_now=seal))


def make_delegate(username="lapsed", enabled=True, role="delegate"):
    """Another user (a delegate by default) with a demo-style password and phone."""
    from portal.cli import demo_password
    phone = "139" + str(abs(hash(username)) % 10**8).zfill(8)
    person = User(username=username, display_name=username, role=role, phone=phone, is_enabled=enabled)
    person.set_password(demo_password(username))
    db.session.add(person)
    db.session.commit()
    return person


def grant(actor="admin", grantee="delegate", authorities=(TAIYUAN_USCC,), division_codes=(), start=0, days=30,
          operations=("view",), note=""):
    """Grant through the service: start/days relative to today (start may be negative)."""
    day = today()
    actor_user = user(actor) if isinstance(actor, str) else actor
    grantee_user = user(grantee) if isinstance(grantee, str) else grantee
    return grant_delegation(actor_user, grantee_user.id, "crane", [authority_id(u) for u in authorities],
                            list(division_codes), list(operations), day + timedelta(days=start),
                            day + timedelta(days=start + days), note)


def backdate(grant_row, start_days_ago, end_days_ago):
    """Move a grant into the past (expired), as time passing would."""
    day = today()
    grant_row.start_date = day - timedelta(days=start_days_ago)
    grant_row.end_date = day - timedelta(days=end_days_ago)
    db.session.commit()
