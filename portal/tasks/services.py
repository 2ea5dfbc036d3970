"""任务管理: the scoped task list, one task's details (row errors, issued certificates), its failure report."""
import json
import logging
from dataclasses import dataclass

import sqlalchemy as sa

from portal import storage
from portal.access import scope_tasks
from portal.background.models import KIND_NAMES, STATE_NAMES, Task
from portal.certificates.models import PDF_STATE_NAMES, STATUS_NAMES, Certificate
from portal.certificates.search import contains_pattern
from portal.extensions import db
from portal.imports.services import errors_path
from portal.paging import paginate

log = logging.getLogger(__name__)
PER_PAGE = 20
CERTIFICATES_SHOWN = 200
ERROR_ROWS_PER_PAGE = 50  # the detail page stays small however many rows failed: the rest is paginated …
EXPORT_BATCH = 1000
ERRORS_SHOWN_PER_ROW = 10  # … and a row's errors beyond these are in the failure report


def task_filters(args):
    """The list's filters from the query string, cleaned (unknown values dropped)."""
    kind = args.get("kind", "")
    state = args.get("state", "")
    return {"kind": kind if kind in KIND_NAMES else "", "state": state if state in STATE_NAMES else "",
            "file_name": (args.get("file_name") or "").strip()[:100]}


def list_tasks(user, filters, page=1, per_page=PER_PAGE):
    """The tasks this user may see, newest first, filtered and paginated (a Flask-SQLAlchemy Pagination)."""
    query = scope_tasks(sa.select(Task), user).where(Task.kind.in_(KIND_NAMES))
    if filters.get("kind"):
        query = query.where(Task.kind == filters["kind"])
    if filters.get("state"):
        query = query.where(Task.state == filters["state"])
    if filters.get("file_name"):
        pattern = contains_pattern(filters["file_name"])  # anywhere in the name, wildcards literal
        query = query.where(sa.or_(Task.file_name.ilike(pattern, escape="\\"), Task.title.ilike(pattern, escape="\\")))
    query = query.order_by(Task.created_at.desc(), Task.id.desc())
    return paginate(query, page, per_page)


def failure_report_file(task):
    """Absolute path of the task's failure report, or None when it has none."""
    if not task.result_path:
        return None
    try:
        path = storage.path_of(task.result_path)
    except ValueError:
        return None
    return path if path.exists() else None


def row_errors(task):
    """Per-row errors of a finished import: [{"row", "excel_row", "errors": [{"rule","field","message"}]}]."""
    if task.kind != "import" or task.is_active:
        return []
    try:
        return json.loads(storage.read_bytes(errors_path(task.id)).decode("utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError):
        log.warning("errors of task %s unreadable", task.id)
        return []


@dataclass
class ErrorPage:
    """One page of a task's row errors: each row cut to ERRORS_SHOWN_PER_ROW, ``hidden`` counting the rest."""
    rows: list
    page: int
    pages: int
    total: int  # rows with errors, all pages


def row_errors_page(task, page=1, per_page=ERROR_ROWS_PER_PAGE):
    """The page-th slice of row_errors(task), each row with at most ERRORS_SHOWN_PER_ROW errors."""
    errors = row_errors(task)
    pages = max(1, -(-len(errors) // per_page))
    page = min(max(page, 1), pages)
    rows = [dict(row, errors=row["errors"][:ERRORS_SHOWN_PER_ROW],
                 hidden=max(0, len(row["errors"]) - ERRORS_SHOWN_PER_ROW))
            for row in errors[(page - 1) * per_page:page * per_page]]
    return ErrorPage(rows, page, pages, len(errors))


@dataclass
class CertificateProgress:
    """An import task's certificates by PDF state and by report state: what still happens after its rows end."""
    pdf: dict
    report: dict

    @property
    def total(self):
        return sum(self.pdf.values())

    @property
    def settling(self):
        """Some PDFs are still being sealed or some reports still wait to be sent: the page keeps polling."""
        return bool(self.pdf.get("pending") or self.report.get("pending"))


def certificate_progress(task):
    """The live counts of the certificates an import task issued (None for other tasks): two grouped counts
    on the indexed import_task_id, cheap enough for a poll every few seconds."""
    if task.kind != "import":
        return None
    where = Certificate.import_task_id == task.id

    def counted(column):
        return dict(db.session.execute(sa.select(column, sa.func.count()).where(where).group_by(column)).all())
    return CertificateProgress(pdf=counted(Certificate.pdf_state), report=counted(Certificate.report_state))


def task_certificates(task, limit=CERTIFICATES_SHOWN):
    """The certificates an import task issued (first `limit`, by number) and their count per PDF state."""
    if task.kind != "import":
        return [], {}
    where = Certificate.import_task_id == task.id
    counts = dict(db.session.execute(sa.select(Certificate.pdf_state, sa.func.count()).where(where)
                                     .group_by(Certificate.pdf_state)).all())
    certificates = db.session.scalars(sa.select(Certificate).where(where)
                                      .order_by(Certificate.year, Certificate.serial).limit(limit)).all()
    return certificates, counts


def _issued(task):
    return sa.select(Certificate).where(Certificate.import_task_id == task.id).order_by(Certificate.year,
                                                                                        Certificate.serial)


def issued_numbers_sheet(task):
    """The numbers an import task issued, as one export sheet (title, header, rows read in batches)."""
    columns = (Certificate.number, Certificate.import_row_key, Certificate.holder_name, Certificate.record_number,
               Certificate.status, Certificate.pdf_state)
    # Built now: the rows are read as the response streams, after the view's session has closed.
    query = _issued(task).with_only_columns(*columns).execution_options(yield_per=EXPORT_BATCH)

    def rows():
        for number, row_key, holder, record, status, pdf_state in db.session.execute(query):
            yield [number, row_key, holder, record, STATUS_NAMES.get(status, status),
                   PDF_STATE_NAMES.get(pdf_state, pdf_state)]
    return "证书编号", ["证书编号", "导入行", "使用单位", "备案编号", "状态", "电子证照"], rows()


def signed_pdf_members(task):
    """(name in the zip, path) of each signed PDF the task issued whose file is there."""
    query = (_issued(task).with_only_columns(Certificate.number, Certificate.pdf_path)
             .where(Certificate.pdf_state == "signed", Certificate.pdf_path.is_not(None)))
    members = []
    for number, relative in db.session.execute(query):
        try:
            path = storage.path_of(relative)
        except ValueError:
            continue
        if path.exists():
            members.append((f"{number}.pdf", path))
    return members
