"""统计分析: counts by month, crane type, county, authority and report outcome, as charts beside their
tables, for a date range; and the same tables as .xlsx."""
from flask import render_template, request
from flask_login import current_user

from portal import audit, downloads
from portal.access import area_required
from portal.clock import now
from portal.extensions import db
from portal.statistics import bp
from portal.statistics.forms import parse_statistics_args
from portal.statistics.services import authorities_for, statistics_tables


def _filters():
    authorities = authorities_for(current_user)
    filters, errors = parse_statistics_args(request.args, current_user, authorities)
    return filters, errors, authorities


@bp.route("/")
@area_required("statistics")
def index():
    """The page: the filter form, then each chart with its table (the table is the source of truth)."""
    filters, errors, authorities = _filters()
    return render_template("statistics/index.html", filters=filters, errors=errors, authorities=authorities,
                           tables=statistics_tables(current_user, filters))


@bp.route("/export")
@area_required("statistics")
def export():
    """导出: one sheet per table, for the same filters as the page."""
    filters, errors, _ = _filters()
    tables = statistics_tables(current_user, filters)
    audit.record("statistics.export", actor=current_user, target="统计分析导出",
                 detail=" ".join(f"{k}={v}" for k, v in filters.query_args().items()))
    db.session.commit()
    sheets = [(table.title[:31], table.header, table.rows) for table in tables]
    return downloads.private_xlsx(sheets, f"统计分析_{filters.issued_from:%Y%m%d}-{filters.issued_to:%Y%m%d}_"
                                          f"{now():%Y%m%d%H%M}.xlsx")
