"""证照维护 pages: scoped list and search (page and htmx fragment), 查看, PDF, attachments, 注销, 重新上报."""
import pytest
from flask import g

from portal.auth.models import User
from portal.certificates.attachments import AttachmentUpload
from portal.certificates.issuing import IssueOptions, issue_certificate
from portal.certificates.models import Certificate
from portal.extensions import db
from portal.maintenance.forms import parse_search_args
from portal.display import mask_id_number
from portal.maintenance.services import search_certificates
from portal.platform.models import ReportOutbox
from tests.factories import issuable_certificate, issuable_persons, make_uscc

DATONG = dict(authority_uscc="11140200MB0000003U", authority_name="大同市住房和城乡建设局",
              project_division="140213", permit_number="140213202501150101",
              project_address="山西省大同市平城区测试路 2 号")
USCC2 = make_uscc("91140105MA0CRAN05")
EVIL = "<script>alert(1)</script>恶意单位"


def _user(name):
    return db.session.scalar(db.select(User).filter_by(username=name))


def _issue(username="clerk", n=1, seal=False, attachments=(), **overrides):
    if username == "datong":
        overrides = {**DATONG, "record_number": f"晋BU-T{n:05d}", **overrides}
    return issue_certificate(_user(username), issuable_certificate(n, **overrides), issuable_persons(),
                             attachments, options=IssueOptions(seal_now=seal))


@pytest.fixture(autouse=True)
def no_background_jobs(monkeypatch):
    """Sealing and reporting jobs are left queued: these tests look at pages, not at workers."""
    enqueued = []
    monkeypatch.setattr("portal.background.queues.enqueue", lambda path, *args, **kwargs: enqueued.append(path))
    return enqueued


@pytest.fixture
def certs(demo):
    """Three Taiyuan certificates and one of Datong."""
    taiyuan = [
        _issue("clerk", 1, holder_name="山西太原第一建筑有限公司", project_name="阳光花园一期"),
        _issue("clerk", 2, holder_name="山西太原第二建筑有限公司", project_name="阳光花园二期",
               holder_uscc=USCC2, issue_date="2025-03-01"),
        _issue("clerk", 3, holder_name="晋中路桥集团", project_name="滨河大桥", issue_date="2025-05-20"),
    ]
    datong = _issue("datong", 1, holder_name="大同煤建集团", project_name="云冈新城")
    return {"taiyuan": taiyuan, "datong": datong}


def _text(response):
    return response.get_data(as_text=True)


# -- who may open what -----------------------------------------------------------------------------

def test_clerk_sees_only_own_authority_certificates(certs, login_as):
    page = _text(login_as("clerk").get("/maintenance/crane"))
    for cert in certs["taiyuan"]:
        assert cert.number in page
    assert certs["datong"].number not in page and "大同煤建集团" not in page


def test_datong_clerk_sees_only_datong(certs, login_as):
    page = _text(login_as("datong").get("/maintenance/crane"))
    assert certs["datong"].number in page
    assert all(c.number not in page for c in certs["taiyuan"])


def test_admin_sees_all_and_supervisor_sees_authority(certs, login_as, auth):
    page = _text(login_as("admin").get("/maintenance/crane"))
    assert all(c.number in page for c in certs["taiyuan"] + [certs["datong"]])
    auth.logout()
    page = _text(login_as("supervisor").get("/maintenance/crane"))
    assert all(c.number in page for c in certs["taiyuan"]) and certs["datong"].number not in page


def test_delegate_is_refused_the_maintenance_area(demo, login_as):
    client = login_as("delegate")
    assert client.get("/maintenance/").status_code == 403
    assert client.get("/maintenance/crane").status_code == 403


def test_anonymous_is_sent_to_login(demo, client):
    response = client.get("/maintenance/crane")
    assert response.status_code in (302, 401) and "/auth/login" in response.headers.get("Location", "/auth/login")


def test_type_card_links_to_the_list(demo, login_as):
    page = _text(login_as("clerk").get("/maintenance/"))
    assert "建筑起重机械使用登记证书(标准化)" in page and "/maintenance/crane" in page


