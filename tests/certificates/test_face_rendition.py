"""The laid-out face (portal.certificates.layout + pdf.draw_pdf) looks like the xhtml2pdf face it replaced.

The oracle is the old renderer, kept in tests/certificates/reference_face/ (template and code frozen,
with the face's two privacy changes of issue 12 applied to it as well: no 联系电话 column, its 15 %
redistributed to 人员类型 +3, 姓名 +2, 身份证号码 +4, 证书编号 +6; and it is given documents whose ID
numbers are already masked).  Both renditions of each document are rasterised with ``pdftoppm -r 100
-gray`` and compared pixel by pixel after a 1-pixel box blur:

* a pixel *differs* when the blurred grey levels differ by more than 48 of 255 (a sixth of black);
* the whole page may have at most 0.05 % differing pixels (≈ 470 of 935,000), and every horizontal
  band 25 px (18 pt, about one and a half table rows) high at most 0.5 % of its pixels.

Why these numbers: the new face puts every glyph, rule and fill where the old one did to within
0.001 pt, so after the blur the two images are the same except for anti-aliasing where the old
renderer stroked a rule twice; measured, 0 differing pixels on every document here.  The tolerance
leaves room for a rasteriser's rounding, yet a table moved by half a point (one glyph row shifted by
0.7 px) or one value printed elsewhere breaks the band it is in — ``test_a_moved_table_fails`` proves it.

The QR code is the one region compared differently: the new face encodes the URL with a fixed data mask
(choosing the "best" of eight cost most of the QR time), so its modules differ from the old image while
reading the same.  There the test asserts that the code sits in the same box and decodes (zbarimg) to
the verification URL.  Finally every printed value must be text in the new PDF (``pdftotext``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageFilter

from portal.certificates.layout import FaceTooLong, layout_certificate
from portal.certificates.page import Image as PageImage
from portal.certificates.page import Text
from portal.certificates.pdf import draw_pdf, render_certificate_pdf
from portal.display import mask_id_number
from portal.standard.fields import FIELDS
from tests.certificates import reference_face
from tests.certificates.test_pdf import PERSON_TYPES, make_doc
from tests.conftest import need_service

pytestmark = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("pdftoppm", "pdftotext")), reason="poppler-utils not installed"
)

DPI = 100
LEVEL = 48  # grey levels (of 255) two blurred pixels may differ by and still count as equal
PAGE_SHARE = 0.0005
BAND_PX = 25
BAND_SHARE = 0.005

LONG_NAME = "山西省太原市某某某某建设工程集团股份有限公司第三分公司（原山西省第二建筑工程有限责任公司）"
LONG_PROJECT = ("太原市小店区锦绣苑小区二期住宅楼及地下车库工程（1#-12#楼）以及配套的商业综合体、幼儿园、"
                "社区服务中心和室外附属工程，含 3 台塔式起重机基础及附着装置")


def business_of(letter: str) -> list[tuple[str, str]]:
    """The type's 业务信息 as documents.business_rows prints it: the field labels, plain numbers."""
    return [(f.label, str(10 + i)) for i, f in enumerate(f for f in FIELDS if f.crane_type == letter)]


def masked(doc):
    """The document as the reference must be given it (the new face masks by itself)."""
    return dataclasses.replace(doc, persons=[dict(p, id_number=mask_id_number(p["id_number"])) for p in doc.persons])


def _long_face():
    face = dict(make_doc().face)
    face["工程名称"] = LONG_PROJECT
    face["生产厂家"] = "山东大汉建设机械股份有限公司（原山东省济宁市大汉建筑机械厂）"
    face["安装位置"] = "112.5496,37.8123"
    return list(face.items())


DOCUMENTS = {
    "tower_crane_fifteen_persons": make_doc(15, business=business_of("T")),
    "hoist_short_values": make_doc(1, crane_type_name="施工升降机（S）", business=business_of("S"),
                                   holder_name="晋建", face=[("规格型号", "SC200"), ("备案编号", "晋AA-S00001")]),
    "material_lift_cancelled": make_doc(
        4, crane_type_name="物料提升机（W）", business=business_of("W"), valid_until=dt.date(2028, 12, 31),
        status_note="已注销（2026年11月30日）"),
    "long_values_wrap": make_doc(6, holder_name=LONG_NAME, face=_long_face(),
                                 authority_name="太原市小店区住房和城乡建设管理局"),
    "no_persons_no_business": make_doc(0, business=[]),
}


