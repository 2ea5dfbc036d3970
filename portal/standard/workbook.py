"""Batch-import workbook I/O (pure: paths/bytes in, data out; no Flask, no DB).

* ``write_template_zip(dest)`` – the 导出 template zip (xlsx + empty 附件/ folder);
* ``open_import_zip(src, limits)`` – safety checks of an uploaded zip (``ImportRefused`` with one Chinese
  message) and its rows as ``ImportRow``; ``count_import_rows(src, limits)`` the same checks, only the count;
  ``check_import_upload(src, limits)`` the same checks, answering the count and the sheets as read (compact),
  which ``open_import_zip(src, limits, sheets=…)`` takes instead of reading the workbook a second time;
* ``check_import_file(f, ctx)`` – every rule on every row (the CLI ``certs check``);
* ``write_failure_report(dest, failed_rows, person_failures)`` – failed rows of both sheets in the template
  layout + 错误信息, re-importable.

Reading is bounded whatever the file says. The zip is checked from its central directory and read with
hard caps; the workbook is read with python-calamine (~15× faster than openpyxl), which aborts its process
natively when a sheet's last cell asks for a grid it cannot allocate: so the sheets are first scanned
(``xlsx_scan``), refused beyond the template's columns and the row limit, and then read, each data sheet
in a child process of its own (the two side by side) with an address-space limit (``isolation``); a child
that dies is a refused file, never a dead server.
"""
from __future__ import annotations

import io
import os
import posixpath
import stat
import tempfile
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from operator import itemgetter
from typing import BinaryIO, Iterable, Iterator, Sequence

from . import codes
from .fields import (ATTACHMENTS_FIELD, EXAMPLE_CERTIFICATE, EXAMPLE_PERSONS, EXAMPLE_SEQ, FIELDS, PERSON_FIELDS,
                     PERSON_SEQ_FIELD, SEQ_FIELD, FieldDef)
from .isolation import ChildDied, ChildFailed, ResultTooLarge, decode_data, encode_data, start_in_child
from .normalize import clean_record_number, clean_seq, clean_text, parse_date, split_attachments
from .rules import (CheckContext, CheckedCertificate, RuleError, attachment_too_large, check_and_clean,
                    check_person_row, rule_r12_same_file)
from .xlsx_scan import SheetBeyond, XlsxUnreadable, cell_ref, column_letters, scan_sheet, sheet_members

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
DEFAULT_MAX_ROWS = 10_000  # certificates a file
PERSONS_PER_CERTIFICATE = 20  # the persons a file may hold, per certificate of the row limit
DEFAULT_MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_ENTRIES = 5000
TEMPLATE_ROWS = 2000  # rows covered by dropdowns in the template
SPARE_COLUMNS = 10  # columns a clerk may add beside the template's own and the failure report's 错误信息
# What a read hands back to the web or worker process may average this much (as JSON) a row of the row
# limits: a real certificate row is about 1 KB, a person row about 100 bytes.
READ_BYTES_PER_CERTIFICATE, READ_BYTES_PER_PERSON = 2000, 200


@dataclass(frozen=True)
class ImportLimits:
    """What one upload may hold and cost to read (the service fills it from IMPORT_* configuration)."""

    max_zip_bytes: int = DEFAULT_MAX_ZIP_BYTES
    max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES  # the zip's entries together, inflated
    max_rows: int = DEFAULT_MAX_ROWS
    max_person_rows: int = DEFAULT_MAX_ROWS * PERSONS_PER_CERTIFICATE
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES  # one attachment
    max_workbook_bytes: int = 400 * 1024 * 1024  # the .xlsx's own parts together, inflated
    reader_memory_bytes: int = 900 * 1024 * 1024  # address space of each child that reads a sheet
    reader_timeout: float = 120.0  # seconds

    @property
    def max_read_bytes(self) -> int:
        """The most the reader children may hand back (the two data sheets' rows, as JSON, together)."""
        return self.max_rows * READ_BYTES_PER_CERTIFICATE + self.max_person_rows * READ_BYTES_PER_PERSON


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
                if type(v) is str:
                    c.data_type = "s"  # openpyxl would make a formula of a text that starts with '='
                if i < len(cols) and (cols[i].text_format or error_column):
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
    formula_cells: set[tuple[str, int | None]] = field(default_factory=set)  # (field key, person index)

    def without_superseded(self, errors: Iterable[RuleError]) -> list[RuleError]:
        """``errors`` less those about a formula cell: it reads as empty, and its problem «为公式» says why
        where «为必填项» would mislead."""
        cells = self.formula_cells
        return [e for e in errors if (e.key, e.person_index) not in cells] if cells else list(errors)


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
    """The entry's name: UTF-8 when flagged; else strict UTF-8 (Info-ZIP on Linux, macOS's Archive Utility
    write it without the flag), then GBK (Chinese Windows); names compared in NFC."""
    name = info.filename
    if not info.flag_bits & 0x800:
        raw = name.encode("cp437")  # zipfile decoded the unflagged bytes as CP437: undo it
        for encoding in ("utf-8", "gbk"):
            try:
                name = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            shown = raw.decode("gbk", errors="replace")
            raise _refuse(f"压缩包中的文件名“{shown}”无法识别（既不是 UTF-8 也不是 GBK 编码），已拒绝导入；"
                          "请把该文件改名（使用常见的中文、字母或数字）后重新压缩上传")
    return unicodedata.normalize("NFC", name.replace("\\", "/"))


