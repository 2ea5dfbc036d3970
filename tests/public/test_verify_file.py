"""上传核验: anyone uploads a certificate PDF or OFD and is told its seal, signer and the certificate's state,
as `certs verify` judges it; the upload is bounded, rate-limited and CSRF-checked; bad files get a verdict."""
import io
import re

import pytest

from portal.auth.models import User
from portal.certificates.documents import deliverable_pdf, read_signed_pdf
from portal.certificates.issuing import cancel_certificate, issue_certificate
from portal.certificates.documents import certificate_ofd
from portal.extensions import db
from portal.platform.service import person_finder
from tests.factories import issuable_certificate, issuable_persons

URL = "/public/verify-file"


def _clerk():
    return db.session.scalar(db.select(User).filter_by(username="clerk"))


@pytest.fixture
def cert(demo):
    return issue_certificate(_clerk(), issuable_certificate(), issuable_persons())


def _upload(client, data, name="证照.pdf", **kwargs):
    return client.post(URL, data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data", **kwargs)


def _text(response):
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def test_the_form_is_public_and_linked_from_the_lookup(demo, client):
    page = client.get(URL)
    assert page.status_code == 200 and 'type="file"' in _text(page) and "退出" not in _text(page)
    assert URL in _text(client.get("/public/"))


def test_a_valid_signed_pdf_is_intact_names_its_signer_and_the_certificate(cert, client):
    response = _upload(client, read_signed_pdf(cert))
    body = _text(response)
    assert response.status_code == 200 and "验证通过" in body and cert.number in body
    assert cert.authority_name in body and "已发证（有效）" in body and "未被修改" in body
    assert re.search(r"签章时间</dt><dd>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", body)  # Beijing time, not '—'
    assert response.headers["Cache-Control"] == "no-store"


def test_a_tampered_pdf_fails_and_names_no_certificate(cert, client):
    data = bytearray(read_signed_pdf(cert))
    data[data.index(b"stream") + 20] ^= 0x01  # inside the signed range
    body = _text(_upload(client, bytes(data)))
    assert "验证未通过" in body and "已被修改或损坏" in body and "查无此证" in body
    assert cert.number not in body


def test_a_cancelled_certificate_file_says_cancelled_with_date_before_and_after(cert, client):
    original = read_signed_pdf(cert)
    cancel_certificate(_clerk(), cert, "设备已拆除", find_person=person_finder())
    day = cert.cancelled_at.isoformat()[:4]
    before = _text(_upload(client, original))
    assert "已注销（注销日期：" + day in before and "注销前出具" in before and "验证通过" not in before
    after = _text(_upload(client, deliverable_pdf(cert)))
    assert "带有“已注销”标记" in after and "电子签章</dt><dd><span class=\"tag ok\">有效" in after


def test_an_ofd_is_judged_by_its_electronic_seal(cert, client):
    body = _text(_upload(client, certificate_ofd(cert), "证照.ofd"))
    assert "验证通过" in body and "OFD" in body and cert.number in body and "印章名称" in body


@pytest.mark.parametrize("data", [b"", b"%PDF-1.7\n%garbage", b"PK\x03\x04" + b"\x00" * 100,
                                  b"\x89PNG\r\n\x1a\n" + b"\x00" * 64])
def test_garbage_truncated_or_wrong_files_get_a_verdict_not_a_trace(demo, client, data):
    response = _upload(client, data)
    body = _text(response)
    assert response.status_code in (200, 422) and "Traceback" not in body
    assert "验证未通过" in body or "请选择" in body


def test_a_truncated_signed_pdf_is_a_failed_verdict(cert, client):
    data = read_signed_pdf(cert)
    body = _text(_upload(client, data[: len(data) // 2]))
    assert "验证未通过" in body and "Traceback" not in body


def test_no_file_is_a_chinese_message(demo, client):
    response = client.post(URL, data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and "请选择要核验的电子证照文件" in _text(response)


@pytest.fixture
def app_config():
    return {"PUBLIC_VERIFY_MAX_MB": 1}


def test_a_file_over_the_bound_is_refused_in_chinese(demo, client):
    response = _upload(client, b"%PDF-1.7\n" + b"0" * (1024 * 1024 + 10))
    assert response.status_code == 413 and "文件超过 1 MB" in _text(response)
    huge = _upload(client, b"0" * (3 * 1024 * 1024))  # over the body's bound: refused before it is read
    assert huge.status_code == 413 and "文件超过 1 MB" in _text(huge)


def test_checks_are_rate_limited_per_client_ip(demo, client, app):
    for _ in range(app.config["PUBLIC_VERIFY_LIMIT"]):
        assert _upload(client, b"x").status_code != 429
    refused = _upload(client, b"x")
    assert refused.status_code == 429 and "过于频繁" in _text(refused)
    assert _upload(client, b"x", environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code != 429


def test_the_post_needs_its_csrf_token(demo, client, app):
    app.config["WTF_CSRF_ENABLED"] = True
    response = _upload(client, b"%PDF-1.7")
    assert response.status_code == 400 and "请刷新页面后重新选择文件" in _text(response)
    page = client.get(URL).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    accepted = client.post(URL, data={"csrf_token": token, "file": (io.BytesIO(b"%PDF-1.7"), "a.pdf")},
                           content_type="multipart/form-data")
    assert accepted.status_code == 200 and "验证未通过" in _text(accepted)


def test_an_ofd_made_after_the_cancellation_says_it_carries_the_mark(cert, client):
    before = certificate_ofd(cert)
    cancel_certificate(_clerk(), cert, "设备已拆除", find_person=person_finder())
    assert "注销前出具" in _text(_upload(client, before, "证照.ofd"))
    after = _text(_upload(client, certificate_ofd(cert), "证照.ofd"))
    assert "带有“已注销”标记" in after and "已注销（注销日期：" in after