def _raster(pdf: bytes, tmp: Path, name: str, dpi: int = DPI) -> Image.Image:
    path = tmp / f"{name}.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-png", "-singlefile", str(path), str(tmp / name)],
                   check=True, timeout=60)
    return Image.open(tmp / f"{name}.png").convert("L")


def _qr_box_px(page) -> tuple[int, int, int, int]:
    """The QR image's box in pixels (left, top, right, bottom), one pixel of margin around it."""
    (qr,) = [item for item in page.items if isinstance(item, PageImage)]
    k = DPI / 72.0
    return (int(qr.x * k) - 1, int((page.height - qr.y - qr.h) * k) - 1,
            int((qr.x + qr.w) * k) + 2, int((page.height - qr.y) * k) + 2)


def _differing(old: Image.Image, new: Image.Image, qr_box) -> Image.Image:
    """1 where the blurred images differ by more than LEVEL, 0 elsewhere (the QR box blanked)."""
    assert old.size == new.size
    blur = ImageFilter.BoxBlur(1)
    diff = ImageChops.difference(old.filter(blur), new.filter(blur)).point(lambda v: 255 if v > LEVEL else 0)
    diff.paste(0, qr_box)
    return diff


def _count(mask: Image.Image) -> int:
    return mask.histogram()[255]


def compare(old: Image.Image, new: Image.Image, qr_box) -> list[str]:
    """What differs beyond the tolerance (empty: the same to the eye)."""
    diff = _differing(old, new, qr_box)
    width, height = diff.size
    problems = []
    share = _count(diff) / (width * height)
    if share > PAGE_SHARE:
        problems.append(f"page: {share:.4%} of the pixels differ (at most {PAGE_SHARE:.2%})")
    for top in range(0, height, BAND_PX):
        band = diff.crop((0, top, width, min(height, top + BAND_PX)))
        share = _count(band) / (band.size[0] * band.size[1])
        if share > BAND_SHARE:
            problems.append(f"band y={top}–{top + BAND_PX} px: {share:.3%} differ (at most {BAND_SHARE:.1%})")
    return problems


@pytest.fixture(scope="module")
def renditions(tmp_path_factory):
    """name → (document, page, old image, new image, new PDF path)."""
    tmp = tmp_path_factory.mktemp("face")
    out = {}
    for name, doc in DOCUMENTS.items():
        page = layout_certificate(doc)
        new_pdf = draw_pdf(page)
        (tmp / f"{name}.new.pdf").write_bytes(new_pdf)
        out[name] = (doc, page, _raster(reference_face.render_certificate_pdf(masked(doc)), tmp, f"{name}.old"),
                     _raster(new_pdf, tmp, f"{name}.new"), tmp / f"{name}.new.pdf")
    return out


@pytest.mark.parametrize("name", DOCUMENTS)
def test_new_face_matches_the_reference_page_image(renditions, name):
    _, page, old, new, _ = renditions[name]
    assert compare(old, new, _qr_box_px(page)) == []


def test_a_moved_table_fails(renditions, tmp_path):
    """The comparison can fail: the persons table drawn half a point lower is caught, in its bands only."""
    _, page, old, _, _ = renditions["tower_crane_fifteen_persons"]
    heading = next(item for item in page.items if getattr(item, "text", None) == "相关人员")
    footer_top = page.seal_box[3]

    def in_table(item):
        return not isinstance(item, PageImage) and footer_top < getattr(item, "y", 0) < heading.y

    moved = tuple(dataclasses.replace(item, y=item.y - 0.5) if in_table(item) else item for item in page.items)
    shifted = _raster(draw_pdf(dataclasses.replace(page, items=moved)), tmp_path, "moved")
    problems = compare(old, shifted, _qr_box_px(page))
    bands = [int(re.search(r"y=(\d+)", p).group(1)) for p in problems if p.startswith("band")]
    table_top_px = (page.height - heading.y) * DPI / 72
    assert bands and min(bands) >= table_top_px - BAND_PX