class _EntryTooLarge(Exception):
    """An entry inflated beyond its cap (sizes in a zip's headers can lie)."""


def _copy_bounded(zf: zipfile.ZipFile, info: zipfile.ZipInfo, out: BinaryIO, limit: int) -> None:
    """Copy one entry into ``out``, stopping as soon as it inflates beyond ``limit`` (``_EntryTooLarge``)."""
    size = 0
    try:
        with zf.open(info) as fh:
            while chunk := fh.read(1 << 20):
                size += len(chunk)
                if size > limit:
                    raise _EntryTooLarge(info.filename)
                out.write(chunk)
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, ValueError) as e:
        # zipfile stops at the declared size and then fails the CRC: a lying header ends here
        raise _refuse(f"压缩包中的“{_entry_name(info)}”已损坏（大小或校验和不符），无法解压；请重新压缩后上传") from e


class ImportFile:
    """A checked upload: the workbook's two data sheets and the attachment names. Use ``rows()``."""

    def __init__(self, source: bytes | None, workbook_name: str, cert_rows: list[tuple[int, list]],
                 cert_columns: dict[str, int], person_rows: list[tuple[int, list]], person_columns: dict[str, int],
                 attachments: dict[str, str], *, attachment_sizes: dict[str, int] | None = None,
                 max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
                 formulas: dict[str, dict[int, list[tuple[str, str]]]] | None = None):
        self._source = source
        self.workbook_name = workbook_name
        self._cert_rows = cert_rows
        self._cert_columns = cert_columns
        self._person_rows = person_rows
        self._person_columns = person_columns
        self.attachments = attachments  # file name → raw zip entry name
        self._attachment_sizes = attachment_sizes or {}  # file name → size declared in the central directory
        self._max_attachment_bytes = max_attachment_bytes
        self._zip: zipfile.ZipFile | None = None
        # formula cells without a value: sheet → excel row → [(field key, cell reference)]
        self._formulas = formulas or {}
        self.problems: list[RuleError] = []  # file-level problems not tied to a certificate row
        self.orphan_persons: list[PersonRowFailure] = []  # with their 序号 error; see orphan_person_failures()
        self._persons_by_seq: dict[str, list[tuple[int, dict]]] = {}
        self._examples = self._example_rows()
        self._group_persons()
        self._person_rows = []  # grouped copies kept; free the raw rows

    @property
    def attachment_names(self) -> list[str]:
        """Names of the files in the zip's 附件/ folder."""
        return sorted(self.attachments)

    def read_attachment(self, name: str) -> bytes:
        """The bytes of one attachment, streamed with a hard cap (the attachment size limit): an entry that
        inflates beyond it, whatever its header says, is refused (``ImportRefused``) as is a damaged one."""
        if self._zip is None:
            self._zip = zipfile.ZipFile(io.BytesIO(self._source))
        info = self._zip.getinfo(self.attachments[name])
        out = io.BytesIO()
        try:
            _copy_bounded(self._zip, info, out, self._max_attachment_bytes)
        except _EntryTooLarge:
            raise _refuse(attachment_too_large(name, max(info.file_size, self._max_attachment_bytes + 1),
                                               self._max_attachment_bytes)) from None
        return out.getvalue()

    def _group_persons(self) -> None:
        cols = self._person_columns
        self._seqs = [clean_seq(row[self._cert_columns["seq"]]) for _, row in self._cert_rows]
        seqs = {seq for i, seq in enumerate(self._seqs) if i not in self._examples}
        example = [tuple(clean_text(p.get(f.key, "")) for f in PERSON_FIELDS) for p in EXAMPLE_PERSONS]
        example_seqs = {self._seqs[i] for i in self._examples}
        names = [f.key for f in PERSON_FIELDS]
        pick = itemgetter(*(cols[key] for key in names))
        seq_col = cols["seq"]
        seq_of = lru_cache(maxsize=64, typed=True)(clean_seq)  # a certificate's persons share one 序号 value
        for excel_row, row in self._person_rows:
            seq = seq_of(row[seq_col])
            person = dict(zip(names, pick(row)))
            if seq in example_seqs and tuple(clean_text(person[f.key]) for f in PERSON_FIELDS) in example:
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

    def _example_rows(self) -> set[int]:
        """Indexes of the rows that are the template's example, unchanged (recognised by content, wherever
        they are and whatever their 序号: data may start at 序号 1)."""
        return {idx for idx, (_, row) in enumerate(self._cert_rows) if _is_example(row, self._cert_columns)}

    def record_numbers(self) -> set[str]:
        """Every 备案编号 of the file, canonical (as the rules see it), so R12 is looked up for all rows at once."""
        col = self._cert_columns["record_number"]
        numbers = set()
        for idx, (_, row) in enumerate(self._cert_rows):
            if idx in self._examples:
                continue
            try:
                numbers.add(clean_record_number(row[col]))
            except ValueError:  # a spreadsheet number: FORMAT error, nothing to look up
                continue
        numbers.discard("")
        return numbers

    def __len__(self) -> int:
        return len(self._cert_rows) - len(self._examples)

    def _formula_problems(self, sheet: str, excel_row: int,
                          person_index: int | None = None) -> list[RuleError]:
        problems = []
        for key, ref in self._formulas.get(sheet, {}).get(excel_row, ()):
            label = _COLUMN_LABELS[key]
            where = label if person_index is None else f"人员信息表第{excel_row}行 {label}"
            problems.append(RuleError("FORMAT", key, where, ref,
                                      f"{where}：单元格 {ref} 为公式，请粘贴为数值（在 Excel/WPS 中复制该单元格，"
                                      f"再“选择性粘贴 → 数值”），然后重新上传", person_index=person_index))
        return problems

    def _attachment_problems(self, names: list[str]) -> list[RuleError]:
        problems = []
        for name in names:
            if not name.lower().endswith(ATTACHMENT_EXTENSIONS):
                problems.append(RuleError("FORMAT", "attachments", "附件", name,
                                          f"附件：“{name}”不是 PDF、JPG 或 PNG 文件，请上传扫描件的 PDF 或图片"))
            elif name not in self.attachments:
                problems.append(RuleError("FORMAT", "attachments", "附件", name,
                                          f"附件：压缩包的“附件”文件夹中没有文件“{name}”，请核对文件名（含扩展名）或补充该文件"))
            elif self._attachment_sizes.get(name, 0) > self._max_attachment_bytes:
                problems.append(RuleError("FORMAT", "attachments", "附件", name, attachment_too_large(
                    name, self._attachment_sizes[name], self._max_attachment_bytes)))
        return problems

    def rows(self) -> Iterator[ImportRow]:
        """The certificate rows in sheet order (empty rows and the unchanged example row skipped)."""
        cols = self._cert_columns
        skip = self._examples
        counts: dict[str, int] = {}
        first: dict[str, int] = {}
        for idx, s in enumerate(self._seqs):
            if idx not in skip:
                counts[s] = counts.get(s, 0) + 1
                first.setdefault(s, idx)
        keys = [(f.key, cols[f.key]) for f in CERT_COLUMNS[1:]]
        for idx, (excel_row, row) in enumerate(self._cert_rows):
            if idx in skip:
                continue
            seq = self._seqs[idx]
            values = {k: row[i] for k, i in keys}
            # a 序号 used twice fails both rows; its persons go with the first, so the failure report keeps them
            persons = self._persons_by_seq.get(seq, []) if seq and first[seq] == idx else []
            formulas = self._formula_problems(CERT_SHEET, excel_row)
            for i, (person_row, _) in enumerate(persons):
                formulas += self._formula_problems(PERSON_SHEET, person_row, i)
            formula_cells = {(p.key, p.person_index) for p in formulas}
            problems = list(formulas)
            if not seq and ("seq", None) not in formula_cells:
                problems.append(RuleError("REQUIRED", "seq", "序号", "", f"序号：第{excel_row}行未填写序号，请填写唯一的正整数序号"))
            elif seq and (not seq.isdigit() or seq == "0"):
                problems.append(RuleError("FORMAT", "seq", "序号", seq, f"序号：“{seq}”不是正整数，请填写唯一的正整数序号"))
            if seq and counts.get(seq, 0) > 1:
                problems.append(RuleError("FORMAT", "seq", "序号", seq,
                                          f"序号：{seq} 在证照信息表中出现了 {counts[seq]} 次，序号必须唯一（人员按序号关联），请修改"))
            # one name given twice is one attachment, read and stored once
            names = list(dict.fromkeys(unicodedata.normalize("NFC", n)
                                       for n in split_attachments(values.get("attachments"))))
            problems += self._attachment_problems(names)
            yield ImportRow(seq, excel_row, values, [p for _, p in persons], [r for r, _ in persons], names,
                            problems, formula_cells)


