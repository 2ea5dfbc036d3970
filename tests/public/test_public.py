"""公开查询: QR verification and the narrow, rate-limited lookup — no login."""
from datetime import timedelta

import pytest

from portal.auth.models import User
from portal.certificates.documents import verify_url
from portal.certificates.issuing import IssueOptions, cancel_certificate, issue_certificate
from portal.extensions import db
from portal.public.services import SlidingWindowLimiter
from tests.factories import issuable_certificate, issuable_persons, make_uscc

EVIL = "<script>alert(1)</script>恶意单位"
USCC2 = make_uscc("91140105MA0CRAN05")


@pytest.fixture(autouse=True)
def no_background_jobs(monkeypatch):
    monkeypatch.setattr("portal.background.queues.enqueue", lambda *args, **kwargs: None)


def _issue(n, **overrides):
    clerk = db.session.scalar(db.select(User).filter_by(username="clerk"))
    return issue_certificate(clerk, issuable_certificate(n, **overrides), issuable_persons(),
                             options=IssueOptions(seal_now=False))


@pytest.fixture
def certs(demo):
    valid = _issue(1, holder_name="山西公开查询建筑有限公司", valid_until="2030-12-31")
    other = _issue(2, holder_name="山西公开查询建筑有限公司", holder_uscc=USCC2)
    cancelled = _issue(3, holder_name="晋中注销测试公司")
    clerk = db.session.scalar(db.select(User).filter_by(username="clerk"))
    cancel_certificate(clerk, cancelled, "设备已拆除")
    return {"valid": valid, "other": other, "cancelled": cancelled}


def _text(response):
    return response.get_data(as_text=True)


# -- verification (the QR target) ------------------------------------------------------------------

def test_qr_url_is_served_by_the_verify_route(certs, client):
    path = "/" + verify_url(certs["valid"]).split("://", 1)[1].split("/", 1)[1]
    assert path == f"/public/verify/{certs['valid'].verify_token}"
    assert client.get(path).status_code == 200


def test_verify_valid_certificate_without_login(certs, client):
    cert = certs["valid"]
    response = client.get(f"/public/verify/{cert.verify_token}")
    body = _text(response)
    assert response.status_code == 200 and "<html" in body
    for text in (cert.number, "山西公开查询建筑有限公司", "塔式起重机", cert.record_number, cert.project_name,
                 "太原市住房和城乡建设局", "2025-06-01", "2030-12-31", "有效"):
        assert text in body
    assert "已注销" not in body
    assert response.headers["Cache-Control"] == "no-store" and response.headers["Referrer-Policy"] == "no-referrer"
    assert "退出" not in body and "主菜单" not in body  # no menu for the public
    assert cert.persons[0].id_number not in body


def test_verify_without_expiry_says_long_term(certs, client):
    assert "长期有效" in _text(client.get(f"/public/verify/{certs['other'].verify_token}"))


def test_verify_cancelled_certificate_shows_cancelled_with_date(certs, client):
    cert = certs["cancelled"]
    body = _text(client.get(f"/public/verify/{cert.verify_token}"))
    beijing_day = (cert.cancelled_at + timedelta(hours=8)).date().isoformat()
    assert cert.number in body and f"已注销（{beijing_day}）" in body and f"注销日期：{beijing_day}" in body
    assert "有效证书" not in body


@pytest.mark.parametrize("token", ["unknown-token-0000000000", "x", "a" * 200, "%3Cscript%3E"])
def test_unknown_token_is_no_such_certificate(demo, client, token):
    response = client.get(f"/public/verify/{token}")
    assert response.status_code == 404
    body = _text(response)
    assert "查无此证" in body and "<html" in body


# -- lookup ----------------------------------------------------------------------------------------

def test_lookup_by_number_exact(certs, client):
    cert = certs["valid"]
    body = _text(client.get("/public/", query_string={"kind": "number", "q": cert.number}))
    assert cert.number in body and certs["other"].number not in body
    half = cert.number.replace("（", "(").replace("）", ")")
    assert cert.number in _text(client.get("/public/", query_string={"kind": "number", "q": half}))
    partial = _text(client.get("/public/", query_string={"kind": "number", "q": cert.number[:-1]}))
    assert "查无此证" in partial and cert.number not in partial


def test_lookup_by_uscc_exact(certs, client):
    body = _text(client.get("/public/", query_string={"kind": "uscc", "q": USCC2.lower()}))
    assert certs["other"].number in body and certs["valid"].number not in body
    assert "查无此证" in _text(client.get("/public/", query_string={"kind": "uscc", "q": USCC2[:10]}))


def test_lookup_by_name_prefix_of_four_or_more(certs, client):
    body = _text(client.get("/public/", query_string={"kind": "name", "q": "山西公开查询"}))
    assert certs["valid"].number in body and certs["other"].number in body
    assert certs["cancelled"].number not in body


