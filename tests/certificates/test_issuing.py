"""The issuing service: rules → number → store → seal → report outbox; cancellation."""
import threading

import pytest

from portal.auth.models import User
from portal.certificates.issuing import IssueOptions, IssueRefused, cancel_certificate, issue_certificate
from portal.certificates.models import Certificate, NumberCounter
from portal.extensions import db
from portal.platform.models import ReportOutbox
from portal.platform.service import person_finder
from tests.factories import issuable_certificate, issuable_persons


def _user(name):
    return db.session.scalar(db.select(User).filter_by(username=name))


def test_issue_assigns_the_first_number_stores_seals_and_queues_a_report(demo):
    cert = issue_certificate(_user("clerk"), issuable_certificate(), issuable_persons(), find_person=person_finder())
    assert cert.number == "140105T（2025）0000001"
    assert cert.status == "issued" and cert.pdf_state == "signed", cert.pdf_error
    assert len(cert.persons) == 10 and cert.business["tower_jib_length"] == "60"
    outbox = db.session.scalars(db.select(ReportOutbox)).all()
    assert [(o.certificate_id, o.operation) for o in outbox] == [(cert.id, "issue")]
    assert outbox[0].payload["certNum"] == cert.number
    assert cert.license_id == "1.2.156.3005.2.JZQZJXSYDJZ.11140100MB0000002K.140105T20250000001.001.T"
    assert outbox[0].payload["zzeCertID"] == cert.license_id
    assert cert.ofd_state == "signed" and cert.ofd_path.endswith(f"{cert.ecert_id}.ofd"), cert.ofd_error


def test_a_batch_gives_each_certificate_its_identifier_and_a_later_type_code_changes_only_new_ones(demo, app):
    from portal.certificates.authorities import Authority
    from portal.certificates.issuing import BatchRow, check_context, issue_batch
    from portal.platform.service import person_finder
    from portal.standard.rules import check_and_clean
    from portal.standard.license_id import LicenseId, serial_for_certificate_number
    clerk = _user("clerk")
    authority = db.session.scalar(db.select(Authority).filter_by(uscc="11140100MB0000002K"))
    ctx = check_context(authority, person_finder())

    def row(n):
        values, persons = issuable_certificate(n), issuable_persons()
        checked = check_and_clean(values, persons, ctx)
        assert checked.errors == []
        return BatchRow(str(n), values, persons, [], checked)
    rows = [row(n) for n in (1, 2, 3)]
    issued = issue_batch(clerk, authority, rows, import_task_id=None)
    certs = [db.session.get(Certificate, issued[str(n)].id) for n in (1, 2, 3)]
    for cert in certs:
        assert cert.license_id == str(LicenseId.build("JZQZJXSYDJZ", authority.uscc,
                                                      serial_for_certificate_number(cert.number)))
    app.config["LICENSE_TYPE_CODE"] = "OFFICIAL42"
    later = issue_certificate(clerk, issuable_certificate(4), issuable_persons(), options=IssueOptions(seal_now=False))
    assert LicenseId.parse(later.license_id).type_code == "OFFICIAL42"
    db.session.expire_all()
    assert all(LicenseId.parse(c.license_id).type_code == "JZQZJXSYDJZ" for c in certs)


def test_numbers_are_consecutive_per_authority_year(demo):
    clerk = _user("clerk")
    numbers = [issue_certificate(clerk, issuable_certificate(n), issuable_persons(),
                                 options=IssueOptions(seal_now=False)).number for n in range(1, 4)]
    assert numbers == [f"140105T（2025）000000{i}" for i in range(1, 4)]


def test_clerk_without_signing_right_is_refused_and_nothing_is_written(demo):
    with pytest.raises(IssueRefused) as refused:
        issue_certificate(_user("clerk2"), issuable_certificate(), issuable_persons())
    assert refused.value.errors[0].message.startswith("您没有签章权限，无法生成电子证照") and "系统管理员" in refused.value.errors[0].message
    assert db.session.scalar(db.select(db.func.count(Certificate.id))) == 0
    assert db.session.scalar(db.select(db.func.count(NumberCounter.year))) == 0


def test_rule_errors_refuse_with_every_error(demo):
    values = issuable_certificate(location="117.4937,37.9017", holder_uscc="91350100M000100Y4Z")
    with pytest.raises(IssueRefused) as refused:
        issue_certificate(_user("clerk"), values, issuable_persons())
    rules = {e.rule for e in refused.value.errors}
    assert {"R4", "R6"} <= rules
    assert db.session.scalar(db.select(db.func.count(Certificate.id))) == 0


def test_r12_refuses_a_second_valid_certificate_for_a_record_number(demo):
    clerk = _user("clerk")
    issue_certificate(clerk, issuable_certificate(), issuable_persons(), options=IssueOptions(seal_now=False))
    with pytest.raises(IssueRefused) as refused:
        issue_certificate(clerk, issuable_certificate(), issuable_persons())
    assert [e.rule for e in refused.value.errors] == ["R12"]