_COLUMN_LABELS = {f.key: f.label for f in (*CERT_COLUMNS, *PERSON_COLUMNS)}


def _is_example(row: list, cols: dict[str, int]) -> bool:
    """True when every field of a 证照信息 row (序号 aside) is the template's example, unchanged."""
    for f in CERT_COLUMNS[1:]:
        v = row[cols[f.key]]
        if f.kind == "date":
            try:
                d = parse_date(v, f.label)
            except ValueError:
                return False
            v = d.isoformat() if d else ""
        if clean_text(v) != EXAMPLE_CERTIFICATE.get(f.key, ""):
            return False
    return True


def _missing_sheet(sheet_name: str) -> ImportRefused:
    return _refuse(f"Excel 工作簿中缺少工作表“{sheet_name}”，请使用导出的导入模板填写，不要删除或重命名工作表")


@dataclass
class _SheetData:
    """One data sheet as read: (excel row, values in ``expected`` order) and its formula cells."""

    rows: list[tuple[int, Sequence]]
    columns: dict[str, int]
    formulas: dict[int, list[tuple[str, str]]]  # excel row → [(field key, cell reference)] without a value

    def to_json(self) -> list:
        """As a reader child hands it back (JSON: the formulas' row numbers cannot be object keys)."""
        return [self.rows, self.columns, list(self.formulas.items())]

    @classmethod
    def from_json(cls, data: list) -> _SheetData:
        rows, columns, formulas = data
        return cls(rows, columns, dict(formulas))


