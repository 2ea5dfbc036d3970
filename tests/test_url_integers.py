"""Integers from the URL are bounded: a huge id is a 404, a huge page the last page, never a 500."""
import pytest

from portal.audit import AuditEntry
from portal.delegation.models import Delegation
from portal.extensions import db
from portal.paging import MAX_PAGE, bounded_int, page_arg
from portal.background.models import Task
from tests.delegation.helpers import TAIYUAN_USCC, authority_id, grant, taiyuan_certificate, user

HUGE = "99999999999999999999"


@pytest.mark.parametrize("raw, expected", [
    ("3", 3), (" 3 ", 3), ("", 1), (None, 1), ("0", 1), ("-2", 1), ("2.5", 1), ("abc", 1), ("３", 1), ("٣", 1),
    (HUGE, MAX_PAGE), ("9" * 5000, MAX_PAGE), (str(MAX_PAGE + 1), MAX_PAGE),
])
def test_page_numbers_are_parsed_and_bounded(raw, expected):
    assert page_arg({} if raw is None else {"page": raw}) == expected


@pytest.mark.parametrize("raw, expected", [
    ("7", 7), (7, 7), ("2147483647", 2147483647), ("2147483648", None), (HUGE, None), ("0", None), ("-1", None),
    ("1e3", None), ("", None), (None, None), ("七", None),
])
def test_ids_are_parsed_and_bounded(raw, expected):
    assert bounded_int(raw) == expected


def test_every_route_answers_a_huge_id_with_a_404(demo, auth, client):
    auth.login("admin")
    wrong = []
    for rule in demo.url_map.iter_rules():
        ints = [name for name, converter in rule._converters.items() if converter.__class__.__name__.endswith("IntConverter")]
        if not ints:
            continue
        for value in (HUGE, "2147483648"):
            url = rule.build({**{p: "x" for p in rule.arguments}, **{p: value for p in ints}})[1]
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                status = client.open(url, method=method).status_code
                if status != 404:
                    wrong.append(f"{method} {url}: {status}")
    assert not wrong, "\n".join(wrong)


def test_a_huge_page_of_the_task_list_is_its_last_page(demo, login_as):
    clerk = user("clerk")
    for n in range(25):
        db.session.add(Task(kind="import", file_name=f"批次{n:02d}.zip", operator_id=clerk.id,
                            authority_id=clerk.authorities[0].id, state="done"))
    db.session.commit()
    page = login_as("clerk").get(f"/tasks/?page={HUGE}")
    assert page.status_code == 200 and "第 2 / 2 页" in page.get_data(as_text=True)


def test_a_huge_page_of_the_audit_log_is_its_last_page(demo, login_as):
    db.session.add_all([AuditEntry(action="test.entry", actor_name="admin") for _ in range(60)])
    db.session.commit()
    page = login_as("admin").get(f"/admin/audit?page={HUGE}")
    assert page.status_code == 200 and "第 2 / 2 页" in page.get_data(as_text=True)


@pytest.fixture
def twenty_one_certificates(demo):
    for n in range(1, 22):
        taiyuan_certificate(n)


def test_a_huge_page_of_the_certificate_list_is_its_last_page(twenty_one_certificates, login_as):
    page = login_as("clerk").get(f"/maintenance/crane?page={HUGE}")
    assert page.status_code == 200 and "第 2 / 2 页" in page.get_data(as_text=True)


def test_a_huge_page_of_the_delegates_list_is_its_last_page(twenty_one_certificates, login_as):
    grant_id = grant(grantee="delegate").id
    delegate = login_as("delegate")
    for query in (f"page={HUGE}", "page=-3", "page=abc", f"page={'9' * 5000}"):
        response = delegate.get(f"/delegation/{grant_id}/certificates?{query}")
        assert response.status_code == 200, query
    assert "第 2 / 2 页" in delegate.get(f"/delegation/{grant_id}/certificates?page={HUGE}").get_data(as_text=True)


def test_huge_integers_in_the_wizards_arguments_are_refused_not_a_500(login_as):
    client = login_as("clerk")
    assert client.get(f"/entry/crane/new?issued={HUGE}").status_code == 200
    assert client.get(f"/entry/crane/person-row?index={HUGE}").status_code == 400
    assert client.get("/entry/crane/person-row?index=-1").status_code == 400
    assert client.post("/entry/crane/new", data={"action": "back", "draft_attachment": HUGE}).status_code == 200


def test_a_huge_grantee_id_is_a_field_error_not_a_500(login_as):
    from portal.delegation.services import today
    response = login_as("admin").post("/delegation/grants/new", data={
        "grantee": HUGE, "cert_type": "crane", "authorities": [str(authority_id(TAIYUAN_USCC))],
        "operations": ["view"], "start_date": today().isoformat(),
        "end_date": today().isoformat()})
    assert response.status_code == 422 and "请选择被授权用户" in response.get_data(as_text=True)