# -- search ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, expected", [
    ({"number": "140105T（2025）0000002"}, [2]),
    ({"number": "140105T(2025)0000002"}, [2]),  # half-width parentheses accepted
    ({"holder_name": "山西太原"}, [2, 1]),
    ({"holder_name": "太原"}, [2, 1]), ({"holder_name": "第二建筑"}, [2]),  # any part of the name
    ({"number": "0000002"}, [2]), ({"number": "t(2025)000000"}, [3, 2, 1]),  # any part, ASCII parentheses
    ({"number": "（２０２５）0000003"}, [3]), ({"number": " 140105T (2025) 0000001 "}, [1]),
    ({"project_name": "花园"}, [2, 1]), ({"project_name": "大桥"}, [3]),
    ({"holder_uscc": USCC2.lower()}, [2]),
    ({"record_number": "晋aa-t00003"}, [3]),
    ({"record_number": "晋ＡＡ—Ｔ00003"}, [3]), ({"record_number": " 晋AAT00003 "}, [3]),  # any spelling of one number
    ({"project_name": "阳光花园"}, [2, 1]),
    ({"status": "issued", "issued_from": "2025-05-01", "issued_to": "2025-05-31"}, [3]),
    ({"issued_to": "2025-03-31"}, [2]),
    ({"status": "cancelled"}, []),
])
def test_each_filter_narrows_the_list(certs, args, expected):
    filters, page, errors = parse_search_args(args)
    assert errors == []
    found = search_certificates(_user("clerk"), filters, page)
    assert [c.number[-1] for c in found.items] == [str(n) for n in expected]


def test_search_escapes_like_wildcards(certs):
    filters, _, _ = parse_search_args({"holder_name": "%"})
    assert search_certificates(_user("admin"), filters).total == 0


def test_report_state_and_crane_type_filters(certs):
    first, second, third = certs["taiyuan"]
    first.report_state, second.report_state = "failed", "collected"
    third.crane_type = "S"
    db.session.commit()
    clerk = _user("clerk")

    def found(**args):
        filters, _, errors = parse_search_args(args)
        assert errors == []
        return [c.id for c in search_certificates(clerk, filters).items]

    assert found(report_state="failed") == [first.id]
    assert found(report_state="failed", holder_name="第二") == []
    assert found(crane_type="s") == [third.id]
    assert found(crane_type="T") == [second.id, first.id]


def test_search_through_the_page_and_pager_keeps_filters(demo, login_as):
    for n in range(1, 23):
        _issue("clerk", n, holder_name=f"分页测试建筑公司{n:02d}")
    client = login_as("clerk")
    page = _text(client.get("/maintenance/crane?holder_name=分页测试"))
    assert "共 22 条" in page and "分页测试建筑公司22" in page and "分页测试建筑公司02" not in page
    assert "page=2&amp;holder_name=" in page or "holder_name=%E5%88%86%E9%A1%B5%E6%B5%8B%E8%AF%95&amp;page=2" in page
    second = _text(client.get("/maintenance/crane?holder_name=分页测试&page=2"))
    assert "分页测试建筑公司02" in second and "分页测试建筑公司01" in second and "分页测试建筑公司03" not in second


def test_htmx_search_returns_only_the_rows_fragment(certs, login_as):
    response = login_as("clerk").get("/maintenance/crane?record_number=晋AA-T00001", headers={"HX-Request": "true"})
    body = _text(response)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert "<html" not in body and body.lstrip().startswith('<div id="certificate-rows">')
    assert certs["taiyuan"][0].number in body and certs["taiyuan"][1].number not in body


def test_full_page_has_the_htmx_search_form(certs, login_as):
    response = login_as("clerk").get("/maintenance/crane")
    body = _text(response)
    assert "HX-Request" in response.headers["Vary"] and "<html" in body
    assert 'hx-target="#certificate-rows"' in body and 'hx-push-url="true"' in body and 'id="certificate-rows"' in body


def test_boosted_request_gets_the_whole_page(certs, login_as):
    body = _text(login_as("clerk").get("/maintenance/crane", headers={"HX-Request": "true", "HX-Boosted": "true"}))
    assert "<html" in body


@pytest.mark.parametrize("args", ["issued_from=2025-02-30", "issued_to=abc", "issued_from=2025-06-01&issued_to=2025-01-01",
                                  "status=bogus", "report_state=bogus", "crane_type=X"])