def _sheet_rows(wb, sheet_name: str, expected: Sequence[FieldDef],
                formula_cells: Sequence[tuple[int, int]] = ()) -> _SheetData:
    """The sheet's rows with a value, cut to the ``expected`` columns (found by header name); a formula cell
    (1-based row, column from the scan) whose value calamine reads as empty has no value: it is kept."""
    names = {n.strip(): n for n in wb.sheet_names}
    if sheet_name not in names:
        raise _missing_sheet(sheet_name)
    sheet = wb.get_sheet_by_name(names[sheet_name])
    start = sheet.start
    first_row = (start[0] if start else 0) + 1  # calamine ranges start at the first used cell
    first_column = (start[1] if start else 0) + 1
    rows = sheet.iter_rows()
    header = next(rows, None)
    if header is None:
        raise _refuse(f"工作表“{sheet_name}”是空的，第 1 行应为表头，请使用导出的导入模板填写")
    seen: dict[str, int] = {}
    for i, h in enumerate(header):
        n = _norm_header(h)
        if n:
            if n in seen:
                raise _refuse(f"工作表“{sheet_name}”的表头“{n}”出现了两次，请删除重复的列")
            seen[n] = i
    missing = [f.header for f in expected if _norm_header(f.header) not in seen]
    if missing:
        raise _refuse(f"工作表“{sheet_name}”第 1 行缺少表头：{'、'.join(missing)}；请使用导出的导入模板，不要修改表头文字")
    positions = [seen[_norm_header(f.header)] for f in expected]
    pick = itemgetter(*positions)  # the expected columns of a row, in C
    key_at = {i: f.key for i, f in zip(positions, expected)}
    width = max(positions) + 1
    pending: dict[int, list[tuple[int, str, str]]] = {}  # excel row → [(position, key, reference)]
    for r, c in formula_cells:
        if r > first_row and (c - first_column) in key_at:
            pending.setdefault(r, []).append((c - first_column, key_at[c - first_column], cell_ref(r, c)))
    out, formulas = [], {}
    for n, row in enumerate(rows, start=first_row + 1):
        if len(row) < width:
            row = list(row) + [""] * (width - len(row))
        values = pick(row)
        unread = [(key, ref) for i, key, ref in pending.pop(n, ()) if row[i] == ""] if pending else None
        # any() is a fast C-level test; the second pass drops rows of only blanks/spaces
        if unread or (any(values) and any(type(v) is not str or v.strip() for v in values if v)):
            out.append((n, values))
            if unread:
                formulas[n] = unread
    for n in sorted(pending):  # formula-only rows below the last value calamine read
        out.append((n, ("",) * len(expected)))
        formulas[n] = [(key, ref) for _, key, ref in pending[n]]
    return _SheetData(out, {f.key: i for i, f in enumerate(expected)}, formulas)


