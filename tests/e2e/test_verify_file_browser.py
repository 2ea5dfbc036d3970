"""上传核验 in Chromium: a stranger uploads a certificate PDF (valid, tampered, of a cancelled certificate,
the 已注销 rendition) and an OFD, and reads the verdict; the QR page hands out the marked PDF."""
from concurrent.futures import ThreadPoolExecutor

import pytest

pytestmark = pytest.mark.e2e


def _files(app):
    from portal.certificates.documents import deliverable_pdf, read_signed_pdf
    from portal.certificates.issuing import cancel_certificate
    from portal.certificates.documents import certificate_ofd
    from portal.platform.service import person_finder
    from tests.delegation.helpers import taiyuan_certificate, user
    with app.app_context():
        valid = taiyuan_certificate(1, seal=True)
        doomed = taiyuan_certificate(2, seal=True)
        before = read_signed_pdf(doomed)
        cancel_certificate(user("clerk"), doomed, "设备已拆除", find_person=person_finder())
        tampered = bytearray(read_signed_pdf(valid))
        tampered[tampered.index(b"stream") + 20] ^= 0x01
        return {"valid": read_signed_pdf(valid), "tampered": bytes(tampered), "before": before,
                "marked": deliverable_pdf(doomed), "ofd": certificate_ofd(valid), "number": valid.number,
                "doomed": doomed.number, "token": doomed.verify_token}


def _check(page, url, name, data, mime="application/pdf"):
    page.goto(url + "/public/verify-file")
    page.set_input_files("#file", files=[{"name": name, "mimeType": mime, "buffer": data}])
    page.click("button:has-text('核验')")
    page.wait_for_selector("#file-verdict")
    return page.inner_text("#file-verdict") + page.inner_text("main")


def test_the_public_checks_valid_tampered_cancelled_and_ofd_files(live_app, page):
    with ThreadPoolExecutor(1) as pool:  # sealing runs asyncio.run(): not on Playwright's loop
        files = pool.submit(_files, live_app).result()
    url = live_app.config["LIVE_URL"]
    page.goto(url + "/public/")
    page.click("text=上传文件核验")
    page.wait_for_selector("#verify-file-form")

    valid = _check(page, url, "证照.pdf", files["valid"])
    assert "验证通过" in valid and files["number"] in valid and "已发证（有效）" in valid
    assert "太原市住房和城乡建设局" in valid and "未被修改" in valid

    tampered = _check(page, url, "改过的.pdf", files["tampered"])
    assert "验证未通过" in tampered and "已被修改或损坏" in tampered and "查无此证" in tampered

    before = _check(page, url, "注销前.pdf", files["before"])
    assert "已注销（注销日期：" in before and "注销前出具" in before and "验证通过" not in before

    marked = _check(page, url, "注销后.pdf", files["marked"])
    assert "带有“已注销”标记" in marked and files["doomed"] in marked

    ofd = _check(page, url, "证照.ofd", files["ofd"], "application/ofd")
    assert "验证通过" in ofd and "OFD" in ofd and "印章名称" in ofd

    page.goto(url + f"/public/verify/{files['token']}")
    assert "带有“已注销”标记" in page.inner_text("#public-pdf")
    response = page.request.get(url + page.get_attribute("#public-pdf a.button", "href"))
    assert response.status == 200 and response.body() == files["marked"]
