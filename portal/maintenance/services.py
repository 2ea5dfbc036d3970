"""证照维护 services: the scoped certificate search and what the 查看 page shows.

Searches filter in SQL on indexed columns: any part of 证书编号 / 使用单位 / 工程名称
(portal.certificates.search; pg_trgm GIN indexes on PostgreSQL), equality on 电子证照标识 / 备案编号 /
统一社会信用代码 / 状态 / 上报状态 / 设备类别, a range on 发证日期.
"""
from dataclasses import dataclass, fields
from datetime import date

import sqlalchemy as sa
from flask_sqlalchemy.pagination import SelectPagination

from portal.access import scope_certificates, scope_tasks
from portal.background.models import Task
from portal.certificates.models import PDF_STATE_NAMES, REPORT_STATE_NAMES, STATUS_NAMES, Certificate
from portal.certificates.documents import business_rows, face_labels, face_rows
from portal.certificates.search import contains, number_matches
from portal.clock import local_time
from portal.display import normalize_record_number
from portal.extensions import db
from portal.standard.license_id import LicenseId
from portal.paging import last_page_if_beyond
from portal.standard import codes

PER_PAGE = 20
# Counting a million matches costs ~200 ms on PostgreSQL; beyond this many people narrow the search.
COUNT_CAP = 10_000
EVENT_NAMES = {
    "issued": "新发证", "sealed": "电子签章", "cancelled": "注销", "reported": "已上报住建部",
    "report_failed": "上报失败", "report_resend": "重新上报", "report_collected": "归集成功",
    "report_rejected": "校验失败", "pdf_regenerate": "重新生成电子证照",
}
REPORT_TAGS = {"pending": "wait", "reported": "wait", "collected": "ok", "rejected": "off", "failed": "off"}
PDF_TAGS = {"pending": "wait", "signed": "ok", "failed": "off"}


@dataclass(frozen=True)
class SearchFilters:
    """The list's search conditions; empty strings / None mean "any"."""
    number: str = ""
    license_id: str = ""
    holder_name: str = ""
    holder_uscc: str = ""
    record_number: str = ""
    project_name: str = ""
    status: str = ""
    report_state: str = ""
    crane_type: str = ""
    issued_from: date | None = None
    issued_to: date | None = None

    def query_args(self):
        """The non-empty filters as URL query arguments (pager links keep them)."""
        args = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value not in ("", None):
                args[f.name] = value.isoformat() if isinstance(value, date) else value
        return args


def _conditions(filters):
    where = []
    if filters.number:
        where.append(number_matches(filters.number))
    if filters.license_id:
        where.append(Certificate.license_id == LicenseId.normalize(filters.license_id))
    if filters.holder_name:
        where.append(contains(Certificate.holder_name, filters.holder_name))
    if filters.holder_uscc:
        where.append(Certificate.holder_uscc == filters.holder_uscc.strip().upper())
    if filters.record_number:
        where.append(Certificate.record_number == normalize_record_number(filters.record_number))
    if filters.project_name:
        where.append(contains(Certificate.project_name, filters.project_name))
    # (电子证照标识, an exact match, belongs here beside the other equality conditions.)
    if filters.status in STATUS_NAMES:
        where.append(Certificate.status == filters.status)
    if filters.report_state in REPORT_STATE_NAMES:
        where.append(Certificate.report_state == filters.report_state)
    if filters.crane_type:
        where.append(Certificate.crane_type == filters.crane_type)
    if filters.issued_from:
        where.append(Certificate.issue_date >= filters.issued_from)
    if filters.issued_to:
        where.append(Certificate.issue_date <= filters.issued_to)
    return where


class CappedPagination(SelectPagination):
    """A page of results whose total is counted up to COUNT_CAP + 1 (`total_capped` says so)."""

    def _query_count(self):
        select = self._query_args["select"].with_only_columns(Certificate.id).order_by(None).limit(COUNT_CAP + 1)
        return self._query_args["session"].scalar(sa.select(sa.func.count()).select_from(select.subquery()))

    @property
    def total_capped(self):
        return self.total is not None and self.total > COUNT_CAP


def search_query(user, filters):
    """The ordered SELECT of the certificates this user may see that match the filters."""
    query = scope_certificates(sa.select(Certificate), user).where(*_conditions(filters))
    if filters.issued_from or filters.issued_to:
        # Within a date range: by issue date, which the (authority_id, issue_date) index serves;
        # walking the primary key backwards to a range far in the past reads most of the table.
        query = query.order_by(Certificate.issue_date.desc(), Certificate.id.desc())
    else:
        # Newest = most recently issued; the primary key orders it without sorting the matches.
        query = query.order_by(Certificate.id.desc())
    return query


def search_certificates(user, filters, page=1, per_page=PER_PAGE):
    """The certificates this user may see that match the filters, newest first, one page of them."""
    query = search_query(user, filters)
    last_page = -(-(COUNT_CAP + 1) // per_page)
    return last_page_if_beyond(
        lambda number: CappedPagination(select=query, session=db.session(), page=number, per_page=per_page,
                                        max_per_page=100, error_out=False),
        min(max(int(page or 1), 1), last_page))


EXPORT_BATCH = 1000  # rows fetched per round trip; a server-side cursor on PostgreSQL


def export_sheet(user, filters):
    """The 证照维护 export: (title, header, rows) of every certificate this user may see that matches the
    filters, read from the database a batch at a time (rows is a generator)."""
    header = ["证书编号", "使用单位", "使用单位统一社会信用代码", "设备类别", *face_labels(), "业务信息", "发证机关",
              "发证机关统一社会信用代码", "发证日期", "有效期至", "状态", "注销日期", "注销原因", "上报状态", "上报信息",
              "电子证照"]

    # Built now, while the user is loaded: the rows are read as the response streams, after the view's
    # session has closed. Plain rows, not ORM objects: cheaper, and face_rows reads them by attribute alike.
    query = (search_query(user, filters).with_only_columns(*Certificate.__table__.columns)
             .execution_options(yield_per=EXPORT_BATCH))

    def rows():
        for cert in db.session.execute(query):
            crane = codes.crane_type(cert.crane_type)
            cancelled = local_time(cert.cancelled_at)
            yield [cert.number, cert.holder_name, cert.holder_uscc, crane.name if crane else cert.crane_type,
                   *(value for _, value in face_rows(cert)),
                   "；".join(f"{label}：{value}" for label, value in business_rows(cert) if value),
                   cert.authority_name, cert.authority_uscc, cert.issue_date, cert.valid_until,
                   STATUS_NAMES.get(cert.status, cert.status), cancelled.date() if cancelled else None,
                   cert.cancel_reason, REPORT_STATE_NAMES.get(cert.report_state, cert.report_state),
                   cert.report_message, PDF_STATE_NAMES.get(cert.pdf_state, cert.pdf_state)]
    return "证书", header, rows()


def event_rows(cert):
    """The certificate's history for people: time (Beijing), who, what, detail."""
    return [{"at": local_time(e.at), "actor": e.actor_name, "action": EVENT_NAMES.get(e.action, e.action),
             "detail": e.detail} for e in cert.events]



def visible_import_tasks(user, certificates):
    """The import tasks behind these certificates that the user may open (their 生成中 / 待上报 tags link there)."""
    ids = {c.import_task_id for c in certificates if c.import_task_id}
    if not ids:
        return set()
    return set(db.session.scalars(scope_tasks(sa.select(Task.id).where(Task.id.in_(ids)), user)))