def open_import_zip(path: str | os.PathLike | bytes | BinaryIO, limits: ImportLimits | None = None, *,
                    sheets: bytes | None = None) -> ImportFile:
    """Check an uploaded zip and read its workbook; raises ``ImportRefused`` (one Chinese message) when the
    file is not a zip, encrypted, unsafe (absolute/.. names, links, undecodable names), too large packed or
    unpacked, has no or several .xlsx workbooks (or a zip inside the zip), lacks a sheet or header, holds
    more rows or columns than the limits, or cannot be read within the reader's memory and time.

    ``sheets``: the ``CheckedUpload.sheets`` of this same file, kept since its upload was checked: the zip is
    checked again (cheap: its central directory) but the workbook is not scanned and read a second time."""
    return _checked(path, limits or ImportLimits(), "rows", sheets)


def count_import_rows(path: str | os.PathLike | bytes | BinaryIO, limits: ImportLimits | None = None) -> int:
    """Every check of ``open_import_zip``, answering only the number of certificate rows: the rows stay in
    the reader children, so the web request that accepts an upload never holds them."""
    return _checked(path, limits or ImportLimits(), "count")


@dataclass(frozen=True)
class CheckedUpload:
    """An upload that passed every check of ``open_import_zip``: its number of certificate rows, and its two
    data sheets as the reader children read them — compressed JSON, never Python objects in the caller (a
    10,000-row file: some 2 MB) — for ``open_import_zip(…, sheets=…)`` to use instead of reading again."""

    count: int
    sheets: bytes


def check_import_upload(path: str | os.PathLike | bytes | BinaryIO,
                        limits: ImportLimits | None = None) -> CheckedUpload:
    """Every check of ``open_import_zip`` at once (the upload request), keeping what was read for the import."""
    return _checked(path, limits or ImportLimits(), "keep")


def _checked(path, limits: ImportLimits, answer: str, sheets: bytes | None = None):
    try:
        source = _load_source(path, limits.max_zip_bytes)
        return _open(source, limits, answer, sheets)
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


_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and any encrypted Office file
_UNPACKED_TOO_LARGE = "压缩包解压后的内容过大（可能是异常或恶意的压缩文件），已拒绝导入；请只放入导入模板和附件后重新压缩上传"


def _open(source: bytes, limits: ImportLimits, answer: str = "rows", sheets: bytes | None = None):
    if source[:8] == _OLE_MAGIC:
        raise _refuse("上传的是 Excel 文件（.xls 或加密的工作簿），不是 zip 压缩包：请把填好的 .xlsx 模板放入导出的压缩包中再上传")
    if not zipfile.is_zipfile(io.BytesIO(source)):
        if source[:4] == b"Rar!" or source[:6] == b"7z\xbc\xaf\x27\x1c":
            raise _refuse("上传的是 rar/7z 压缩包，只支持 zip 格式：请用 zip 格式重新压缩后上传")
        raise _refuse("上传的文件不是 zip 压缩包，请上传导出的导入模板压缩包（.zip，压缩包格式不能修改）")
    try:
        zf = zipfile.ZipFile(io.BytesIO(source))
    except UnicodeDecodeError:  # flagged as UTF-8, yet not UTF-8
        raise _refuse("压缩包中有文件名无法识别（标记为 UTF-8 编码却不是），已拒绝导入；请把文件改名后重新压缩上传") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError):
        raise _refuse("上传的 zip 压缩包已损坏，无法打开，请重新压缩后上传") from None
    with zf, tempfile.TemporaryDirectory(prefix="portal-import-") as tmp:
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
            if total > limits.max_unpacked_bytes:
                raise _refuse(_UNPACKED_TOO_LARGE)
            names[name] = info
        files = {n: i for n, i in names.items() if not i.is_dir() and not n.startswith("__MACOSX/")
                 and not posixpath.basename(n).startswith(("~$", "._"))}
        books = [n for n in files if n.lower().endswith(".xlsx")]
        if not books:
            others = [n for n in files if n.lower().endswith((".xls", ".csv", ".et", ".xlsm", ".ods", ".numbers"))]
            if others:
                raise _refuse(f"压缩包中的“{others[0]}”不是 .xlsx 格式：请在导出的模板（.xlsx）中填写并保存为 .xlsx 后上传")
            nested = [n for n in files if n.lower().endswith((".zip", ".rar", ".7z"))]
            if nested:
                raise _refuse(f"压缩包中的“{nested[0]}”是另一个压缩包（压缩包里套压缩包），其中的内容不会被读取：请先把它解压，"
                              f"再把导入模板和“附件”文件夹直接压缩成一个 zip 上传")
            raise _refuse(f"压缩包中没有找到导入模板（.xlsx 工作簿），请把填好的“{TEMPLATE_XLSX_NAME}”放入压缩包后上传")
        if len(books) > 1:
            raise _refuse(f"压缩包中有 {len(books)} 个 Excel 工作簿（{'、'.join(books)}），一次只能导入一个，请只保留一个后上传")
        book = books[0]
        attachments, attachment_sizes = {}, {}
        for n in files:
            parts = n.split("/")
            if ATTACHMENT_DIR in parts[:-1] and parts[-1] not in attachments:
                attachments[parts[-1]] = files[n].filename  # raw name for getinfo()
                attachment_sizes[parts[-1]] = files[n].file_size
        if sheets is not None:
            read = _kept_sheets(sheets, limits)
        else:
            read = _read_isolated(zf, files[book], book, tmp, limits, answer)
    if answer != "rows":  # the count, or the CheckedUpload
        return read
    certs, persons = (_SheetData.from_json(sheet) for sheet in read)
    return ImportFile(source, book, certs.rows, certs.columns, persons.rows, persons.columns, attachments,
                      attachment_sizes=attachment_sizes, max_attachment_bytes=limits.max_attachment_bytes,
                      formulas={CERT_SHEET: certs.formulas, PERSON_SHEET: persons.formulas})


