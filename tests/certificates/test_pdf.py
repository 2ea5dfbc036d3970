"""Certificate PDF rendering (portal.certificates.pdf) and the vector seal.

No app, no database: values in, bytes out.  Checked with poppler-utils
(pdftotext, pdffonts, pdfinfo, pdfimages), the same tools a person would use.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from portal.certificates.pdf import (
    CERTIFICATE_TITLE,
    FONT_PATH,
    SEAL_BOX,
    CertificateDocument,
    qr_png,
    render_certificate_pdf,
)
from portal.certificates.seal import seal_pdf
from portal.display import mask_id_number

pytestmark = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("pdftotext", "pdffonts", "pdfinfo", "pdfimages")),
    reason="poppler-utils not installed",
)

PERSON_TYPES = [
    ("1101", "总监理工程师"),
    ("1102", "专业监理工程师"),
    ("1103", "施工单位项目负责人"),
    ("1104", "项目技术负责人"),
    ("1105", "专职安全生产管理人员"),
    ("1106", "产权单位负责人"),
    ("1107", "安装单位负责人"),
    ("1108", "建筑起重机械司机"),
    ("1109", "建筑起重信号司索工"),
    ("1113", "建筑起重机械安装拆卸工"),
    ("1110", "建筑起重机械安全管理人员"),
    ("1111", "租赁单位负责人"),
    ("1112", "检验检测人员"),
    ("1108", "建筑起重机械司机"),
    ("1113", "建筑起重机械安装拆卸工"),
]

VERIFY_URL = "https://zz.example.gov.cn/verify/3f2a9c1e6b7d4e0fa1b2c3d4e5f60718"


def make_doc(n_persons: int = 10, **overrides) -> CertificateDocument:
    face = [
        ("设备类别", "塔式起重机"),
        ("规格型号", "QTZ80(TC6010-6)"),
        ("备案编号", "晋AA-T00001"),
        ("生产厂家", "山东大汉建设机械股份有限公司"),
        ("出厂编号", "DH2020-0815"),
        ("出厂日期", dt.date(2020, 8, 15)),
        ("产权单位名称", "山西晋龙建筑设备租赁有限公司"),
        ("产权单位统一社会信用代码", "91140100MA0K12345X"),
        ("安装单位名称", "山西三晋起重设备安装工程有限公司"),
        ("安装单位统一社会信用代码", "91140100MA0K12346Y"),
        ("监理单位名称", "山西汾河工程监理有限公司"),
        ("监理单位统一社会信用代码", "91140100MA0K12347A"),
        ("施工总承包单位名称", "中国建筑第八工程局有限公司"),
        ("施工总承包单位统一社会信用代码", "91310000MA1FL0XX1X"),
        ("工程名称", "太原市小店区锦绣苑小区二期住宅楼及地下车库工程（1#-12#楼）"),
        ("工程项目地址", "山西省太原市小店区长治路与南中环街交叉口东北角锦绣苑小区二期"),
        ("工程项目地址所在区/县级区划代码", "140105"),
        ("安装位置", "112.5496,37.8123"),
        ("建筑工程施工许可证编号", "140105202301050101"),
    ]
    business = [
        ("起重臂长度(m)", "60"),
        ("最大起重量(t)", "6"),
        ("拟安装最大高度(m)", "120"),
        ("最大幅度起重量(t)", "1.0"),
    ]
    persons = [
        {
            "type_code": code,
            "type_name": tname,
            "name": f"王建{'国民华军平伟强磊洋勇艳杰娟涛明'[i]}",
            "id_number": f"1401051980010{i:04d}X"[:18],
            "cert_no": f"晋A0420200{i:05d}" if code in ("1108", "1109", "1113") else "",
            "phone": f"1380000{i:04d}",
        }
        for i, (code, tname) in enumerate(PERSON_TYPES[:n_persons])
    ]
    values = dict(
        number="140105T（2023）0000001",
        holder_name="山西建工集团有限公司",
        holder_uscc="91140000110012345K",
        crane_type_name="塔式起重机",
        face=face,
        business=business,
        persons=persons,
        authority_name="太原市住房和城乡建设局",
        authority_uscc="11140100012345678X",
        issue_date=dt.date(2023, 5, 6),
        valid_until=None,
        verify_url=VERIFY_URL,
        status_note=None,
    )
    values.update(overrides)
    return CertificateDocument(**values)


def run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True, timeout=30).stdout


def pdf_text(path: Path, *extra: str) -> str:
    return run("pdftotext", "-enc", "UTF-8", *extra, str(path), "-")


def squash(text: str) -> str:
    """pdftotext output without whitespace (CJK wrapping may split a value)."""
    return re.sub(r"\s+", "", text)


def pages(path: Path) -> int:
    return int(re.search(r"^Pages:\s+(\d+)", run("pdfinfo", str(path)), re.M).group(1))


def fonts(path: Path) -> list[list[str]]:
    lines = run("pdffonts", str(path)).splitlines()[2:]
    return [line.split() for line in lines if line.strip()]


@pytest.fixture(scope="module")
def full_pdf(tmp_path_factory) -> tuple[CertificateDocument, Path]:
    doc = make_doc(15)
    path = tmp_path_factory.mktemp("pdf") / "certificate.pdf"
    path.write_bytes(render_certificate_pdf(doc))
    return doc, path


def test_font_is_vendored_with_license():
    assert FONT_PATH.is_file() and FONT_PATH.stat().st_size > 4_000_000
    lic = FONT_PATH.parent / "LICENSE-wqy-microhei.txt"
    text = lic.read_text(encoding="utf-8")
    assert "Apache License" in text and "WenQuanYi" in text


def test_is_a_pdf(full_pdf):
    _, path = full_pdf
    assert path.read_bytes().startswith(b"%PDF-")


def test_text_round_trips(full_pdf):
    doc, path = full_pdf
    text = squash(pdf_text(path, "-raw"))  # content order: a wrapped cell stays whole
    assert CERTIFICATE_TITLE in text
    assert doc.number in text
    for expected in (
        doc.holder_name,
        doc.holder_uscc,
        doc.authority_name,
        doc.authority_uscc,
        "长期有效",
        "2023年05月06日",
        "2020年08月15日",
        "扫码验证",
        "设备类别：" + doc.crane_type_name,
        "业务信息",
        "相关人员",
    ):
        assert expected in text, expected
    for label, value in doc.face:
        assert squash(label) in text, label
        if not isinstance(value, dt.date):
            assert squash(str(value)) in text, value
    for label, value in doc.business:
        assert label in text and value in text
    for p in doc.persons:
        assert p["name"] in text and p["type_name"] in text
        # PIPL: the face carries the ID number masked as the pages show it, and no phone number.
        assert mask_id_number(p["id_number"]) in text and p["id_number"] not in text
        assert p["phone"] not in text
        if p["cert_no"]:
            assert p["cert_no"] in text
    assert "联系电话" not in text


def test_valid_until_date_and_status_note(tmp_path):
    path = tmp_path / "c.pdf"
    path.write_bytes(
        render_certificate_pdf(make_doc(valid_until=dt.date(2028, 12, 31), status_note="已注销"))
    )
    text = squash(pdf_text(path, "-raw"))
    assert "2028年12月31日" in text and "长期有效" not in text
    assert "已注销" in text


def test_every_font_embedded_and_no_helvetica(full_pdf):
    _, path = full_pdf
    rows = fonts(path)
    assert rows, "no font at all"
    for row in rows:
        assert "WenQuanYiMicroHei" in row[0], row
        # columns: name type encoding emb sub uni id gen
        assert row[-5] == "yes", f"not embedded: {row}"
    assert "helvetica" not in run("pdffonts", str(path)).lower()


def test_html_in_values_prints_literally(tmp_path):
    doc = make_doc(
        holder_name="<script>alert(1)</script>",
        face=[("规格型号", "<b>x</b>"), ("工程名称", 'a & b "c" <i>d</i>')],
        persons=[
            {
                "type_code": "1101",
                "type_name": "总监理工程师",
                "name": "<u>张</u>",
                "id_number": "14010519800101123X",
                "cert_no": "",
                "phone": "",
            }
        ],
    )
    path = tmp_path / "c.pdf"
    path.write_bytes(render_certificate_pdf(doc))
    text = squash(pdf_text(path, "-raw"))
    assert "<script>alert(1)</script>" in text
    assert "<b>x</b>" in text
    assert 'a&b"c"<i>d</i>' in text
    assert "<u>张</u>" in text
    assert "&lt;" not in text and "&amp;" not in text


def test_qr_code_image_encodes_verify_url(full_pdf, tmp_path):
    from PIL import Image, ImageChops

    _, path = full_pdf
    listing = run("pdfimages", "-list", str(path)).splitlines()[2:]
    assert len(listing) == 1, listing
    run("pdfimages", "-png", str(path), str(tmp_path / "img"))
    embedded = Image.open(next(tmp_path.glob("img-*.png"))).convert("L")
    expected_path = tmp_path / "expected.png"
    expected_path.write_bytes(qr_png(VERIFY_URL))
    expected = Image.open(expected_path).convert("L")
    assert embedded.size == expected.size
    assert ImageChops.difference(embedded, expected).getbbox() is None


def test_qr_png_depends_on_url():
    a, b = qr_png(VERIFY_URL), qr_png(VERIFY_URL + "x")
    assert a.startswith(b"\x89PNG") and a != b


def test_fifteen_persons_and_long_values_fit_on_one_page(tmp_path):
    long_doc = make_doc(
        15,
        holder_name="山西省太原市某某某某建设工程集团股份有限公司第三分公司",
        authority_name="太原市小店区住房和城乡建设管理局",
    )
    path = tmp_path / "long.pdf"
    path.write_bytes(render_certificate_pdf(long_doc))
    assert pages(path) == 1
    assert "第三分公司" in squash(pdf_text(path))


def test_one_page(full_pdf):
    _, path = full_pdf
    assert pages(path) == 1


def test_seal_box_is_left_empty(full_pdf):
    _, path = full_pdf
    x1, y1, x2, y2 = SEAL_BOX
    assert (x2 - x1) >= 100 and (y2 - y1) >= 100
    page_h = 841.89
    html = pdf_text(path, "-bbox")
    words = re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', html
    )
    assert words
    inside = [
        w
        for w in words
        if float(w[0]) < x2 and float(w[2]) > x1 and page_h - float(w[3]) < y2 and page_h - float(w[1]) > y1
    ]
    assert inside == []
    # ... and the 发证机关 line sits just left of it, at the bottom right.
    auth = [w for w in words if w[4].startswith("发证机关：")]
    assert auth and float(auth[0][2]) <= x1 and float(auth[0][0]) > 595.28 / 3


def test_seal_pdf_is_small_vector_with_real_glyphs(tmp_path):
    data = seal_pdf("太原市住房和城乡建设局")
    assert data.startswith(b"%PDF-") and len(data) < 60_000
    path = tmp_path / "seal.pdf"
    path.write_bytes(data)
    rows = fonts(path)
    assert rows and all(r[-5] == "yes" for r in rows)
    assert run("pdfimages", "-list", str(path)).splitlines()[2:] == []  # no bitmap
    text = squash(pdf_text(path))
    for ch in "太原市住房和城乡建设局电子证照专用章":
        assert ch in text
    assert seal_pdf("太原市住房和城乡建设局") == data  # deterministic, cached
    assert "电子" not in squash(pdf_text_of(seal_pdf("某某局", None), tmp_path))


def pdf_text_of(data: bytes, tmp_path: Path) -> str:
    p = tmp_path / "x.pdf"
    p.write_bytes(data)
    return pdf_text(p)


def test_module_imports_no_flask_or_database():
    code = (
        "import sys, portal.certificates.pdf, portal.certificates.seal, portal.certificates.signing,"
        " portal.certificates.dev_pki, portal.certificates.signature_check;"
        "bad=[m for m in ('flask','sqlalchemy','flask_sqlalchemy') if m in sys.modules];"
        "print(','.join(bad))"
    )
    import sys as _sys

    # portal/__init__ may import Flask: load our modules without running it.
    out = subprocess.run(
        [_sys.executable, "-c", _isolated_import(code)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(Path(__file__).resolve().parents[2]),
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def _isolated_import(code: str) -> str:
    """Python source that stubs the `portal` package (skipping its __init__) first."""
    return (
        "import sys, types, pathlib;"
        "root = pathlib.Path('portal').resolve();"
        "pkg = types.ModuleType('portal'); pkg.__path__ = [str(root)]; sys.modules['portal'] = pkg;"
        + code
    )


def test_title_names_the_certificate(full_pdf):
    doc, path = full_pdf
    info = run("pdfinfo", str(path))
    assert re.search(rf"^Title:\s+{re.escape(CERTIFICATE_TITLE)} {re.escape(doc.number)}$", info, re.M)


def _font_files(pdf: bytes) -> dict[str, bytes]:
    """BaseFont name → the embedded (decoded) TrueType subset."""
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    page = PdfFileReader(io.BytesIO(pdf)).root["/Pages"]["/Kids"][0]
    fonts_ = page["/Resources"]["/Font"]
    return {str(f["/BaseFont"]): f["/FontDescriptor"]["/FontFile2"].data
            for f in (fonts_[name] for name in fonts_)}


def test_common_glyphs_are_one_shared_subset_and_each_certificate_adds_its_own(tmp_path):
    """The face font's first subset (labels, digits, region names) is the same in every certificate;
    a certificate's own names land in a later subset, so cached subsets never show another's glyphs."""
    pdfs = {holder: render_certificate_pdf(make_doc(3, holder_name=holder)) for holder in ("晋龙集团", "汾酒集团")}
    a, b = (_font_files(pdf) for pdf in pdfs.values())
    first = next(name for name in a if "AAAAAA+" in name)
    assert a[first] == b[first]
    assert {k: v for k, v in a.items() if k != first} != {k: v for k, v in b.items() if k != first}
    for holder, pdf in pdfs.items():
        assert holder in squash(pdf_text_of(pdf, tmp_path))
