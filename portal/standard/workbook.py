"""Batch-import workbook I/O (pure: paths/bytes in, data out; no Flask, no DB).

* ``write_template_zip(dest)`` – the 导出 template zip (xlsx + empty 附件/ folder);
* ``open_import_zip(src)`` – safety checks of an uploaded zip (``ImportRefused`` with one Chinese message)
  and streaming of its rows as ``ImportRow`` (read with python-calamine: ~15× faster than openpyxl);
* ``check_import_file(f, ctx)`` – every rule on every row (the CLI ``certs check``);
* ``write_failure_report(dest, failed_rows, person_failures)`` – failed rows of both sheets in the template
  layout + 错误信息, re-importable.
"""
from __future__ import annotations

import io
import os
import posixpath
import stat
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import BinaryIO, Iterable, Iterator, Sequence

from . import codes
from .fields import (ATTACHMENTS_FIELD, EXAMPLE_CERTIFICATE, EXAMPLE_PERSONS, EXAMPLE_SEQ, FIELDS, PERSON_FIELDS,
                     PERSON_SEQ_FIELD, SEQ_FIELD, FieldDef)
from .normalize import clean_record_number, clean_seq, clean_text, parse_date, split_attachments
from .rules import CheckContext, RuleError, check_certificate, check_person_row, rule_r12_same_file

TEMPLATE_ZIP_NAME = "建筑起重机械使用登记证书导入模板.zip"
TEMPLATE_XLSX_NAME = "建筑起重机械使用登记证书导入模板.xlsx"
ATTACHMENT_DIR = "附件"
CERT_SHEET, PERSON_SHEET, HELP_SHEET, CODE_SHEET = "证照信息", "人员信息", "填写说明", "代码表"
ERROR_HEADER = "错误信息"
CERT_COLUMNS: tuple[FieldDef, ...] = (SEQ_FIELD, *FIELDS, ATTACHMENTS_FIELD)
PERSON_COLUMNS: tuple[FieldDef, ...] = (PERSON_SEQ_FIELD, *PERSON_FIELDS)
CERT_HEADERS = tuple(f.header for f in CERT_COLUMNS)
PERSON_HEADERS = tuple(f.header for f in PERSON_COLUMNS)
ATTACHMENT_EXTENSIONS = (".pdf", ".jpg", ".jpeg", ".png")

DEFAULT_MAX_ZIP_BYTES = 50 * 1024 * 1024
DEFAULT_MAX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_ENTRIES = 5000
TEMPLATE_ROWS = 2000  # rows covered by dropdowns in the template


