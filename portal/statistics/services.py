"""统计分析: certificate counts for supervisors (their authority) and admins (all, or one authority).

Every count is one GROUP BY in SQL over the certificates the user may see (portal.access), issued within
the chosen Beijing dates; Python only names the groups and lays the numbers out as tables. A table is
(title, header, rows): the page shows it beside its chart, the export writes it as a sheet.
"""
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from portal.access import scope_certificates
from portal.certificates.authorities import Authority
from portal.certificates.models import REPORT_STATE_NAMES, Certificate
from portal.clock import start_of_day, today, utc_offset
from portal.extensions import db
from portal.standard import codes

ISSUED, CANCELLED = "发证", "其中已注销"


@dataclass(frozen=True)
class StatisticsFilters:
    """发证日期 from/to (business dates, inclusive) and, for an admin, one authority (None: all)."""
    issued_from: date
    issued_to: date
    authority_id: int | None = None

    def query_args(self):
        args = {"issued_from": self.issued_from.isoformat(), "issued_to": self.issued_to.isoformat()}
        if self.authority_id:
            args["authority_id"] = self.authority_id
        return args


@dataclass(frozen=True)
class Table:
    key: str  # the chart's and the table's id on the page
    title: str
    header: tuple
    rows: list
    chart: str  # Chart.js type drawn from the table: bar, line, doughnut


def default_range():
    """The last twelve months up to today (Beijing): from the first day of the month eleven months ago."""
    now = today()
    month = now.year * 12 + now.month - 1 - 11
    return date(month // 12, month % 12 + 1, 1), now


def authorities_for(user):
    """The authorities an admin may narrow the statistics to (others see only their own)."""
    if user.role != "admin":
        return []
    return db.session.scalars(sa.select(Authority).order_by(Authority.name)).all()


def _scoped(user, filters, *columns):
    query = scope_certificates(sa.select(*columns).select_from(Certificate), user)
    if filters.authority_id:
        query = query.where(Certificate.authority_id == filters.authority_id)
    return query


def _issued_in_range(user, filters, *columns):
    return _scoped(user, filters, *columns).where(Certificate.issue_date.between(filters.issued_from,
                                                                                 filters.issued_to))


def _month(column, offset=None):
    """'YYYY-MM' of a date column, or of a stored UTC time moved by `offset` into the business zone."""
    if db.session.get_bind().dialect.name == "postgresql":
        return sa.func.to_char(column + offset if offset is not None else column, "YYYY-MM")
    if offset is not None:
        return sa.func.strftime("%Y-%m", column, f"{int(offset.total_seconds()) // 60:+d} minutes")
    return sa.func.strftime("%Y-%m", column)


def _months(first, last):
    months, month = [], first.year * 12 + first.month - 1
    while month <= last.year * 12 + last.month - 1:
        months.append(f"{month // 12:04d}-{month % 12 + 1:02d}")
        month += 1
    return months


_cancelled_count = sa.func.sum(sa.case((Certificate.status == "cancelled", 1), else_=0))


def _by(user, filters, group):
    """(group value, issued, of them cancelled) for certificates issued in the range, biggest first."""
    query = _issued_in_range(user, filters, group, sa.func.count(), _cancelled_count).group_by(group)
    return db.session.execute(query.order_by(sa.func.count().desc(), group)).all()


def by_month(user, filters):
    """发证 by the month of 发证日期; 注销 by the month (Beijing) the certificate was cancelled."""
    issued_month = _month(Certificate.issue_date)
    issued = dict(db.session.execute(_issued_in_range(user, filters, issued_month, sa.func.count())
                                     .group_by(issued_month)).all())
    offset = utc_offset(filters.issued_to)
    cancelled_month = _month(Certificate.cancelled_at, offset)
    cancelled = dict(db.session.execute(
        _scoped(user, filters, cancelled_month, sa.func.count())
        .where(Certificate.status == "cancelled", Certificate.cancelled_at >= start_of_day(filters.issued_from),
               Certificate.cancelled_at < start_of_day(date.fromordinal(filters.issued_to.toordinal() + 1)))
        .group_by(cancelled_month)).all())
    rows = [(month, issued.get(month, 0), cancelled.get(month, 0))
            for month in _months(filters.issued_from, filters.issued_to)]
    return Table("by-month", "按月份：发证与注销", ("月份", "发证", "注销"), rows, "line")


def by_crane_type(user, filters):
    rows = [((codes.crane_type(letter).name if codes.crane_type(letter) else letter), issued, cancelled)
            for letter, issued, cancelled in _by(user, filters, Certificate.crane_type)]
    return Table("by-crane-type", "按设备类别", ("设备类别", ISSUED, CANCELLED), rows, "doughnut")


def _county_name(code):
    division = codes.division(code)
    if division is None:
        return code
    return division.name if division.name.startswith(division.city_name) else division.city_name + division.name


def by_county(user, filters):
    rows = [(_county_name(code), issued, cancelled)
            for code, issued, cancelled in _by(user, filters, Certificate.project_division)]
    return Table("by-county", "按工程所在区县", ("区县", ISSUED, CANCELLED), rows, "bar")


def by_authority(user, filters):
    rows = [tuple(row) for row in _by(user, filters, Certificate.authority_name)]
    return Table("by-authority", "按发证机关", ("发证机关", ISSUED, CANCELLED), rows, "bar")


def by_report_state(user, filters):
    counts = dict(db.session.execute(_issued_in_range(user, filters, Certificate.report_state, sa.func.count())
                                     .group_by(Certificate.report_state)).all())
    rows = [(name, counts.get(state, 0)) for state, name in REPORT_STATE_NAMES.items()]
    return Table("by-report-state", "上报住建部结果", ("上报状态", "证书数"), rows, "doughnut")


def statistics_tables(user, filters):
    """Every table of the 统计分析 page, in page order."""
    return [by_month(user, filters), by_crane_type(user, filters), by_county(user, filters),
            by_authority(user, filters), by_report_state(user, filters)]