def _dark_bbox(image: Image.Image, box) -> tuple[int, int, int, int] | None:
    return image.crop(box).point(lambda v: 255 if v < 128 else 0).getbbox()


@pytest.mark.parametrize("name", ["tower_crane_fifteen_persons", "long_values_wrap"])
def test_qr_code_sits_where_it_did_and_reads_the_verification_url(renditions, name, tmp_path):
    doc, page, old, new, pdf_path = renditions[name]
    box = _qr_box_px(page)
    assert _dark_bbox(new, box) == _dark_bbox(old, box)  # same place, same size (finder patterns)
    need_service("zbarimg", shutil.which("zbarimg"), "apt-get install zbar-tools")
    sharp = _raster(pdf_path.read_bytes(), tmp_path, "sharp", dpi=300)
    sharp.save(tmp_path / "sharp.png")
    decoded = subprocess.run(["zbarimg", "--quiet", "--raw", str(tmp_path / "sharp.png")],
                             capture_output=True, text=True, timeout=60).stdout.split()
    assert decoded == [doc.verify_url]


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_value_is_text(renditions, name):
    doc, page, _, _, pdf_path = renditions[name]
    text = _squash(subprocess.run(["pdftotext", "-enc", "UTF-8", "-raw", str(pdf_path), "-"],
                                  capture_output=True, text=True, check=True, timeout=60).stdout)
    expected = [doc.title, doc.number, doc.holder_name, doc.holder_uscc, doc.authority_name, doc.authority_uscc,
                doc.crane_type_name, "扫码验证"]
    expected += [v for pair in list(doc.face) + list(doc.business) for v in pair if not isinstance(v, dt.date)]
    for p in doc.persons:
        expected += [p["name"], p["type_name"], mask_id_number(p["id_number"]), p["cert_no"]]
    if doc.status_note:
        expected.append(doc.status_note)
    for value in expected:
        assert _squash(str(value)) in text, value
    assert all(_squash(t) in text for t in page.texts())  # nothing is drawn as a picture of text


def test_license_id_adds_one_line_under_the_number_and_moves_the_rest_down():
    base = make_doc(3)
    plain = layout_certificate(base)
    with_id = layout_certificate(dataclasses.replace(base, license_id="11140100MB0000002K.1109.2026.0000001"))
    texts = {item.text: item for item in with_id.items if hasattr(item, "text")}
    line = texts["电子证照标识：11140100MB0000002K.1109.2026.0000001"]
    number = next(t for t in with_id.items if getattr(t, "text", "").startswith("证书编号："))
    assert number.y - line.y == pytest.approx(17.0)  # one 15 pt line + the 2 pt gap below the number
    assert "电子证照标识" not in "".join(plain.texts())
    below = [(a, b) for a, b in zip(plain.items, [i for i in with_id.items if i is not line])
             if hasattr(a, "y") and a.y < number.y and a.y > 180]
    assert below and all(a.y - b.y == pytest.approx(17.0) for a, b in below)


def test_many_long_values_shrink_the_tables_instead_of_a_second_page(tmp_path):
    face = [(label, LONG_PROJECT * 2) for label, _ in make_doc().face]
    doc = make_doc(15, face=face)
    page = layout_certificate(doc)
    cells = [item for item in page.items if isinstance(item, Text) and len(item.text) > 5
             and item.text in LONG_PROJECT * 2]
    assert cells and max(item.size for item in cells) < 8.0
    assert min(item.y for item in cells) > page.seal_box[3]  # the tables end above the footer
    path = tmp_path / "dense.pdf"
    path.write_bytes(render_certificate_pdf(doc))
    assert "Pages:           1" in subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True).stdout


def test_person_types_of_the_code_table_fit_their_column():
    doc = make_doc(len(PERSON_TYPES))
    page = layout_certificate(doc)
    for p in doc.persons:
        assert any(getattr(i, "text", "") == f"{p['type_name']}（{p['type_code']}）" for i in page.items)


def test_a_face_that_cannot_fit_one_page_is_refused_with_a_reason():
    persons = [dict(make_doc(1).persons[0], name=f"王{i}") for i in range(120)]
    with pytest.raises(FaceTooLong, match="A4 一页放不下"):
        layout_certificate(make_doc(persons=persons))
