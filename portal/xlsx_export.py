"""Writing exports as .xlsx with bounded memory: openpyxl's write-only mode streams each row into the
sheet's XML as it is appended, whatever the number of rows; the finished workbook is a temporary file."""
import tempfile
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORMULA_STARTS = ("=", "+", "-", "@")  # a cell text that a spreadsheet would run as a formula


def _cell(sheet, value):
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        cell = WriteOnlyCell(sheet, value)
        cell.data_type = "s"  # text, never a formula (a 使用单位 named '=HYPERLINK(…)' stays a name)
        return cell
    if isinstance(value, (date, datetime)):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    return value


def write_workbook(sheets):
    """An open temporary file (at its start) holding the workbook of (title, header, rows) sheets."""
    workbook = Workbook(write_only=True)
    for title, header, rows in sheets:
        sheet = workbook.create_sheet(title)
        sheet.append(list(header))
        for row in rows:
            sheet.append([_cell(sheet, value) for value in row])
    target = tempfile.TemporaryFile(prefix="export-", suffix=".xlsx")
    workbook.save(target)
    target.seek(0)
    return target
