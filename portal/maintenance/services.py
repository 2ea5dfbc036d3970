"""证照维护 services: the scoped certificate search and what the 查看 page shows.

Searches filter in SQL on indexed columns: equality on 证书编号 / 备案编号 / 统一社会信用代码,
prefix LIKE 'x%' on 使用单位 / 工程名称 (text_pattern_ops indexes on PostgreSQL).
"""
from dataclasses import dataclass, fields
from datetime import date

import sqlalchemy as sa
from flask_sqlalchemy.pagination import SelectPagination

from portal.access import scope_certificates
from portal.certificates.models import STATUS_NAMES, Certificate
from portal.clock import local_time
from portal.display import normalize_record_number, prefix_pattern
from portal.extensions import db
from portal.standard.values import CertificateNumber
from portal.paging import last_page_if_beyond

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
    holder_name: str = ""
    holder_uscc: str = ""
    record_number: str = ""
    project_name: str = ""
    status: str = ""
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
        where.append(Certificate.number == CertificateNumber.normalize(filters.number))
    if filters.holder_name:
        where.append(Certificate.holder_name.like(prefix_pattern(filters.holder_name.strip()), escape="\\"))
    if filters.holder_uscc:
        where.append(Certificate.holder_uscc == filters.holder_uscc.strip().upper())
    if filters.record_number:
        where.append(Certificate.record_number == normalize_record_number(filters.record_number))
    if filters.project_name:
        where.append(Certificate.project_name.like(prefix_pattern(filters.project_name.strip()), escape="\\"))
    if filters.status in STATUS_NAMES:
        where.append(Certificate.status == filters.status)
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


def event_rows(cert):
    """The certificate's history for people: time (Beijing), who, what, detail."""
    return [{"at": local_time(e.at), "actor": e.actor_name, "action": EVENT_NAMES.get(e.action, e.action),
             "detail": e.detail} for e in cert.events]

