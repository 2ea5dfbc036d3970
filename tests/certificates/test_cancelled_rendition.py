"""A cancelled certificate's PDF, wherever it is downloaded (证照维护, 委托授权, the public QR page), is its
已注销 rendition with the date, sealed again; the file first signed stays available to admins only."""
import pytest

from portal.certificates.documents import read_signed_pdf
from portal.certificates.issuing import cancel_certificate
from portal.certificates.verification import verify_pdf_bytes
from portal.clock import local_time
from portal.platform.service import person_finder
from tests.certificates.test_face_privacy import _text as _face_text
from tests.delegation.helpers import grant, taiyuan_certificate, user


@pytest.fixture
def cancelled(demo):
    cert = taiyuan_certificate(1, seal=True)
    original = read_signed_pdf(cert)
    cancel_certificate(user("clerk"), cert, "设备已拆除", find_person=person_finder())
    return cert, original


def _mark(cert):
    day = local_time(cert.cancelled_at)
    return f"已注销（{day.year}年{day.month}月{day.day}日）"


def _assert_marked(pdf, cert, original, tmp_path):
    assert pdf != original
    assert _mark(cert) in _face_text(pdf, tmp_path)
    verdict = verify_pdf_bytes(pdf)
    assert verdict.signature_valid and verdict.unmodified and verdict.marked_cancelled
    assert verdict.certificate.id == cert.id and not verdict.ok  # sealed, but it says the certificate is void


def test_the_maintenance_download_is_marked_and_the_original_is_for_admins(cancelled, auth, tmp_path):
    cert, original = cancelled
    assert _mark(cert) not in _face_text(original, tmp_path)
    auth.login("clerk")
    response = auth.client.get(f"/maintenance/crane/{cert.id}/pdf")
    assert response.status_code == 200 and "%E5%B7%B2%E6%B3%A8%E9%94%80" in response.headers["Content-Disposition"]
    _assert_marked(response.data, cert, original, tmp_path)
    assert auth.client.get(f"/maintenance/crane/{cert.id}/pdf").data == response.data  # made once, then stored
    assert auth.client.get(f"/maintenance/crane/{cert.id}/pdf/original").status_code == 403
    assert "original-pdf" not in auth.client.get(f"/maintenance/crane/{cert.id}").get_data(as_text=True)
    auth.logout()
    auth.login("admin")
    assert 'id="original-pdf"' in auth.client.get(f"/maintenance/crane/{cert.id}").get_data(as_text=True)
    first = auth.client.get(f"/maintenance/crane/{cert.id}/pdf/original")
    assert first.status_code == 200 and first.data == original


def test_the_delegate_and_the_public_get_the_marked_rendition(cancelled, auth, client, tmp_path):
    cert, original = cancelled
    public = client.get(f"/public/verify/{cert.verify_token}/pdf")
    assert public.status_code == 200 and public.mimetype == "application/pdf"
    _assert_marked(public.data, cert, original, tmp_path)
    page = client.get(f"/public/verify/{cert.verify_token}").get_data(as_text=True)
    assert f"/public/verify/{cert.verify_token}/pdf" in page and "带有“已注销”标记" in page
    g = grant()
    auth.login("delegate")
    delegated = auth.client.get(f"/delegation/{g.id}/certificates/{cert.id}/pdf")
    assert delegated.status_code == 200 and delegated.data == public.data


def test_a_valid_certificate_is_served_as_first_signed(demo, client):
    cert = taiyuan_certificate(1, seal=True)
    assert client.get(f"/public/verify/{cert.verify_token}/pdf").data == read_signed_pdf(cert)
    assert client.get("/public/verify/unknown-token-0000000000/pdf").status_code == 404


def test_without_the_authority_key_the_rendition_is_refused_in_words(cancelled, auth, monkeypatch):
    from portal.certificates import keys
    cert, _ = cancelled

    def no_key(uscc):
        raise keys.CredentialsMissing(uscc)
    monkeypatch.setattr(keys, "signer_for", no_key)
    auth.login("clerk")
    response = auth.client.get(f"/maintenance/crane/{cert.id}/pdf")
    assert response.status_code == 404 and "尚未配置电子签章密钥" in response.get_data(as_text=True)


def test_the_print_view_for_maintenance_and_delegation(cancelled, auth):
    cert, _ = cancelled
    auth.login("clerk")
    detail = auth.client.get(f"/maintenance/crane/{cert.id}").get_data(as_text=True)
    assert f"/maintenance/crane/{cert.id}/print" in detail
    page = auth.client.get(f"/maintenance/crane/{cert.id}/print").get_data(as_text=True)
    assert cert.number in page and cert.record_number in page and "data-print" in page and "已注销（" in page
    assert 'class="sidebar"' not in page and cert.persons[0].phone in page
    auth.logout()
    g = grant()
    auth.login("delegate")
    detail = auth.client.get(f"/delegation/{g.id}/certificates/{cert.id}").get_data(as_text=True)
    assert f"/delegation/{g.id}/certificates/{cert.id}/print" in detail
    page = auth.client.get(f"/delegation/{g.id}/certificates/{cert.id}/print").get_data(as_text=True)
    assert cert.number in page and cert.persons[0].phone not in page  # the delegate sees no phones
    assert "140105198503126233" not in page


def test_the_ofd_downloads_of_a_cancelled_certificate_are_its_marked_rendition(cancelled, auth, client):
    from portal.certificates.documents import read_sealed_ofd
    from portal.certificates.ofd_documents import verify_ofd_bytes
    cert, _ = cancelled
    original = read_sealed_ofd(cert)
    assert original is not None and not verify_ofd_bytes(original).marked_cancelled
    public = client.get(f"/public/verify/{cert.verify_token}/ofd")
    assert public.status_code == 200 and public.data != original
    verdict = verify_ofd_bytes(public.data)
    assert verdict.signature_valid and verdict.unmodified and verdict.marked_cancelled and not verdict.ok
    auth.login("clerk")
    maintenance = auth.client.get(f"/maintenance/crane/{cert.id}/ofd")
    assert maintenance.data == public.data  # made once, then stored
    assert "%E5%B7%B2%E6%B3%A8%E9%94%80" in maintenance.headers["Content-Disposition"]
    auth.logout()
    g = grant()
    auth.login("delegate")
    assert auth.client.get(f"/delegation/{g.id}/certificates/{cert.id}/ofd").data == public.data


def test_without_the_sm2_seal_the_marked_ofd_is_refused_in_words(cancelled, auth, monkeypatch):
    from portal.certificates import seal_keys
    cert, _ = cancelled

    def no_seal(uscc):
        raise seal_keys.CredentialsMissing(uscc)
    monkeypatch.setattr(seal_keys, "seal_signer_for", no_seal)
    auth.login("clerk")
    response = auth.client.get(f"/maintenance/crane/{cert.id}/ofd")
    assert response.status_code == 404 and "尚未配置 SM2 电子印章" in response.get_data(as_text=True)
