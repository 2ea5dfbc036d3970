"""The OFD copy under an SM2 seal: structure, an independent reader, a second SM2 implementation, tampering."""
import base64
import subprocess
from xml.etree import ElementTree

import pytest
from asn1crypto import x509
from hypothesis import given, settings, strategies as st

from portal.certificates.ofd import OFD_NS, build_ofd, ofd_from_page, xml_text
from portal.certificates.ofd_seal import SIGNATURE_XML, SIGNED_VALUE, seal_ofd, sealed_ofd_from_page
from portal.certificates.ofd_verify import verify_ofd
from portal.certificates.page import Page, Text
from portal.certificates.seal_signer import LocalSealSigner, SealSigner
from portal.certificates.ses import SesSignature
from portal.certificates.sm2 import DEFAULT_ID
from tests.certificates.ofd_helpers import AUTHORITY, AUTHORITY_USCC, FACE, certificate_page, make_pki, rezip, unzip

NS = {"ofd": OFD_NS}


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki") / "sm2")


@pytest.fixture(scope="module")
def signer(pki):
    return pki.signer_for(AUTHORITY_USCC)


@pytest.fixture(scope="module")
def sealed(signer):
    return sealed_ofd_from_page(certificate_page(), signer, custom_data={"证书编号": "140105T（2025）0000042"})


def face_texts():
    return ["建筑起重机械使用登记证书", f"发证机关：{AUTHORITY}"] + [t for pair in FACE for t in pair]


def test_the_package_has_the_gb_t_33190_structure(sealed, signer):
    assert isinstance(signer, SealSigner)
    files = unzip(sealed)
    assert list(files)[0] == "OFD.xml"
    assert {"Doc_0/Document.xml", "Doc_0/PublicRes.xml", "Doc_0/DocumentRes.xml", "Doc_0/Pages/Page_0/Content.xml",
            "Doc_0/Signs/Signatures.xml", SIGNATURE_XML, SIGNED_VALUE} <= set(files)
    assert b"<ofd:OFD xmlns:ofd=" in files["OFD.xml"]  # the ofd: prefix producers use
    ofd = ElementTree.fromstring(files["OFD.xml"])
    assert ofd.find("ofd:DocBody/ofd:DocRoot", NS).text == "Doc_0/Document.xml"
    assert ofd.find("ofd:DocBody/ofd:Signatures", NS).text == "Doc_0/Signs/Signatures.xml"
    font = ElementTree.fromstring(files["Doc_0/PublicRes.xml"]).find("ofd:Fonts/ofd:Font", NS)
    assert files["Doc_0/Res/" + font.find("ofd:FontFile", NS).text][:4] == b"\x00\x01\x00\x00"  # TrueType
    content = ElementTree.fromstring(files["Doc_0/Pages/Page_0/Content.xml"])
    layer = content.find("ofd:Content/ofd:Layer", NS)
    kinds = [child.tag.split("}")[1] for child in layer]
    assert {"TextObject", "PathObject", "ImageObject"} == set(kinds)
    texts = [t.text for t in layer.iter(f"{{{OFD_NS}}}TextCode")]
    assert set(face_texts()) <= set(texts)  # text as text
    ids = [int(e.get("ID")) for e in content.iter() if e.get("ID")]
    max_unit = int(ElementTree.fromstring(files["Doc_0/Document.xml"]).find("ofd:CommonData/ofd:MaxUnitID", NS).text)
    assert max(ids) <= max_unit and len(ids) == len(set(ids))
    red = [t for t in layer.findall("ofd:TextObject", NS) if t.find("ofd:TextCode", NS).text == "已注销"][0]
    assert red.find("ofd:FillColor", NS).get("Value") == "219 20 26"
    signed_info = ElementTree.fromstring(files[SIGNATURE_XML]).find("ofd:SignedInfo", NS)
    stamp = signed_info.find("ofd:StampAnnot", NS)
    page_id = ElementTree.fromstring(files["Doc_0/Document.xml"]).find("ofd:Pages/ofd:Page", NS).get("ID")
    assert stamp.get("PageRef") == page_id
    assert [float(v) for v in stamp.get("Boundary").split()] == pytest.approx([148.62, 238.44, 42.33, 42.33], abs=0.01)


def test_an_independent_reader_finds_every_face_value(sealed, tmp_path, monkeypatch):
    from easyofd.ofd import OFD
    monkeypatch.chdir(tmp_path)  # easyofd unpacks into the working directory
    reader = OFD()
    reader.read(sealed, fmt="binary")
    document = reader.data[0]
    texts = [t["text"] for page in document["page_info"].values() for t in page["text_list"]]
    for value in face_texts():
        assert value in texts
    assert len(document["images"]) == 1 and document["signatures_page_id"][0][0]["SignedValue"]