class ImportRefused(Exception):
    """The uploaded file is refused as a whole; ``message`` (Chinese) says why and what to do."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# ---------------------------------------------------------------------------------------------- template

def _col(n: int) -> str:
    from openpyxl.utils import get_column_letter
    return get_column_letter(n)


def _code_table_rows() -> list[list]:
    """代码表 laid out side by side: A–E divisions, G–H crane types, J–L personnel types, N–O permit categories."""
    divs = codes.all_divisions()
    blocks = [
        (["区划代码", "地市", "区县/功能区", "备案编号前缀", "说明"],
         [[d.code, d.city_name, "" if d.is_city else d.name, d.prefix,
           f"附录未单列，并入{d.city_name}（前缀 {d.prefix}）" if d.folded else ""] for d in divs]),
        (["设备类别", "名称"], [[t.letter, t.name] for t in codes.crane_types()]),
        (["人员类型代码", "人员类型", "单位类别"],
         [[p.code, p.name, p.unit_category] for p in codes.personnel_types()]),
        (["专业分类代码", "施工许可证专业分类"], [[c.code, c.name] for c in codes.permit_categories()]),
    ]
    height = max(len(rows) for _, rows in blocks) + 1
    out = [[] for _ in range(height)]
    for header, rows in blocks:
        width = len(header)
        for r in range(height):
            cells = header if r == 0 else (rows[r - 1] if r - 1 < len(rows) else [None] * width)
            out[r].extend(list(cells) + [None])
    return out


CODE_RANGES = {  # data-validation sources on 代码表 (absolute, with the sheet name)
    "project_division": f"'{CODE_SHEET}'!$A$2:$A${len(codes.all_divisions()) + 1}",
    "crane_type": f"'{CODE_SHEET}'!$G$2:$G${len(codes.crane_types()) + 1}",
    "type_code": f"'{CODE_SHEET}'!$J$2:$J${len(codes.personnel_types()) + 1}",
}


def _help_rows() -> list[list[str]]:
    rows = [["工作表", "列", "是否必填", "填写说明"]]
    for sheet, cols in ((CERT_SHEET, CERT_COLUMNS), (PERSON_SHEET, PERSON_COLUMNS)):
        for f in cols:
            rows.append([sheet, f.label, "必填" if f.required else "选填", f.hint])
    rows += [
        [],
        ["说明", "", "", "第 1 行为表头（带 * 为必填项），请勿修改表头文字；列的顺序可以调整。"],
        ["说明", "", "", "第 2 行（序号 1）为示例数据，保持不变时导入会自动忽略；可直接覆盖为真实数据，或从第 3 行开始填写。"],
        ["说明", "", "", "一行证照信息对应“人员信息”表中序号相同的多行人员；新发证须至少包含 1101～1109 和 1113 各一人。"],
        ["说明", "", "", "代码、证件号码列已设为文本格式，请勿改为数字格式，否则 18 位号码的末尾数字会丢失。"],
        ["说明", "", "", "日期可填写 Excel 日期或 YYYY-MM-DD 文本。附件文件请放在压缩包的“附件”文件夹中。"],
        ["说明", "", "", "填写完成后保存，把 Excel 文件放回压缩包（zip 格式，不要加密码）后上传。"],
        ["说明", "", "", "导入失败时可下载失败原因表格：按“错误信息”列修改后，可直接把该表格放入压缩包重新上传。"],
    ]
    return rows


def _build_workbook(cert_rows: Iterable[tuple[list, dict[int, str]]],
                    person_rows: Iterable[tuple[list, dict[int, str]]], *, error_column: bool,
                    example: bool):
    """A write-only workbook in the template layout. Rows are (values, {column index: comment text})."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook(write_only=True)
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    required_font = Font(bold=True, color="C00000")
    example_fill = PatternFill("solid", fgColor="EDEDED")
    error_fill = PatternFill("solid", fgColor="FFC7CE")

    def header(ws, cols: Sequence[FieldDef]):
        cells = []
        for f in cols:
            c = WriteOnlyCell(ws, f.header)
            c.fill = header_fill
            c.font = required_font if f.required else Font(bold=True)
            c.alignment = Alignment(wrap_text=True, vertical="center")
            c.comment = Comment(f.hint, "模板") if f.hint else None
            cells.append(c)
        if error_column:
            c = WriteOnlyCell(ws, ERROR_HEADER)
            c.fill, c.font = error_fill, Font(bold=True)
            cells.append(c)
        ws.append(cells)

    def data_sheet(title: str, cols: Sequence[FieldDef], rows, validations: dict[str, str]):
        ws = wb.create_sheet(title)
        ws.freeze_panes = "B2"
        for i, f in enumerate(cols, start=1):
            dim = ws.column_dimensions[_col(i)]
            dim.width = max(12, min(40, len(f.header) * 2 + 2))
            if f.text_format:
                dim.number_format = "@"  # typed codes stay text: 18-digit numbers lose digits otherwise
        if error_column:
            ws.column_dimensions[_col(len(cols) + 1)].width = 80
        for i, f in enumerate(cols, start=1):
            if f.key in validations:
                dv = DataValidation(type="list", formula1=validations[f.key], allow_blank=True, showErrorMessage=True,
                                    errorTitle=f.label, error=f"请从下拉列表（代码表）中选择{f.label}")
                dv.add(f"{_col(i)}2:{_col(i)}{TEMPLATE_ROWS + 1}")
                ws.data_validations.append(dv)
        header(ws, cols)
        for values, comments, *rest in rows:
            fill = example_fill if rest and rest[0] == "example" else None
            cells = []
            for i, v in enumerate(values):
                c = WriteOnlyCell(ws, v)
                if i < len(cols) and cols[i].text_format:
                    c.number_format = "@"
                elif isinstance(v, date):
                    c.number_format = "yyyy-mm-dd"
                if i in comments:
                    c.fill = error_fill
                    c.comment = Comment(comments[i], "导入校验", width=300, height=120)
                elif fill is not None:
                    c.fill = fill
                if error_column and i == len(cols):
                    c.alignment = Alignment(wrap_text=True, vertical="top")
                cells.append(c)
            ws.append(cells)

    data_sheet(CERT_SHEET, CERT_COLUMNS, cert_rows,
               {"crane_type": CODE_RANGES["crane_type"], "project_division": CODE_RANGES["project_division"]})
    data_sheet(PERSON_SHEET, PERSON_COLUMNS, person_rows, {"type_code": CODE_RANGES["type_code"]})
    ws = wb.create_sheet(HELP_SHEET)
    for letter, width in zip("ABCD", (10, 34, 10, 100)):
        ws.column_dimensions[letter].width = width
    for row in _help_rows():
        ws.append(row)
    ws = wb.create_sheet(CODE_SHEET)
    for i, width in enumerate((10, 10, 30, 12, 30, 3, 10, 14, 3, 12, 30, 10, 3, 12, 30), start=1):
        ws.column_dimensions[_col(i)].width = width
        ws.column_dimensions[_col(i)].number_format = "@"
    for row in _code_table_rows():
        ws.append(row)
    return wb