def test_bad_filter_input_is_a_chinese_message_not_an_error(certs, login_as, args):
    client = login_as("clerk")
    response = client.get(f"/maintenance/crane?{args}")
    assert response.status_code == 200
    assert "alert-danger" in _text(response)
    fragment = _text(client.get(f"/maintenance/crane?{args}", headers={"HX-Request": "true"}))
    assert "alert-danger" in fragment and "<html" not in fragment


def test_impossible_date_names_the_field(certs, login_as):
    body = _text(login_as("clerk").get("/maintenance/crane?issued_from=2025-02-30"))
    assert "发证日期（起）" in body and "2025-02-30" in body and "不是有效的日期" in body


# -- 查看 --------------------------------------------------------------------------------------------

def test_detail_shows_sections_masked_ids_and_a_disabled_change(certs, login_as):
    cert = certs["taiyuan"][0]
    body = _text(login_as("clerk").get(f"/maintenance/crane/{cert.id}"))
    for heading in ("基本信息", "照面信息", "业务信息", "相关人员", "附件", "上报状态", "办理记录"):
        assert heading in body
    person = cert.persons[0]
    assert mask_id_number(person.id_number) in body and person.id_number not in body
    assert mask_id_number("140105198503126233") == "140105********6233"
    assert "建筑起重机械使用登记证书只提供新申请录入、注销，不可变更" in body
    assert '<button type="button" class="button" disabled' in body and ">变更</button>" in body
    assert "待上报" in body and "新发证" in body
    assert 'name="csrf_token"' in body and "/cancel" in body  # the clerk may cancel


def test_supervisor_sees_detail_without_cancel_form(certs, login_as):
    cert = certs["taiyuan"][0]
    body = _text(login_as("supervisor").get(f"/maintenance/crane/{cert.id}"))
    assert cert.number in body and f"/maintenance/crane/{cert.id}/cancel" not in body


def test_another_authority_certificate_is_404_everywhere(certs, login_as):
    client = login_as("clerk")
    other = certs["datong"]
    assert client.get(f"/maintenance/crane/{other.id}").status_code == 404
    assert client.get(f"/maintenance/crane/{other.id}/pdf").status_code == 404
    assert client.get(f"/maintenance/crane/{other.id}/attachments/1").status_code == 404
    assert client.post(f"/maintenance/crane/{other.id}/cancel", data={"reason": "x"}).status_code == 404
    assert client.post(f"/maintenance/crane/{other.id}/resend-report").status_code == 404
    assert client.get("/maintenance/crane/999999").status_code == 404
    db.session.refresh(other)
    assert other.status == "issued"


