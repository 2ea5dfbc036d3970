"""R9 through the real client: the platform's own answer, with its reason, is what the clerk reads."""
import pytest

from portal.auth.models import User
from portal.certificates.issuing import IssueRefused, issue_certificate
from portal.certificates.models import Certificate
from portal.extensions import db
from portal.platform.service import person_finder
from tests.factories import PLATFORM_PEOPLE, issuable_certificate, issuable_persons


@pytest.fixture
def app_config(closed_port_url):
    return {"PLATFORM_URL": closed_port_url, "PLATFORM_CONNECT_TIMEOUT": 0.5, "PLATFORM_TIMEOUT": 0.5}


def test_an_unreachable_platform_refuses_the_issue_and_the_message_says_why(demo):
    clerk = db.session.scalar(db.select(User).filter_by(username="clerk"))
    with pytest.raises(IssueRefused) as refused:
        issue_certificate(clerk, issuable_certificate(), issuable_persons(), find_person=person_finder())
    first, second = [e.message for e in refused.value.errors if e.rule == "R9"]
    assert PLATFORM_PEOPLE["1108"]["name"] in first and "无法连接" in first and "本次发证未办理" in first
    assert PLATFORM_PEOPLE["1109"]["name"] in second and "暂时无法访问" in second  # asked once while down
    assert "查无此人" not in first + second
    assert db.session.scalar(db.select(db.func.count(Certificate.id))) == 0
