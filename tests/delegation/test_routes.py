"""委托授权 pages: the delegate's list → certificates → 查看/PDF/附件, and 委托授权管理."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.audit import AuditEntry
from portal.certificates.models import Attachment
from portal.clock import today
from portal.delegation.models import Delegation
from portal.delegation.services import revoke_delegation
from portal.extensions import db
from tests.delegation.helpers import DATONG_USCC, TAIYUAN_USCC, authority_id, backdate, datong_certificate, grant, \
    taiyuan_certificate, user

R13 = "建筑起重机械使用登记证书只提供新申请录入、注销，不可变更"


@pytest.fixture
def world(demo):
    from portal import storage
    tai = taiyuan_certificate(1, seal=True)
    other = taiyuan_certificate(2, holder_name="晋阳起重设备有限公司")
    dat = datong_certificate(1)
    _, digest = storage.store_content(b"%PDF-1.4 scan")
    tai.attachments.append(Attachment(filename="检验报告.pdf", content_type="application/pdf", size=13, sha256=digest))
    db.session.commit()
    return {"tai": tai, "other": other, "dat": dat, "grant": grant()}


def _text(response):
    return response.get_data(as_text=True)


def test_the_delegate_lists_enters_and_views_only_granted_certificates(world, login_as):
    client = login_as("delegate")
    g, tai, dat = world["grant"], world["tai"], world["dat"]
    index = _text(client.get("/delegation/"))
    assert "建筑起重机械使用登记证书" in index and "太原市住房和城乡建设局" in index and "进入" in index
    listing = client.get(f"/delegation/{g.id}/certificates")
    assert listing.status_code == 200
    assert tai.number in _text(listing) and world["other"].number in _text(listing) and dat.number not in _text(listing)
    detail = client.get(f"/delegation/{g.id}/certificates/{tai.id}")
    body = _text(detail)
    assert detail.status_code == 200 and tai.record_number in body and R13 in body and "检验报告.pdf" in body
    assert "140105198503126233" not in body and "140105********6233" in body  # ID numbers masked
    pdf = client.get(f"/delegation/{g.id}/certificates/{tai.id}/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert "inline" in pdf.headers["Content-Disposition"]
    assert tai.license_id in body and f"/delegation/{g.id}/certificates/{tai.id}/ofd" in body
    ofd = client.get(f"/delegation/{g.id}/certificates/{tai.id}/ofd")
    assert ofd.status_code == 200 and ofd.mimetype == "application/ofd" and ofd.data.startswith(b"PK")
    assert "no-store" in ofd.headers["Cache-Control"]
    att = tai.attachments[0]
    download = client.get(f"/delegation/{g.id}/certificates/{tai.id}/attachments/{att.id}")
    assert download.status_code == 200 and download.data == b"%PDF-1.4 scan"
    for url in (f"/delegation/{g.id}/certificates/{dat.id}", f"/delegation/{g.id}/certificates/{dat.id}/pdf",
                f"/delegation/{g.id}/certificates/{dat.id}/ofd",
                f"/delegation/{g.id}/certificates/{world['other'].id}/attachments/{att.id}",
                f"/delegation/{g.id}/certificates/999999", f"/delegation/{g.id + 100}/certificates"):
        assert client.get(url).status_code == 404, url


def test_search_filters_in_the_query_and_htmx_gets_only_the_rows(world, login_as):
    client = login_as("delegate")
    url = f"/delegation/{world['grant'].id}/certificates"

    def rows(**args):
        return _text(client.get(url, query_string=args, headers={"HX-Request": "true"}))
    by_name = rows(holder_name="晋阳")
    assert world["other"].number in by_name and world["tai"].number not in by_name
    by_record = rows(record_number="晋aa-t00001")
    assert world["tai"].number in by_record and world["other"].number not in by_record
    assert world["tai"].number in rows(record_number="晋aa－t00001") == by_record  # full-width dash: same number
    number = world["tai"].number.replace("（", "(").replace("）", ")")
    assert "共 1 条" in rows(number=number) and "共 0 条" in rows(holder_name="%")
    by_part = rows(holder_name="起重设备")  # any part of 使用单位, as in 证照维护
    assert world["other"].number in by_part and world["tai"].number not in by_part
    by_serial = rows(number=world["other"].number[-7:])  # any part of 证书编号
    assert world["other"].number in by_serial and world["tai"].number not in by_serial
    fragment = client.get(url, query_string={"record_number": "晋BC-T00001"}, headers={"HX-Request": "true"})
    assert "<html" not in _text(fragment) and 'id="delegated-rows"' in _text(fragment)
    assert "共 0 条" in _text(fragment) and "HX-Request" in fragment.headers["Vary"]


def test_revoked_and_expired_grants_answer_404_on_the_next_request(world, login_as):
    client = login_as("delegate")
    g, tai = world["grant"], world["tai"]
    assert client.get(f"/delegation/{g.id}/certificates/{tai.id}").status_code == 200
    revoke_delegation(user("admin"), g)
    assert client.get(f"/delegation/{g.id}/certificates/{tai.id}").status_code == 404
    assert client.get(f"/delegation/{g.id}/certificates").status_code == 404
    assert "没有有效的委托授权" in _text(client.get("/delegation/"))
    later = grant(days=10)
    assert client.get(f"/delegation/{later.id}/certificates/{tai.id}/pdf").status_code == 200
    backdate(later, 20, 1)
    assert client.get(f"/delegation/{later.id}/certificates/{tai.id}/pdf").status_code == 404


def test_admin_grants_through_the_form_and_refusals_keep_the_input(demo, login_as):
    client = login_as("admin")
    form = {"grantee": str(user("delegate").id), "cert_type": "crane", "authorities": [str(authority_id(TAIYUAN_USCC))],
            "division_codes": "", "operations": ["view", "change"], "start_date": today().isoformat(),
            "end_date": (today() + timedelta(days=30)).isoformat(), "note": "季度检查"}
    refused = client.post("/delegation/grants/new", data=form)
    assert refused.status_code == 422 and R13 in _text(refused) and "季度检查" in _text(refused)
    assert db.session.scalar(sa.select(sa.func.count(Delegation.id))) == 0
    form["operations"] = ["view"]
    form["end_date"] = (today() - timedelta(days=1)).isoformat()
    assert "早于开始日期" in _text(client.post("/delegation/grants/new", data=form))
    form["end_date"] = (today() + timedelta(days=30)).isoformat()
    created = client.post("/delegation/grants/new", data=form)
    assert created.status_code == 303 and created.headers["Location"].endswith("/delegation/grants")
    listing = _text(client.get("/delegation/grants"))
    assert "delegate" in listing and "有效" in listing and "季度检查" in listing
    g = db.session.scalar(sa.select(Delegation))
    assert client.post(f"/delegation/grants/{g.id}/revoke").status_code == 303
    db.session.refresh(g)
    assert g.revoked_at is not None and "已撤销" in _text(client.get("/delegation/grants"))


def test_a_supervisor_posting_another_authority_id_gets_403_and_nothing_is_written(demo, login_as):
    client = login_as("supervisor")
    page = _text(client.get("/delegation/grants/new"))
    assert "太原市住房和城乡建设局" in page and "大同市住房和城乡建设局" not in page
    audit_before = db.session.scalar(sa.select(sa.func.count(AuditEntry.id)))
    for bad in (str(authority_id(DATONG_USCC)), "424242", "x"):
        response = client.post("/delegation/grants/new", data={
            "grantee": str(user("delegate").id), "cert_type": "crane", "authorities": [bad],
            "operations": ["view"], "start_date": today().isoformat(), "end_date": today().isoformat()})
        assert response.status_code == 403 and "大同" not in _text(response)
    assert db.session.scalar(sa.select(sa.func.count(Delegation.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id))) == audit_before


def test_supervisor_lists_only_own_authority_grants_and_cannot_touch_others(demo, login_as):
    own = grant(actor="supervisor")
    theirs = grant(authorities=(DATONG_USCC,))
    client = login_as("supervisor")
    listing = _text(client.get("/delegation/grants"))
    assert f'<td class="mono">{own.id}</td>' in listing and f'<td class="mono">{theirs.id}</td>' not in listing
    assert client.post(f"/delegation/grants/{theirs.id}/revoke").status_code == 404
    assert client.get(f"/delegation/grants/{theirs.id}").status_code == 404
    db.session.refresh(theirs)
    assert theirs.revoked_at is None


def test_grant_pages_are_for_admins_and_supervisors_only(demo, login_as, client):
    assert client.get("/delegation/grants").status_code == 302
    for name in ("clerk", "delegate"):
        login_as(name)
        assert client.get("/delegation/grants").status_code == 403
        assert client.post("/delegation/grants/new", data={}).status_code == 403
        client.post("/auth/logout")