def test_lookup_by_full_name_and_cancelled_shows_date(certs, client):
    cert = certs["cancelled"]
    body = _text(client.get("/public/", query_string={"kind": "name", "q": "晋中注销测试公司"}))
    assert cert.number in body and "已注销（" in body and "注销日期" in body


@pytest.mark.parametrize("query", ["", "   ", "山西", "山西公"])
def test_empty_or_short_name_query_lists_nothing(certs, client, query):
    body = _text(client.get("/public/", query_string={"kind": "name", "q": query}))
    assert all(c.number not in body for c in certs.values())
    if query.strip():
        assert "查无此证" in body and "至少 4 个字" in body
    else:
        assert "查无此证" not in body


def test_lookup_shows_at_most_twenty(demo, client):
    for n in range(1, 23):
        _issue(n, holder_name="批量公开测试有限公司")
    body = _text(client.get("/public/", query_string={"kind": "name", "q": "批量公开测试"}))
    assert body.count('class="panel public-certificate"') == 20 and "超过 20 条" in body


def test_like_wildcards_are_literal(certs, client):
    body = _text(client.get("/public/", query_string={"kind": "name", "q": "%%%%"}))
    assert "查无此证" in body and all(c.number not in body for c in certs.values())


def test_lookup_is_rate_limited_per_client_ip(demo, client):
    args = {"kind": "number", "q": "140105T（2023）0000001"}
    for _ in range(30):
        assert client.get("/public/", query_string=args).status_code == 200
    response = client.get("/public/", query_string=args)
    assert response.status_code == 429 and "查询过于频繁" in _text(response) and response.headers["Retry-After"]
    other_ip = client.get("/public/", query_string=args, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other_ip.status_code == 200
    assert client.get("/public/").status_code == 200  # the empty form costs nothing


def test_sliding_window_forgets_old_hits():
    limiter = SlidingWindowLimiter(limit=2, window=60)
    assert limiter.hit("a", now=0) and limiter.hit("a", now=1) and not limiter.hit("a", now=2)
    assert limiter.hit("b", now=2)
    assert limiter.hit("a", now=60.5) and not limiter.hit("a", now=60.6)


def test_sliding_window_is_thread_safe():
    import threading
    limiter = SlidingWindowLimiter(limit=100, window=60)
    allowed = []

    def worker():
        allowed.extend(limiter.hit("ip", now=1.0) for _ in range(50))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert allowed.count(True) == 100


def test_sliding_window_bounds_its_memory():
    limiter = SlidingWindowLimiter(limit=1, window=60, max_keys=10)
    for n in range(100):
        limiter.hit(f"ip{n}", now=float(n))
    assert len(limiter._hits) <= 10


# -- escaping --------------------------------------------------------------------------------------

def test_markup_in_a_holder_name_is_escaped_on_public_pages(demo, client):
    cert = _issue(1, holder_name=EVIL)
    pages = [client.get(f"/public/verify/{cert.verify_token}"),
             client.get("/public/", query_string={"kind": "number", "q": cert.number}),
             client.get("/public/", query_string={"kind": "name", "q": EVIL}),
             client.get("/public/", query_string={"kind": "name", "q": "<img src=x onerror=alert(1)>"})]
    for response in pages:
        body = _text(response)
        assert "<script>alert(1)" not in body and "<img src=x" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;恶意单位" in _text(pages[0])
    assert cert.number in _text(pages[2])


# -- 电子证照标识 and the OFD copy -----------------------------------------------------------------

def test_lookup_by_identifier_exact(certs, client):
    cert = certs["valid"]
    body = _text(client.get("/public/", query_string={"kind": "license_id", "q": f" {cert.license_id.lower()} "}))
    assert cert.number in body and cert.license_id in body and certs["other"].number not in body
    partial = _text(client.get("/public/", query_string={"kind": "license_id", "q": cert.license_id[:-1]}))
    assert "查无此证" in partial and cert.number not in partial


def test_verify_page_shows_the_identifier_and_hands_out_the_sealed_ofd(demo, client):
    from portal.certificates.documents import seal_certificate
    from portal.certificates.ofd_documents import verify_ofd_bytes
    cert = _issue(1)
    pending = _text(client.get(f"/public/verify/{cert.verify_token}"))
    assert cert.license_id in pending and "下载 OFD" not in pending  # not sealed yet
    missing = client.get(f"/public/verify/{cert.verify_token}/ofd")
    assert missing.status_code == 404 and "OFD 电子证照尚未生成" in _text(missing)
    seal_certificate(cert.id)
    page = _text(client.get(f"/public/verify/{cert.verify_token}"))
    assert f"/public/verify/{cert.verify_token}/ofd" in page and "下载 OFD" in page
    response = client.get(f"/public/verify/{cert.verify_token}/ofd")
    assert response.status_code == 200 and response.mimetype == "application/ofd"
    assert "no-store" in response.headers["Cache-Control"]
    verdict = verify_ofd_bytes(response.data)
    assert verdict.signature_valid and verdict.certificate.id == cert.id and not verdict.problems
    assert client.get(f"/public/verify/{'x' * 32}/ofd").status_code == 404
