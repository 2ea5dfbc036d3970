"""The per-document TrueType subset: the original's outlines and advances, readable by fontTools and reportlab."""
import io

import pytest
from fontTools.ttLib import TTFont

from portal.certificates.pdf import FONT_PATH
from portal.certificates.ttf_subset import FontProgram, font_program

TEXT = "建筑起重机械使用登记证书 山西测试建筑工程有限公司 ÀÉü 0123456789 ABCxyz（）：、𐐀"


@pytest.fixture(scope="module")
def original():
    return TTFont(str(FONT_PATH), fontNumber=0)


def test_subset_keeps_outlines_advances_and_the_character_map(original):
    data = font_program(str(FONT_PATH)).subset(TEXT)
    subset = TTFont(io.BytesIO(data))
    cmap, original_cmap = subset.getBestCmap(), original.getBestCmap()
    assert set(cmap) == {ord(c) for c in TEXT if ord(c) in original_cmap}
    assert 0x10400 in cmap  # a character outside the BMP: format 12 subtable
    for code, gid in cmap.items():
        ours, theirs = subset["glyf"][gid], original["glyf"][original_cmap[code]]
        assert list(ours.getCoordinates(subset["glyf"])[0]) == list(theirs.getCoordinates(original["glyf"])[0])
        assert subset["hmtx"][gid] == original["hmtx"][original_cmap[code]]
    composites = [c for c in TEXT if ord(c) in cmap and subset["glyf"][cmap[ord(c)]].isComposite()]
    assert composites  # composite glyphs (most CJK glyphs of this font) had their components renumbered
    assert subset["maxp"].numGlyphs < 300 and len(data) < 80_000


def test_subset_is_a_font_reportlab_embeds(tmp_path):
    from reportlab.pdfbase.ttfonts import TTFont as ReportlabFont
    path = tmp_path / "subset.ttf"
    path.write_bytes(font_program(str(FONT_PATH)).subset(TEXT))
    face = ReportlabFont("SubsetTest", str(path))
    assert face.face.charToGlyph[ord("建")]


def test_metrics_match_the_font(original):
    font = font_program(str(FONT_PATH))
    assert font.units_per_em == original["head"].unitsPerEm
    gid = original.getBestCmap()[ord("证")]
    assert font.advance("证") == original["hmtx"][gid][0]
    assert font.text_width("证书", 10) == pytest.approx(2 * original["hmtx"][gid][0] * 10 / font.units_per_em)


def test_a_file_that_is_no_truetype_font_is_refused(tmp_path):
    bad = tmp_path / "bad.ttf"
    bad.write_bytes(b"\x00\x01\x00\x00" + bytes(60))
    with pytest.raises(Exception):
        FontProgram(bad)
