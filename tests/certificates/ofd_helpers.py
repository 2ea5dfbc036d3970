"""A certificate-like page built by hand (title, tables, QR code, Chinese text) and an SM2 PKI, for the OFD tests."""
import io
import zipfile

from portal.certificates.page import Image, Line, Page, Rect, Text
from portal.certificates.pdf import FONT_NAME, FONT_PATH, PAGE_SIZE, SEAL_BOX, qr_png
from portal.certificates.sm2_pki import Sm2DevPki
from portal.certificates.ttf_subset import font_program
from tests.standard.factories import zip_bytes as rezip  # noqa: F401 (a package from its files, re-zipped)

AUTHORITY_USCC = "11140100MB0000002K"
AUTHORITY = "太原市住房和城乡建设局"
FACE = [("证书编号", "140105T（2025）0000042"), ("使用单位名称", "山西测试建筑工程有限公司"),
        ("统一社会信用代码", "91140105MA0CRAN01X"), ("设备类别", "塔式起重机（T）"), ("规格型号", "QTZ80(TC6010-6)"),
        ("备案编号", "晋AA-T00042"), ("生产厂家", "山东大汉建设机械股份有限公司"),
        ("工程名称", "太原市小店区锦绣苑小区二期住宅楼及地下车库工程（1#-12#楼）"),
        ("起重臂长度(m)", "60"), ("相关人员", "王建国 14010519800101123X 晋A042020000123"),
        ("特殊字符", "A&B <C> \"引号\" '单引号'"), ("发证日期", "2025年06月01日")]


def certificate_page(face=FACE) -> Page:
    font = font_program(str(FONT_PATH))
    width, height = PAGE_SIZE
    items = [Rect(24, 24, width - 48, height - 48, line_width=1.2)]

    def text(x, y, value, size=9.0, color=(0.0, 0.0, 0.0)):
        items.append(Text(x, y, value, size, font.text_width(value, size), color))

    text(160, 770, "建筑起重机械使用登记证书", 22)
    y = 730.0
    for label, value in face:
        items += [Rect(48, y - 20, 150, 20, fill=(0.95, 0.95, 0.95)), Rect(198, y - 20, 349, 20)]
        text(52, y - 14, label)
        text(202, y - 14, value)
        y -= 20
    items.append(Line(48, y - 10, 547, y - 10, color=(0.5, 0.5, 0.5), line_width=0.3))
    items.append(Image(52, 60, 92, 92, qr_png("https://zz.example.gov.cn/public/verify/abc123")))
    text(300, 110, f"发证机关：{AUTHORITY}", 10.0)
    text(300, 90, "已注销", 12.0, color=(0.86, 0.08, 0.10))
    return Page(width=width, height=height, items=tuple(items), font_name=FONT_NAME, font_path=str(FONT_PATH),
                seal_box=SEAL_BOX, title="建筑起重机械使用登记证书 140105T（2025）0000042", keywords=("塔式起重机",))


def make_pki(directory) -> Sm2DevPki:
    pki = Sm2DevPki(directory, b"test-passphrase", kdf_iterations=1000)
    pki.create_authority_credentials(AUTHORITY_USCC, AUTHORITY)
    return pki


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