def test_the_reader_draws_the_page_with_the_embedded_font_and_the_seal(sealed, tmp_path, monkeypatch):
    from easyofd.ofd import OFD
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    monkeypatch.chdir(tmp_path)
    font = tmp_path / "embedded.ttf"
    font.write_bytes(next(v for k, v in unzip(sealed).items() if k.endswith(".ttf")))
    pdfmetrics.registerFont(TTFont("宋体", str(font)))  # easyofd draws every text in "宋体": give it our subset
    reader = OFD()
    reader.read(sealed, fmt="binary")
    (tmp_path / "out.pdf").write_bytes(reader.to_pdf())
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "out.pdf"), "-"], capture_output=True,
                          text=True).stdout
    for value in ("建筑起重机械使用登记证书", "山西测试建筑工程有限公司", "140105T（2025）0000042", "晋AA-T00042"):
        assert value in text
    images = subprocess.run(["pdfimages", "-list", str(tmp_path / "out.pdf")], capture_output=True, text=True).stdout
    assert len(images.strip().splitlines()) >= 4  # header lines + the QR code + the seal picture


def test_the_seal_verifies(sealed, pki):
    check = verify_ofd(sealed, pki.trust_roots())
    assert check.valid and check.intact and check.trusted, check.problems
    assert check.signer == AUTHORITY and check.seal_name == f"{AUTHORITY}电子证照专用章"
    assert check.doc_info["证书编号"] == "140105T（2025）0000042"


def _openssl_verify(tmp_path, cert_der, message, signature, name):
    (tmp_path / f"{name}.der").write_bytes(cert_der)
    pub = subprocess.run(["openssl", "x509", "-inform", "DER", "-in", str(tmp_path / f"{name}.der"), "-pubkey",
                          "-noout"], capture_output=True, check=True).stdout
    (tmp_path / f"{name}.pub").write_bytes(pub)
    (tmp_path / f"{name}.msg").write_bytes(message)
    (tmp_path / f"{name}.sig").write_bytes(signature)
    return subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / f"{name}.pub"),
                           "-rawin", "-digest", "sm3", "-pkeyopt", "distid:" + DEFAULT_ID.decode(),
                           "-in", str(tmp_path / f"{name}.msg"), "-sigfile", str(tmp_path / f"{name}.sig")],
                          capture_output=True)


def _sm3(data: bytes) -> bytes:
    return subprocess.run(["openssl", "dgst", "-sm3", "-binary"], input=data, capture_output=True, check=True).stdout


def test_openssl_verifies_the_seal_as_a_second_sm2_implementation(sealed, tmp_path):
    files = unzip(sealed)
    ses = SesSignature.load(files[SIGNED_VALUE])
    tbs, seal = ses["to_sign"], ses["to_sign"]["eseal"]
    assert ses["signature_alg_id"].dotted == "1.2.156.10197.1.501" and tbs["version"].native == 4
    assert tbs["data_hash"].native == _sm3(files[SIGNATURE_XML])
    assert tbs["property_info"].native == "/" + SIGNATURE_XML
    signer = _openssl_verify(tmp_path, ses["cert"].native, tbs.dump(), ses["signature"].native, "signer")
    assert signer.returncode == 0, signer.stderr
    maker = _openssl_verify(tmp_path, seal["cert"].native, seal["e_seal_info"].dump(), seal["signed_value"].native,
                            "maker")
    assert maker.returncode == 0, maker.stderr
    picture = seal["e_seal_info"]["picture"]
    assert picture["type"].native == "PNG" and picture["data"].native[:8] == b"\x89PNG\r\n\x1a\n"
    references = ElementTree.fromstring(files[SIGNATURE_XML]).findall("ofd:SignedInfo/ofd:References/ofd:Reference", NS)
    assert {r.get("FileRef")[1:] for r in references} == set(files) - {SIGNATURE_XML, SIGNED_VALUE}
    for reference in references:
        assert base64.b64decode(reference.find("ofd:CheckValue", NS).text) == _sm3(files[reference.get("FileRef")[1:]])


@pytest.mark.parametrize("where", [0, 0.5, -1])
def test_one_changed_byte_in_any_file_of_the_package_fails(sealed, pki, where):
    roots = pki.trust_roots()
    files = unzip(sealed)
    for name, data in files.items():
        changed = bytearray(data)
        position = int(len(changed) * where) if where != -1 else len(changed) - 1
        changed[position] ^= 0x01
        check = verify_ofd(rezip({**files, name: bytes(changed)}), roots)
        assert not check.valid and not check.intact, (name, position, check)