def test_r12_compares_any_spelling_of_the_record_number_and_stores_the_canonical_one(demo):
    from portal.certificates.issuing import record_number_taken, taken_record_numbers
    clerk = _user("clerk")
    cert = issue_certificate(clerk, issuable_certificate(record_number="晋aa－t00001"), issuable_persons(),
                             options=IssueOptions(seal_now=False))
    assert cert.record_number == "晋AA-T00001"
    assert record_number_taken("晋AAT00001") and taken_record_numbers(["晋AA—T00001", "晋AA-T00002"]) == {"晋AA-T00001"}
    with pytest.raises(IssueRefused) as refused:
        issue_certificate(clerk, issuable_certificate(record_number="晋AA—T00001"), issuable_persons())
    assert [e.rule for e in refused.value.errors] == ["R12"]


def test_the_authority_name_must_match_its_code(demo):
    with pytest.raises(IssueRefused) as refused:
        issue_certificate(_user("clerk"), issuable_certificate(authority_name="大同市住房和城乡建设局"), issuable_persons())
    assert [(e.rule, e.message) for e in refused.value.errors] == [
        ("R4", "发证机关：“大同市住房和城乡建设局”不是发证机关代码 11140100MB0000002K 对应的发证机关，应为“太原市住房和城乡建设局”")]


def test_another_authority_cannot_issue_in_taiyuan_name(demo):
    with pytest.raises(IssueRefused) as refused:
        issue_certificate(_user("datong"), issuable_certificate(), issuable_persons())
    assert any(e.key == "authority_uscc" for e in refused.value.errors)


def test_r9_person_not_on_the_platform_is_refused_by_name(demo):
    persons = issuable_persons()
    driver = next(p for p in persons if p["type_code"] == "1109")
    driver["name"] = "查无此人甲"
    with pytest.raises(IssueRefused) as refused:
        issue_certificate(_user("clerk"), issuable_certificate(), persons, find_person=person_finder())
    assert any(e.rule == "R9" and "查无此人甲" in e.message for e in refused.value.errors)


def test_the_same_submission_token_issues_once(demo):
    clerk = _user("clerk")
    options = IssueOptions(seal_now=False, submission_token="token-1")
    first = issue_certificate(clerk, issuable_certificate(), issuable_persons(), options=options)
    second = issue_certificate(clerk, issuable_certificate(), issuable_persons(), options=options)
    assert first.id == second.id
    assert db.session.scalar(db.select(db.func.count(Certificate.id))) == 1


def test_cancel_keeps_the_number_void_and_the_next_issue_takes_a_new_one(demo):
    clerk = _user("clerk")
    first = issue_certificate(clerk, issuable_certificate(), issuable_persons(), options=IssueOptions(seal_now=False))
    with pytest.raises(IssueRefused):
        cancel_certificate(clerk, first, "  ")
    cancel_certificate(clerk, first, "设备已拆除", find_person=person_finder())
    assert first.status == "cancelled" and first.cancel_reason == "设备已拆除"
    again = issue_certificate(clerk, issuable_certificate(), issuable_persons(), options=IssueOptions(seal_now=False))
    assert again.number == "140105T（2025）0000002"
    operations = db.session.scalars(db.select(ReportOutbox.operation).order_by(ReportOutbox.id)).all()
    assert operations == ["issue", "cancel", "issue"]


def test_cancel_refused_when_the_1113_person_is_not_on_the_platform(demo):
    clerk = _user("clerk")
    persons = issuable_persons()
    cert = issue_certificate(clerk, issuable_certificate(), persons, options=IssueOptions(seal_now=False))
    installer = next(p for p in cert.persons if p.type_code == "1113")
    installer.cert_no = "晋A000000000000"
    db.session.commit()
    with pytest.raises(IssueRefused) as refused:
        cancel_certificate(clerk, cert, "设备已拆除", find_person=person_finder())
    assert refused.value.errors[0].rule == "R9"
    db.session.refresh(cert)
    assert cert.status == "issued"


@pytest.mark.parametrize("letter, business", [
    ("S", {"hoist_rated_load": "2000", "hoist_rated_speed": "36"}),
    ("W", {"lift_rated_load": "1000", "lift_rated_speed": "30"}),
])
def test_hoists_and_material_lifts_are_issued_with_their_own_business_fields(demo, letter, business):
    values = issuable_certificate(record_number=f"晋AA-{letter}00001", crane_type=letter, tower_jib_length="",
                                  tower_max_load="", tower_max_height="", tower_tip_load="", **business)
    cert = issue_certificate(_user("clerk"), values, issuable_persons(), find_person=person_finder())
    assert cert.number == f"140105{letter}（2025）0000001" and cert.business == business
    assert cert.pdf_state == "signed"