def _read_isolated(zf: zipfile.ZipFile, info: zipfile.ZipInfo, book: str, tmp: str, limits: ImportLimits,
                   answer: str):
    """Unpack the workbook into ``tmp`` and read its two data sheets, each in a reader's child of its own
    (``_read_sheet``), side by side: on two cores the read takes the time of the larger sheet, not of both."""
    path = os.path.join(tmp, "workbook.xlsx")
    with open(path, "wb") as out:
        try:
            _copy_bounded(zf, info, out, limits.max_unpacked_bytes)
        except _EntryTooLarge:
            raise _refuse(_UNPACKED_TOO_LARGE) from None
    with open(path, "rb") as fh:
        if fh.read(8) == _OLE_MAGIC:
            raise _refuse(f"工作簿“{book}”设置了打开密码（已加密）或不是 .xlsx 格式，请取消密码、另存为 .xlsx 后重新上传")
    keep_paths = [os.path.join(tmp, f"sheet{which}.json.z") if answer == "keep" else None for which in (0, 1)]
    readers = [start_in_child(_read_sheet, path, book, which, limits, answer != "rows", keep_paths[which],
                              memory_bytes=limits.reader_memory_bytes, timeout=limits.reader_timeout,
                              max_result_bytes=limits.max_read_bytes) for which in (0, 1)]
    try:  # the 证照信息 sheet's refusal first, as one child reading both sheets in turn refused
        answers = [_sheet_answer(reader, book, limits) for reader in readers]
    finally:
        for reader in readers:  # the other child, when one refused, is not waited for
            reader.stop()
    # what the two hand back together is held to the one bound (an upload accepted here reads in the worker too)
    size = sum(reader.answer_size for reader in readers) if answer == "rows" else sum(a[1] for a in answers)
    if size > limits.max_read_bytes:
        raise _too_much_content(size, limits)
    if answer == "rows":
        return answers
    count = answers[0][0]
    if keep_paths[0] is None:
        return count
    kept = b""
    for keep_path in keep_paths:  # written by the children, each bounded there by max_read_bytes
        with open(keep_path, "rb") as fh:
            kept += fh.read()
    return CheckedUpload(count, kept)


def _sheet_answer(reader, book: str, limits: ImportLimits):
    """A reader child's answer, or the ImportRefused that says why there is none."""
    try:
        return reader.answer()
    except ResultTooLarge as too_large:
        raise _too_much_content(too_large.size, limits) from None
    except ChildFailed as failed:
        if failed.kind == "ImportRefused":
            raise _refuse(failed.message) from None
        if failed.kind != "MemoryError":  # Python code in the child may meet the limit first
            raise _refuse(f"无法读取工作簿“{book}”（{failed.kind}），请用 Excel/WPS 打开后另存为 .xlsx 再上传") from None
        raise _cannot_read(book, "内存") from None
    except ChildDied as died:
        raise _cannot_read(book, "时间" if died.reason == "timeout" else "内存") from None


def _kept_sheets(sheets: bytes, limits: ImportLimits) -> list:
    """The two sheets a ``CheckedUpload`` kept — one compressed JSON stream a sheet, back to back —,
    decompressed within the same bound as a fresh read."""
    parts, rest, size = [], sheets, 0
    while rest and len(parts) < 2:
        inflate = zlib.decompressobj()
        data = inflate.decompress(rest, limits.max_read_bytes - size + 1)
        size += len(data)
        if size > limits.max_read_bytes or not inflate.eof:
            raise _too_much_content(size, limits)
        parts.append(decode_data(data))
        rest = inflate.unused_data
    if len(parts) == 1 and len(parts[0]) == 2:  # kept before each sheet had its reader: both in one stream
        return parts[0]
    if len(parts) != 2 or rest:
        raise _refuse("导入任务保存的工作簿内容已损坏，请重新上传导入文件")
    return parts


def _size(n: int) -> str:
    return f"{n / 1048576:.1f} MB" if n >= 1048576 else f"{max(1, n // 1024)} KB"