def test_added_or_removed_files_fail(sealed, pki):
    roots, files = pki.trust_roots(), unzip(sealed)
    added = verify_ofd(rezip({**files, "Doc_0/Res/extra.png": b"\x89PNG"}), roots)
    assert not added.valid and "不在签章保护范围内" in added.message
    removed = verify_ofd(rezip({k: v for k, v in files.items() if k != "Doc_0/Res/image_2.png"}), roots)
    assert not removed.valid and "不在文件包中" in removed.message


def test_a_seal_under_another_root_is_untrusted(sealed, tmp_path):
    other = make_pki(tmp_path / "other")
    check = verify_ofd(sealed, other.trust_roots())
    assert check.intact and not check.trusted and not check.valid and "不受信任" in check.message
    assert not verify_ofd(sealed, []).valid


def test_a_signer_outside_the_seals_certificate_list_is_refused(signer, pki, tmp_path):
    stranger = make_pki(tmp_path / "stranger").signer_for(AUTHORITY_USCC)
    # the stranger's key and certificate, our authority's seal
    forged = LocalSealSigner(stranger._key, stranger.certificate, signer.seal, "stranger")
    data = sealed_ofd_from_page(certificate_page(), forged)
    check = verify_ofd(data, pki.trust_roots())
    assert not check.valid and any("证书列表" in p for p in check.problems)


@pytest.mark.parametrize("data,expected", [
    (b"", "不是 OFD 文件"), (b"%PDF-1.7 not an ofd", "不是 OFD 文件"), (b"PK\x03\x04broken", "不是 OFD 文件")])
def test_non_ofd_input_gets_a_clear_verdict(pki, data, expected):
    check = verify_ofd(data, pki.trust_roots())
    assert not check.valid and expected in check.message


def test_truncated_oversized_and_hostile_packages_get_a_clear_verdict(sealed, pki):
    roots = pki.trust_roots()
    for cut in (len(sealed) // 3, len(sealed) - 30):
        assert not verify_ofd(sealed[:cut], roots).valid
    assert "过大" in verify_ofd(sealed, roots, max_bytes=1000).message
    many = rezip({f"f{i}.xml": b"x" for i in range(300)})
    assert "过多" in verify_ofd(many, roots).message
    files = unzip(sealed)
    bomb = files["OFD.xml"].replace(b"<ofd:OFD", b'<!DOCTYPE x [<!ENTITY a "aaaa">]><ofd:OFD', 1)
    assert "DTD" in verify_ofd(rezip({**files, "OFD.xml": bomb}), roots).message
    utf16 = verify_ofd(rezip({**files, "OFD.xml": bomb.decode().replace("UTF-8", "UTF-16").encode("utf-16")}), roots)
    assert "UTF-8" in utf16.message
    garbage = verify_ofd(rezip({**files, SIGNED_VALUE: b"\x30\x82\xff\xff garbage"}), roots)
    assert not garbage.valid and "无法解析" in garbage.message


def test_an_unsigned_ofd_says_so(pki):
    data = ofd_from_page(certificate_page())
    assert not any("Signs" in name for name in unzip(data))
    check = verify_ofd(data, pki.trust_roots())
    assert not check.signed and not check.valid and "未加盖电子印章" in check.message
    with pytest.raises(ValueError, match="signed=True"):
        seal_ofd(build_ofd(certificate_page()), None)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=8))
def test_any_text_reaches_the_content_as_text(values):
    page = certificate_page()
    items = tuple(Text(60, 500 - 20 * i, v, 9.0, 50.0) for i, v in enumerate(values))
    package = build_ofd(Page(page.width, page.height, items, page.font_name, page.font_path, page.seal_box))
    content = ElementTree.fromstring(package.files["Doc_0/Pages/Page_0/Content.xml"])
    found = [t.text or "" for t in content.iter(f"{{{OFD_NS}}}TextCode")]
    legal = [v for v in (ElementTree.fromstring(f"<a>{xml_text(v)}</a>").text or "" for v in values) if v.strip()]
    assert found == legal


def test_the_signer_certificate_is_an_sm2_x509_certificate(signer):
    cert = x509.Certificate.load(signer.certificate)
    assert cert["signature_algorithm"]["algorithm"].dotted == "1.2.156.10197.1.501"
    assert cert.public_key["algorithm"]["parameters"].chosen.dotted == "1.2.156.10197.1.301"