def _example_rows():
    cert = [EXAMPLE_SEQ] + [EXAMPLE_CERTIFICATE.get(f.key, "") for f in CERT_COLUMNS[1:]]
    yield cert, {}, "example"


def _example_person_rows():
    for p in EXAMPLE_PERSONS:
        yield [EXAMPLE_SEQ] + [p.get(f.key, "") for f in PERSON_FIELDS], {}, "example"


def template_workbook_bytes() -> bytes:
    """The template .xlsx alone (as bytes)."""
    buf = io.BytesIO()
    _build_workbook(_example_rows(), _example_person_rows(), error_column=False, example=True).save(buf)
    return buf.getvalue()


def write_template_zip(path_or_file: str | os.PathLike | BinaryIO) -> None:
    """Write 建筑起重机械使用登记证书导入模板.zip: the template .xlsx plus an empty 附件/ folder entry."""
    data = template_workbook_bytes()
    with zipfile.ZipFile(path_or_file, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(TEMPLATE_XLSX_NAME, data)
        zf.writestr(zipfile.ZipInfo(ATTACHMENT_DIR + "/"), b"")


# ---------------------------------------------------------------------------------------------- import

@dataclass
class ImportRow:
    """One 证照信息 row with its persons; ``problems`` are file-level issues of this row (e.g. duplicate 序号)."""

    seq: str
    excel_row: int
    values: dict[str, object]
    persons: list[dict[str, object]]
    person_rows: list[int]
    attachment_names: list[str]
    problems: list[RuleError] = field(default_factory=list)


@dataclass
class PersonRowFailure:
    """A 人员信息 row that belongs to no certificate row (no 序号, or a 序号 that the 证照信息 sheet lacks): a failed
    row of its own, counted, reported and written to the failure report's 人员信息 sheet (SPEC §6)."""

    excel_row: int
    seq: str
    values: dict[str, object]
    errors: list[RuleError]


def _norm_header(h: object) -> str:
    text = clean_text(h)
    text = "".join(text.split()).replace("（", "(").replace("）", ")")
    return text.rstrip("*＊").strip()


def _refuse(message: str) -> ImportRefused:
    return ImportRefused(message)


def _entry_name(info: zipfile.ZipInfo) -> str:
    name = info.filename
    if not info.flag_bits & 0x800:  # no UTF-8 flag: zips made on Chinese Windows use GBK names
        try:
            name = name.encode("cp437").decode("gbk")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return name.replace("\\", "/")


def _read_bounded(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """Read one entry, stopping as soon as it inflates beyond ``limit`` (declared sizes can lie)."""
    out = bytearray()
    try:
        with zf.open(info) as fh:
            while chunk := fh.read(1 << 20):
                out += chunk
                if len(out) > limit:
                    raise _refuse("压缩包解压后的内容过大（可能是异常或恶意的压缩文件），已拒绝导入；请只放入导入模板和附件后重新压缩上传")
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError) as e:
        # zipfile stops at the declared size and then fails the CRC: a lying header ends here
        raise _refuse(f"压缩包中的“{_entry_name(info)}”已损坏（大小或校验和不符），无法解压；请重新压缩后上传") from e
    return bytes(out)


class ImportFile:
    """A checked upload: the workbook's two data sheets and the attachment names. Use ``rows()``."""

    def __init__(self, source: bytes, workbook_name: str, cert_rows: list[tuple[int, list]],
                 cert_columns: dict[str, int], person_rows: list[tuple[int, list]], person_columns: dict[str, int],
                 attachments: dict[str, str]):
        self._source = source
        self.workbook_name = workbook_name
        self._cert_rows = cert_rows
        self._cert_columns = cert_columns
        self._person_rows = person_rows
        self._person_columns = person_columns
        self.attachments = attachments  # file name → raw zip entry name
        self.problems: list[RuleError] = []  # file-level problems not tied to a certificate row
        self.orphan_persons: list[PersonRowFailure] = []  # with their 序号 error; see orphan_person_failures()
        self._persons_by_seq: dict[str, list[tuple[int, dict]]] = {}
        self._group_persons()
        self._person_rows = []  # grouped copies kept; free the raw rows

    @property
    def attachment_names(self) -> list[str]:
        """Names of the files in the zip's 附件/ folder."""
        return sorted(self.attachments)

    def read_attachment(self, name: str, limit: int = DEFAULT_MAX_UNPACKED_BYTES) -> bytes:
        """The bytes of one attachment (bounded read)."""
        with zipfile.ZipFile(io.BytesIO(self._source)) as zf:
            return _read_bounded(zf, zf.getinfo(self.attachments[name]), limit)

    def _group_persons(self) -> None:
        cols = self._person_columns
        self._seqs = [clean_seq(row[self._cert_columns["seq"]]) for _, row in self._cert_rows]
        seqs = set(self._seqs)
        example = [tuple(clean_text(p.get(f.key, "")) for f in PERSON_FIELDS) for p in EXAMPLE_PERSONS]
        example_seq_ignored = self._example_row_index() is not None
        keys = [(f.key, cols[f.key]) for f in PERSON_FIELDS]
        seq_col = cols["seq"]
        for excel_row, row in self._person_rows:
            seq = clean_seq(row[seq_col])
            person = {k: row[i] for k, i in keys}
            if example_seq_ignored and seq == EXAMPLE_SEQ and \
                    tuple(clean_text(person[f.key]) for f in PERSON_FIELDS) in example:
                continue
            if not seq:
                self.orphan_persons.append(PersonRowFailure(excel_row, seq, person, [RuleError(
                    "REQUIRED", "seq", f"人员信息表第{excel_row}行 序号", "",
                    f"人员信息表第{excel_row}行 序号：为必填项，请填写该人员所属证照在证照信息表中的序号")]))
                continue
            if seq not in seqs:
                self.orphan_persons.append(PersonRowFailure(excel_row, seq, person, [RuleError(
                    "FORMAT", "seq", f"人员信息表第{excel_row}行 序号", seq,
                    f"人员信息表第{excel_row}行 序号：证照信息表中没有序号为 {seq} 的行，该人员未导入；"
                    f"请核对该人员所属证照的序号")]))
                continue
            self._persons_by_seq.setdefault(seq, []).append((excel_row, person))

    def _example_row_index(self) -> int | None:
        cols = self._cert_columns
        for idx, (_, row) in enumerate(self._cert_rows[:1]):
            if clean_seq(row[cols["seq"]]) != EXAMPLE_SEQ:
                return None
            for f in CERT_COLUMNS[1:]:
                v = row[cols[f.key]]
                if f.kind == "date":
                    try:
                        d = parse_date(v, f.label)
                    except ValueError:
                        return None
                    v = d.isoformat() if d else ""
                if clean_text(v) != EXAMPLE_CERTIFICATE.get(f.key, ""):
                    return None
            return idx
        return None

    def record_numbers(self) -> set[str]:
        """Every 备案编号 of the file, canonical (as the rules see it), so R12 is looked up for all rows at once."""
        col = self._cert_columns["record_number"]
        skip = self._example_row_index()
        numbers = set()
        for idx, (_, row) in enumerate(self._cert_rows):
            if idx == skip:
                continue
            try:
                numbers.add(clean_record_number(row[col]))
            except ValueError:  # a spreadsheet number: FORMAT error, nothing to look up
                continue
        numbers.discard("")
        return numbers

    def __len__(self) -> int:
        return len(self._cert_rows) - (self._example_row_index() is not None)

    def rows(self) -> Iterator[ImportRow]:
        """The certificate rows in sheet order (empty rows and the unchanged example row skipped)."""
        cols = self._cert_columns
        skip = self._example_row_index()
        counts: dict[str, int] = {}
        first: dict[str, int] = {}
        for i, s in enumerate(self._seqs):
            counts[s] = counts.get(s, 0) + 1
            first.setdefault(s, i)
        keys = [(f.key, cols[f.key]) for f in CERT_COLUMNS[1:]]
        for idx, (excel_row, row) in enumerate(self._cert_rows):
            if idx == skip:
                continue
            seq = self._seqs[idx]
            values = {k: row[i] for k, i in keys}
            problems = []
            if not seq:
                problems.append(RuleError("REQUIRED", "seq", "序号", "", f"序号：第{excel_row}行未填写序号，请填写唯一的正整数序号"))
            elif not seq.isdigit() or seq == "0":
                problems.append(RuleError("FORMAT", "seq", "序号", seq, f"序号：“{seq}”不是正整数，请填写唯一的正整数序号"))
            if seq and counts.get(seq, 0) > 1:
                problems.append(RuleError("FORMAT", "seq", "序号", seq,
                                          f"序号：{seq} 在证照信息表中出现了 {counts[seq]} 次，序号必须唯一（人员按序号关联），请修改"))
            # a 序号 used twice fails both rows; its persons go with the first, so the failure report keeps them
            persons = self._persons_by_seq.get(seq, []) if seq and first[seq] == idx else []
            names = split_attachments(values.get("attachments"))
            for name in names:
                if not name.lower().endswith(ATTACHMENT_EXTENSIONS):
                    problems.append(RuleError("FORMAT", "attachments", "附件", name,
                                              f"附件：“{name}”不是 PDF、JPG 或 PNG 文件，请上传扫描件的 PDF 或图片"))
                elif name not in self.attachments:
                    problems.append(RuleError("FORMAT", "attachments", "附件", name,
                                              f"附件：压缩包的“附件”文件夹中没有文件“{name}”，请核对文件名（含扩展名）或补充该文件"))
            yield ImportRow(seq, excel_row, values, [p for _, p in persons], [r for r, _ in persons], names,
                            problems)


def _sheet_rows(wb, sheet_name: str, expected: Sequence[FieldDef]) -> tuple[list[tuple[int, list]], dict[str, int]]:
    names = {n.strip(): n for n in wb.sheet_names}
    if sheet_name not in names:
        raise _refuse(f"Excel 工作簿中缺少工作表“{sheet_name}”，请使用导出的导入模板填写，不要删除或重命名工作表")
    sheet = wb.get_sheet_by_name(names[sheet_name])
    start = sheet.start
    first_row = (start[0] if start else 0) + 1  # calamine ranges start at the first used cell
    rows = sheet.iter_rows()
    header = next(rows, None)
    if header is None:
        raise _refuse(f"工作表“{sheet_name}”是空的，第 1 行应为表头，请使用导出的导入模板填写")
    columns: dict[str, int] = {}
    seen: dict[str, int] = {}
    for i, h in enumerate(header):
        n = _norm_header(h)
        if n:
            if n in seen:
                raise _refuse(f"工作表“{sheet_name}”的表头“{n}”出现了两次，请删除重复的列")
            seen[n] = i
    missing = []
    for f in expected:
        i = seen.get(_norm_header(f.header))
        if i is None:
            missing.append(f.header)
        else:
            columns[f.key] = i
    if missing:
        raise _refuse(f"工作表“{sheet_name}”第 1 行缺少表头：{'、'.join(missing)}；请使用导出的导入模板，不要修改表头文字")
    width = max(columns.values()) + 1
    out = []
    for n, row in enumerate(rows, start=first_row + 1):
        if len(row) < width:
            row = list(row) + [""] * (width - len(row))
        # any(row) is a fast C-level test; the second pass drops rows of only blanks/spaces
        if any(row) and any(type(v) is not str or v.strip() for v in row if v):
            out.append((n, row))
    return out, columns


def open_import_zip(path: str | os.PathLike | bytes | BinaryIO, max_zip_bytes: int = DEFAULT_MAX_ZIP_BYTES,
                    max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES) -> ImportFile:
    """Check an uploaded zip and read its workbook; raises ``ImportRefused`` (one Chinese message) when the
    file is not a zip, encrypted, unsafe (absolute/.. names, links), too large packed or unpacked, has no or
    several .xlsx workbooks, or lacks a sheet or header."""
    try:
        source = _load_source(path, max_zip_bytes)
        return _open(source, max_unpacked_bytes)
    except ImportRefused:
        raise
    except Exception as e:  # never crash on a malformed upload
        raise _refuse(f"无法读取上传的文件（{type(e).__name__}），请确认是导出的导入模板压缩包（zip），重新压缩后上传") from e


def _load_source(path, max_zip_bytes: int) -> bytes:
    too_big = _refuse(f"上传的压缩包超过 {max_zip_bytes // (1024 * 1024)} MB，请分批导入或压缩附件后上传")
    if isinstance(path, (bytes, bytearray, memoryview)):
        data = bytes(path)
    elif isinstance(path, (str, os.PathLike)):
        if os.path.getsize(path) > max_zip_bytes:
            raise too_big
        with open(path, "rb") as fh:
            data = fh.read(max_zip_bytes + 1)
    else:
        data = path.read(max_zip_bytes + 1)
    if len(data) > max_zip_bytes:
        raise too_big
    return data


def _open(source: bytes, max_unpacked: int) -> ImportFile:
    if source[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise _refuse("上传的是 Excel 文件（.xls 或加密的工作簿），不是 zip 压缩包：请把填好的 .xlsx 模板放入导出的压缩包中再上传")
    if not zipfile.is_zipfile(io.BytesIO(source)):
        if source[:4] == b"Rar!" or source[:6] == b"7z\xbc\xaf\x27\x1c":
            raise _refuse("上传的是 rar/7z 压缩包，只支持 zip 格式：请用 zip 格式重新压缩后上传")
        raise _refuse("上传的文件不是 zip 压缩包，请上传导出的导入模板压缩包（.zip，压缩包格式不能修改）")
    try:
        zf = zipfile.ZipFile(io.BytesIO(source))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError):
        raise _refuse("上传的 zip 压缩包已损坏，无法打开，请重新压缩后上传") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ENTRIES:
            raise _refuse(f"压缩包中的文件过多（{len(infos)} 个，最多 {MAX_ENTRIES} 个），请分批导入")
        names = {}
        if any(n.startswith(("[Content_Types].xml", "xl/")) for n in (i.filename for i in infos)):
            raise _refuse("上传的是 Excel 文件本身，不是导入压缩包：请把填好的 .xlsx 模板放入导出的 zip 压缩包中再上传")
        total = 0
        for info in infos:
            if info.flag_bits & 0x1:
                raise _refuse("压缩包设置了密码（已加密），无法读取：请不加密码重新压缩后上传")
            name = _entry_name(info)
            parts = name.split("/")
            if name.startswith("/") or (len(name) > 1 and name[1] == ":") or ".." in parts:
                raise _refuse(f"压缩包中的文件路径“{name}”不安全（绝对路径或包含 ..），已拒绝导入；请只压缩导入模板和“附件”文件夹")
            mode = info.external_attr >> 16
            if mode and stat.S_ISLNK(mode):
                raise _refuse(f"压缩包中的“{name}”是符号链接，已拒绝导入；请只压缩普通文件")
            total += info.file_size
            if total > max_unpacked:
                raise _refuse("压缩包解压后的内容过大（可能是异常或恶意的压缩文件），已拒绝导入；请只放入导入模板和附件后重新压缩上传")
            names[name] = info
        files = {n: i for n, i in names.items() if not i.is_dir() and not n.startswith("__MACOSX/")
                 and not posixpath.basename(n).startswith(("~$", "._"))}
        books = [n for n in files if n.lower().endswith(".xlsx")]
        if not books:
            others = [n for n in files if n.lower().endswith((".xls", ".csv", ".et", ".xlsm", ".ods", ".numbers"))]
            if others:
                raise _refuse(f"压缩包中的“{others[0]}”不是 .xlsx 格式：请在导出的模板（.xlsx）中填写并保存为 .xlsx 后上传")
            raise _refuse(f"压缩包中没有找到导入模板（.xlsx 工作簿），请把填好的“{TEMPLATE_XLSX_NAME}”放入压缩包后上传")
        if len(books) > 1:
            raise _refuse(f"压缩包中有 {len(books)} 个 Excel 工作簿（{'、'.join(books)}），一次只能导入一个，请只保留一个后上传")
        book = books[0]
        data = _read_bounded(zf, files[book], max_unpacked)
        attachments = {}
        for n in files:
            parts = n.split("/")
            if ATTACHMENT_DIR in parts[:-1]:
                attachments.setdefault(parts[-1], files[n].filename)  # raw name for getinfo()
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise _refuse(f"工作簿“{book}”设置了打开密码（已加密）或不是 .xlsx 格式，请取消密码、另存为 .xlsx 后重新上传")
    try:
        from python_calamine import CalamineWorkbook
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception:
        raise _refuse(f"无法读取工作簿“{book}”，文件可能已损坏：请用 Excel/WPS 打开后另存为 .xlsx 再上传") from None
    try:
        cert_rows, cert_cols = _sheet_rows(wb, CERT_SHEET, CERT_COLUMNS)
        person_rows, person_cols = _sheet_rows(wb, PERSON_SHEET, PERSON_COLUMNS)
    except ImportRefused:
        raise
    except Exception:
        raise _refuse(f"无法读取工作簿“{book}”的内容，文件可能已损坏：请用 Excel/WPS 打开后另存为 .xlsx 再上传") from None
    finally:
        wb.close()
    return ImportFile(source, book, cert_rows, cert_cols, person_rows, person_cols, attachments)


# ---------------------------------------------------------------------------------------------- checking

@dataclass
class CheckReport:
    """Result of checking a whole import file. ``total``/``invalid`` count the failed 人员信息 rows too."""

    total: int
    valid: int
    invalid: int
    rows: list[tuple[str, list[RuleError]]]  # (序号, errors) for every certificate row; [] = valid
    file_problems: list[RuleError] = field(default_factory=list)
    person_failures: list[PersonRowFailure] = field(default_factory=list)  # persons of no certificate row

    @property
    def failed(self) -> list[tuple[str, list[RuleError]]]:
        """Only the certificate rows with errors."""
        return [(s, e) for s, e in self.rows if e]


def check_import_rows(import_file: ImportFile, ctx: CheckContext) -> Iterator[tuple[ImportRow, list[RuleError]]]:
    """Check every row (all rules, all errors) and yield (row, errors). R12 compares the canonical 备案编号 with
    the database (``ctx.record_number_taken``) and with the earlier rows of the file that pass every check
    (rows that would be issued): a copy of a row that fails is not a duplicate of anything."""
    passed: dict[str, ImportRow] = {}  # canonical 备案编号 → the first row with it that passes
    for row in import_file.rows():
        errors = list(row.problems)
        errors += check_certificate(row.values, row.persons, ctx, person_rows=row.person_rows)
        try:
            number = clean_record_number(row.values.get("record_number"))
        except ValueError:  # reported by check_certificate as FORMAT
            number = ""
        if number and number in passed:
            errors += rule_r12_same_file(number, passed[number].excel_row, passed[number].seq)
        elif number and not errors:
            passed[number] = row
        yield row, errors


def orphan_person_failures(import_file: ImportFile, ctx: CheckContext) -> list[PersonRowFailure]:
    """The 人员信息 rows of no certificate row, each with its 序号 error and whatever else is wrong with it."""
    return [PersonRowFailure(p.excel_row, p.seq, p.values,
                             p.errors + check_person_row(p.values, ctx.today, p.excel_row))
            for p in import_file.orphan_persons]


def check_import_file(import_file: ImportFile, ctx: CheckContext) -> CheckReport:
    """Check a whole import file without issuing anything (the core of CLI ``certs check``)."""
    rows = [(row.seq, errors) for row, errors in check_import_rows(import_file, ctx)]
    persons = orphan_person_failures(import_file, ctx)
    invalid = sum(1 for _, e in rows if e) + len(persons)
    total = len(rows) + len(persons)
    return CheckReport(total, total - invalid, invalid, rows, list(import_file.problems), persons)


# ---------------------------------------------------------------------------------------------- failure report

def _cell_value(v: object) -> object:
    if isinstance(v, datetime) and v.time() == datetime.min.time():
        return v.date()
    if isinstance(v, float) and v.is_integer():
        return int(v) if abs(v) < 1e15 else v
    return "" if v is None else v


def write_failure_report(path: str | os.PathLike | BinaryIO,
                         failed_rows: Iterable[tuple[ImportRow, list[RuleError]]],
                         person_failures: Sequence[PersonRowFailure] = ()) -> int:
    """Write the failed rows (with their persons) and the failed 人员信息 rows of no certificate row in the
    template layout plus a 错误信息 column; offending cells are filled red with the message as a comment.
    Returns the number of certificate rows written. The file can be fixed and uploaded again as it is (the
    importer ignores the 错误信息 column)."""
    cert_index = {f.key: i for i, f in enumerate(CERT_COLUMNS)}
    person_index = {f.key: i for i, f in enumerate(PERSON_COLUMNS)}
    person_out: list[tuple[list, dict[int, str]]] = []
    count = 0

    def cert_rows():
        nonlocal count
        for row, errors in failed_rows:
            count += 1
            values = [row.seq] + [_cell_value(row.values.get(f.key)) for f in CERT_COLUMNS[1:]]
            comments: dict[int, str] = {}
            per_person: dict[int, list[RuleError]] = {}
            for e in errors:
                if e.person_index is not None:
                    per_person.setdefault(e.person_index, []).append(e)
                elif e.key in cert_index:
                    i = cert_index[e.key]
                    comments[i] = f"{comments[i]}\n{e.message}" if i in comments else e.message
            values.append("\n".join(f"{n}. {e.message}" for n, e in enumerate(errors, start=1)))
            for pi, person in enumerate(row.persons):
                pvalues = [row.seq] + [_cell_value(person.get(f.key)) for f in PERSON_FIELDS]
                pcomments: dict[int, str] = {}
                for e in per_person.get(pi, []):
                    i = person_index.get(e.key, 0)
                    pcomments[i] = f"{pcomments[i]}\n{e.message}" if i in pcomments else e.message
                pvalues.append("\n".join(e.message for e in per_person.get(pi, [])))
                person_out.append((pvalues, pcomments))
            yield values, comments

    def orphan_rows():
        for failure in person_failures:
            pvalues = [failure.seq] + [_cell_value(failure.values.get(f.key)) for f in PERSON_FIELDS]
            pcomments: dict[int, str] = {}
            for e in failure.errors:
                i = person_index.get(e.key, 0)
                pcomments[i] = f"{pcomments[i]}\n{e.message}" if i in pcomments else e.message
            pvalues.append("\n".join(e.message for e in failure.errors))
            yield pvalues, pcomments

    # persons are collected while the certificate sheet is written (write-only sheets are sequential)
    cert_list = list(cert_rows())
    person_out.extend(orphan_rows())
    wb = _build_workbook(cert_list, person_out, error_column=True, example=False)
    wb.save(path)
    return count