def test_pdf_opens_inline_once_signed(demo, login_as):
    cert = _issue("clerk", 1, seal=True)
    assert cert.pdf_state == "signed", cert.pdf_error
    response = login_as("clerk").get(f"/maintenance/crane/{cert.id}/pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert response.headers["Content-Disposition"].startswith("inline")


def test_pdf_not_yet_signed_is_a_chinese_404(certs, login_as):
    cert = certs["taiyuan"][0]
    response = login_as("clerk").get(f"/maintenance/crane/{cert.id}/pdf")
    assert response.status_code == 404 and "电子证照尚未生成" in _text(response) and "生成中" in _text(response)


def test_attachment_downloads_under_its_name_only_from_its_certificate(demo, login_as):
    scan = b"%PDF-1.4 scanned permit\n%%EOF"
    first = _issue("clerk", 1, attachments=[AttachmentUpload("施工许可证.pdf", scan)])
    second = _issue("clerk", 2)
    client = login_as("clerk")
    attachment = first.attachments[0]
    assert "施工许可证.pdf" in _text(client.get(f"/maintenance/crane/{first.id}"))
    response = client.get(f"/maintenance/crane/{first.id}/attachments/{attachment.id}")
    assert response.status_code == 200 and response.data == scan
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    assert client.get(f"/maintenance/crane/{second.id}/attachments/{attachment.id}").status_code == 404


# -- 注销 and 重新上报 ---------------------------------------------------------------------------------

def test_cancel_without_reason_shows_a_message_and_changes_nothing(certs, login_as):
    cert = certs["taiyuan"][0]
    response = login_as("clerk").post(f"/maintenance/crane/{cert.id}/cancel", data={"reason": "  "})
    assert response.status_code == 422 and "注销原因：为必填项" in _text(response)
    db.session.refresh(cert)
    assert cert.status == "issued"


def test_cancel_marks_cancelled_and_queues_a_cancel_report(certs, login_as):
    cert = certs["taiyuan"][0]
    client = login_as("clerk")
    response = client.post(f"/maintenance/crane/{cert.id}/cancel", data={"reason": "设备已拆除"})
    assert response.status_code == 303
    body = _text(client.get(response.headers["Location"]))
    assert "已注销" in body and "设备已拆除" in body
    assert f"/maintenance/crane/{cert.id}/cancel" not in body
    db.session.refresh(cert)
    assert cert.status == "cancelled"
    operations = db.session.scalars(db.select(ReportOutbox.operation).filter_by(certificate_id=cert.id)).all()
    assert "cancel" in operations
    again = client.post(f"/maintenance/crane/{cert.id}/cancel", data={"reason": "再次注销"})
    assert again.status_code == 409 and "已注销，不能重复注销" in _text(again)


def test_cancel_refused_by_r9_is_shown_in_chinese(certs, login_as):
    cert = certs["taiyuan"][0]
    installer = next(p for p in cert.persons if p.type_code == "1113")
    installer.name = "查无此人乙"
    db.session.commit()
    response = login_as("clerk").post(f"/maintenance/crane/{cert.id}/cancel", data={"reason": "设备已拆除"})
    assert response.status_code == 422 and "查无此人乙" in _text(response)
    db.session.refresh(cert)
    assert cert.status == "issued"


def test_supervisor_may_not_cancel(certs, login_as):
    cert = certs["taiyuan"][0]
    assert login_as("supervisor").post(f"/maintenance/crane/{cert.id}/cancel",
                                       data={"reason": "x"}).status_code == 403


def test_resend_is_offered_and_works_only_for_a_failed_report(certs, login_as):
    cert = certs["taiyuan"][0]
    client = login_as("supervisor")
    assert "重新上报" not in _text(client.get(f"/maintenance/crane/{cert.id}"))
    assert client.post(f"/maintenance/crane/{cert.id}/resend-report").status_code == 409
    row = db.session.scalar(db.select(ReportOutbox).filter_by(certificate_id=cert.id))
    row.state, row.last_error = "failed", "超时"
    cert.report_state, cert.report_message = "failed", "已重试 8 次仍未成功：超时"
    db.session.commit()
    body = _text(client.get(f"/maintenance/crane/{cert.id}"))
    assert "上报失败" in body and "已重试 8 次仍未成功" in body and "重新上报" in body
    response = client.post(f"/maintenance/crane/{cert.id}/resend-report")
    assert response.status_code == 303
    db.session.refresh(cert)
    assert cert.report_state in ("pending", "reported")


def test_clerk_may_not_resend(certs, login_as):
    cert = certs["taiyuan"][0]
    cert.report_state = "failed"
    db.session.commit()
    client = login_as("clerk")
    assert "重新上报</button>" not in _text(client.get(f"/maintenance/crane/{cert.id}"))
    assert client.post(f"/maintenance/crane/{cert.id}/resend-report").status_code == 403


# -- escaping --------------------------------------------------------------------------------------

def test_markup_in_a_holder_name_is_escaped_on_list_fragment_and_detail(demo, login_as):
    cert = _issue("clerk", 1, holder_name=EVIL, project_name="<b>粗体工程</b>")
    client = login_as("clerk")
    pages = [client.get("/maintenance/crane"), client.get("/maintenance/crane", headers={"HX-Request": "true"}),
             client.get(f"/maintenance/crane/{cert.id}"), client.get("/maintenance/crane?holder_name=<script>")]
    for response in pages:
        body = _text(response)
        assert "<script>alert(1)" not in body and "<b>粗体工程" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;恶意单位" in _text(pages[0])
    assert db.session.get(Certificate, cert.id).holder_name == EVIL


def test_cancel_needs_the_page_csrf_token(certs, login_as, app):
    import re
    cert = certs["taiyuan"][0]
    client = login_as("clerk")
    app.config["WTF_CSRF_ENABLED"] = True
    refused = client.post(f"/maintenance/crane/{cert.id}/cancel", data={"reason": "设备已拆除"})
    assert refused.status_code == 400
    db.session.refresh(cert)
    assert cert.status == "issued"
    g.pop("csrf_token", None)  # the app fixture's app context (and g) outlives requests; real ones do not
    page = _text(client.get(f"/maintenance/crane/{cert.id}"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(f"/maintenance/crane/{cert.id}/cancel", data={"reason": "设备已拆除", "csrf_token": token})
    assert response.status_code == 303, _text(response)


def test_large_result_counts_are_capped(certs, monkeypatch):
    monkeypatch.setattr("portal.maintenance.services.COUNT_CAP", 2)
    filters, _, _ = parse_search_args({})
    found = search_certificates(_user("admin"), filters)
    assert found.total == 3 and found.total_capped and len(found.items) == 4
    narrow, _, _ = parse_search_args({"number": certs["datong"].number})
    assert not search_certificates(_user("admin"), narrow).total_capped


# -- 电子证照标识 and the OFD copy -----------------------------------------------------------------

def test_the_identifier_is_an_exact_search_condition(certs):
    wanted = certs["taiyuan"][1]
    typed = f"  {wanted.license_id.lower().replace('.', '。', 2)} "  # lower case, IME full stops, spaces
    for text, expected in ((wanted.license_id, [wanted.id]), (typed, [wanted.id]),
                           (wanted.license_id[:-2], []), (certs["datong"].license_id, [])):
        filters, page, errors = parse_search_args({"license_id": text})
        assert errors == []
        assert [c.id for c in search_certificates(_user("clerk"), filters, page).items] == expected, text


def test_detail_shows_the_identifier_and_offers_the_ofd(certs, login_as):
    cert = certs["taiyuan"][0]
    client = login_as("clerk")
    body = _text(client.get(f"/maintenance/crane/{cert.id}"))
    assert cert.license_id in body and f"/maintenance/crane/{cert.id}/ofd" in body and "下载 OFD" in body
    listing = _text(client.get("/maintenance/crane", query_string={"license_id": cert.license_id}))
    assert cert.number in listing and certs["taiyuan"][1].number not in listing


def test_ofd_downloads_sealed_and_uncached_once_signed(demo, login_as):
    from portal.certificates.ofd_documents import verify_ofd_bytes
    cert = _issue("clerk", 1, seal=True)
    assert (cert.pdf_state, cert.ofd_state) == ("signed", "signed"), (cert.pdf_error, cert.ofd_error)
    response = login_as("clerk").get(f"/maintenance/crane/{cert.id}/ofd")
    assert response.status_code == 200 and response.mimetype == "application/ofd"
    assert response.headers["Content-Disposition"].startswith("attachment") and ".ofd" in response.headers[
        "Content-Disposition"]
    assert "no-store" in response.headers["Cache-Control"] and response.headers["X-Content-Type-Options"] == "nosniff"
    verdict = verify_ofd_bytes(response.data)
    assert verdict.signature_valid and verdict.unmodified and verdict.certificate.id == cert.id, verdict.problems
    assert not verdict.problems


def test_without_an_sm2_key_the_pdf_is_sealed_and_the_ofd_says_why_it_is_missing(demo, login_as):
    import shutil
    from portal.certificates import seal_keys
    shutil.rmtree(seal_keys.sm2_pki().authority_dir("11140100MB0000002K"))
    cert = _issue("clerk", 1, seal=True)
    assert (cert.pdf_state, cert.ofd_state, cert.ofd_path) == ("signed", "failed", None)
    client = login_as("clerk")
    assert client.get(f"/maintenance/crane/{cert.id}/pdf").status_code == 200
    detail = _text(client.get(f"/maintenance/crane/{cert.id}"))
    assert "已签章" in detail and "尚未配置 SM2 电子印章" in detail
    missing = client.get(f"/maintenance/crane/{cert.id}/ofd")
    assert missing.status_code == 404 and "OFD 电子证照尚未生成" in _text(missing)
    assert "尚未配置 SM2 电子印章" in _text(missing)