def _cannot_read(book: str, limit: str) -> ImportRefused:
    return _refuse(f"文件无法读取：读取工作簿“{book}”超出了{limit}上限（文件中可能有大量多余的行、列或异常内容），"
                   f"未导入任何数据；请用 Excel/WPS 打开，删除多余的行和列后另存为 .xlsx，数据较多时分成几个文件，"
                   f"再重新上传")


def _too_much_content(size: int, limits: ImportLimits) -> ImportRefused:
    return _refuse(f"工作簿中的内容过多（读出 {_size(size)}，每个文件最多 {_size(limits.max_read_bytes)}）："
                   f"请删除多余的内容（如很长的文字），或分成几个文件导入")


def _row_bound(max_rows: int) -> int:
    """The last sheet row a value may sit in: the header and ``max_rows`` rows, with room for blank rows
    between them (the grid calamine allocates reaches the last value)."""
    return max_rows + 1 + max(100, max_rows // 10)


def _too_many_rows(sheet: str, limits: ImportLimits, count: int | None = None) -> ImportRefused:
    what = "证照" if sheet == CERT_SHEET else "人员"
    limit = limits.max_rows if sheet == CERT_SHEET else limits.max_person_rows
    seen = f"（现有 {count:,} 行）" if count else ""
    return _refuse(f"“{sheet}”表的{what}数据超过每个文件 {limit:,} 行的上限{seen}：请把数据分成几个文件分别导入，"
                   f"每个文件不超过 {limits.max_rows:,} 行证照、{limits.max_person_rows:,} 行人员"
                   f"（人员信息随所属证照放在同一个文件中）")


def _beyond(sheet: str, beyond: SheetBeyond, limits: ImportLimits, width: int) -> ImportRefused:
    if beyond.kind == "rows":
        return _too_many_rows(sheet, limits)
    if beyond.kind == "column":
        return _refuse(f"工作表“{sheet}”的单元格 {beyond.ref} 有内容，超出了导入模板的范围（模板的“{sheet}”表共 {width} 列，"
                       f"即 A–{column_letters(width)} 列）：请删除模板以外各列中的内容后重新上传")
    limit = limits.max_rows if sheet == CERT_SHEET else limits.max_person_rows
    return _refuse(f"工作表“{sheet}”的单元格 {beyond.ref} 有内容，远超出每个文件 {limit:,} 行的上限：请删除该单元格及多余行中的内容"
                   f"后重新上传；数据较多时请分成几个文件导入")


_DAMAGED = "无法读取工作簿“{book}”的内容，文件可能已损坏：请用 Excel/WPS 打开后另存为 .xlsx 再上传"


def _read_sheet(path: str, book: str, which: int, limits: ImportLimits, count_only: bool,
                keep_path: str | None = None):
    """A reader child's work: scan one data sheet (``which``: 0 证照信息, 1 人员信息) within the limits, then
    read it with calamine.

    Returns the ``_SheetData`` as JSON or, ``count_only``, [its rows (certificate rows without the example),
    the bytes of that JSON]; ``ImportRefused`` for a workbook beyond the limits or unreadable. ``keep_path``:
    also write the JSON there, compressed (``_kept_sheets`` reads it)."""
    # (sheet, its columns, its row limit, the template's example rows it may still hold)
    sheet, columns, max_rows, examples = (
        (CERT_SHEET, CERT_COLUMNS, limits.max_rows, 1),
        (PERSON_SHEET, PERSON_COLUMNS, limits.max_person_rows, len(EXAMPLE_PERSONS)))[which]
    try:
        with zipfile.ZipFile(path) as zf:
            parts = zf.infolist()
            if len(parts) > MAX_ENTRIES or sum(p.file_size for p in parts) > limits.max_workbook_bytes:
                raise _refuse(f"工作簿“{book}”解压后的内容过大（可能是异常或恶意的文件），已拒绝导入；"
                              f"请用 Excel/WPS 打开，删除多余的内容后另存为 .xlsx 再上传")
            if any(p.flag_bits & 0x1 for p in parts):
                raise _refuse(f"工作簿“{book}”设置了密码（已加密），请取消密码、另存为 .xlsx 后重新上传")
            members = sheet_members(zf)
            if sheet not in members:
                raise _missing_sheet(sheet)
            try:
                with zf.open(members[sheet]) as stream:
                    scan = scan_sheet(stream, max_rows=max_rows + 1 + examples,
                                      last_row=_row_bound(max_rows + examples),
                                      last_column=len(columns) + 1 + SPARE_COLUMNS)
            except SheetBeyond as beyond:
                raise _beyond(sheet, beyond, limits, len(columns)) from None
    except ImportRefused:
        raise
    except (XlsxUnreadable, zipfile.BadZipFile, KeyError, OSError, EOFError, NotImplementedError, ValueError):
        raise _refuse(_DAMAGED.format(book=book)) from None
    from python_calamine import CalamineWorkbook
    try:
        wb = CalamineWorkbook.from_path(path)
    except Exception:
        raise _refuse(_DAMAGED.format(book=book)) from None
    try:
        read = _sheet_rows(wb, sheet, columns, scan.formulas)
    except ImportRefused:
        raise
    except Exception:
        raise _refuse(_DAMAGED.format(book=book)) from None
    finally:
        wb.close()
    if which == 0:
        count = len(read.rows) - sum(1 for _, row in read.rows if _is_example(row, read.columns))
        if count > limits.max_rows:
            raise _too_many_rows(CERT_SHEET, limits, count)
    else:
        count = len(read.rows)
        if count > limits.max_person_rows + len(EXAMPLE_PERSONS):
            raise _too_many_rows(PERSON_SHEET, limits, count)
    if not count_only:
        return read.to_json()  # the ChildRun bounds what it hands back (max_read_bytes)
    data = encode_data(read.to_json())
    if len(data) > limits.max_read_bytes:  # the same bound: an upload accepted here reads in the worker too
        raise _too_much_content(len(data), limits)
    if keep_path is not None:
        with open(keep_path, "wb") as out:
            out.write(zlib.compress(data, 1))
    return [count, len(data)]


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
    """Check every row (all rules, all errors) and yield (row, errors); see ``checked_import_rows``."""
    for row, checked in checked_import_rows(import_file, ctx):
        yield row, checked.errors


def checked_import_rows(import_file: ImportFile,
                        ctx: CheckContext) -> Iterator[tuple[ImportRow, CheckedCertificate]]:
    """Check every row (all rules, all errors) and yield (row, checked): the row's errors — the file's own
    (序号, formulas, attachments) and the rules' — and its cleaned values and persons, for issuing. R12
    compares the canonical 备案编号 with the database (``ctx.record_number_taken``) and with the earlier rows of
    the file that pass every check (rows that would be issued): a copy of a row that fails is not a duplicate
    of anything."""
    passed: dict[str, ImportRow] = {}  # canonical 备案编号 → the first row with it that passes
    for row in import_file.rows():
        checked = check_and_clean(row.values, row.persons, ctx, person_rows=row.person_rows)
        errors = list(row.problems)
        errors += row.without_superseded(checked.errors)
        try:
            number = clean_record_number(row.values.get("record_number"))
        except ValueError:  # reported by check_certificate as FORMAT
            number = ""
        if number and number in passed:
            errors += rule_r12_same_file(number, passed[number].excel_row, passed[number].seq)
        elif number and not errors:
            passed[number] = row
        yield row, CheckedCertificate(errors, checked.certificate, checked.persons)


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

def _cell_text(v: object) -> str:
    """An imported value as text that a re-import reads back as the same value: a text as it was typed
    (one starting with '=' stays text, never a formula), a number or date as the rules read it."""
    return v if type(v) is str else clean_text(v)


def write_failure_report(path: str | os.PathLike | BinaryIO,
                         failed_rows: Iterable[tuple[ImportRow, list[RuleError]]],
                         person_failures: Sequence[PersonRowFailure] = ()) -> int:
    """Write the failed rows (with their persons) and the failed 人员信息 rows of no certificate row in the
    template layout plus a 错误信息 column; offending cells are filled red with the message as a comment;
    every imported value is written as text. Returns the number of certificate rows written. The file can be
    fixed and uploaded again as it is (the importer ignores the 错误信息 column)."""
    cert_index = {f.key: i for i, f in enumerate(CERT_COLUMNS)}
    person_index = {f.key: i for i, f in enumerate(PERSON_COLUMNS)}
    person_out: list[tuple[list, dict[int, str]]] = []
    count = 0

    def cert_rows():
        nonlocal count
        for row, errors in failed_rows:
            count += 1
            values = [row.seq] + [_cell_text(row.values.get(f.key)) for f in CERT_COLUMNS[1:]]
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
                pvalues = [row.seq] + [_cell_text(person.get(f.key)) for f in PERSON_FIELDS]
                pcomments: dict[int, str] = {}
                for e in per_person.get(pi, []):
                    i = person_index.get(e.key, 0)
                    pcomments[i] = f"{pcomments[i]}\n{e.message}" if i in pcomments else e.message
                pvalues.append("\n".join(e.message for e in per_person.get(pi, [])))
                person_out.append((pvalues, pcomments))
            yield values, comments

    def orphan_rows():
        for failure in person_failures:
            pvalues = [failure.seq] + [_cell_text(failure.values.get(f.key)) for f in PERSON_FIELDS]
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
