"""证照维护 inputs: the list's search arguments and the 注销 form."""
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from portal.certificates.models import REPORT_STATE_NAMES, STATUS_NAMES
from portal.forms import parse_date_arg
from portal.maintenance.services import SearchFilters
from portal.paging import page_arg
from portal.standard import codes

_TEXT_LIMITS = {"number": 32, "license_id": 100, "holder_name": 200, "holder_uscc": 18, "record_number": 16,
                "project_name": 200}
_DATE_LABELS = {"issued_from": "发证日期（起）", "issued_to": "发证日期（止）"}


def parse_search_args(args):
    """Search filters from the query string, and a Chinese message for each unusable value."""
    errors = []
    text = {key: (args.get(key) or "").strip()[:limit] for key, limit in _TEXT_LIMITS.items()}
    status = (args.get("status") or "").strip()
    if status and status not in STATUS_NAMES:
        errors.append("状态：请选择“已发证”或“已注销”")
        status = ""
    report_state = (args.get("report_state") or "").strip()
    if report_state and report_state not in REPORT_STATE_NAMES:
        errors.append("上报状态：请从列表中选择，例如“上报失败”")
        report_state = ""
    crane_type = (args.get("crane_type") or "").strip().upper()
    if crane_type and codes.crane_type(crane_type) is None:
        errors.append("设备类别：请从列表中选择" + "、".join(t.name for t in codes.crane_types()))
        crane_type = ""
    dates = {key: parse_date_arg(label, args.get(key), errors) for key, label in _DATE_LABELS.items()}
    if dates["issued_from"] and dates["issued_to"] and dates["issued_from"] > dates["issued_to"]:
        errors.append("发证日期：起始日期不能晚于截止日期，请调整查询范围")
    filters = SearchFilters(status=status, report_state=report_state, crane_type=crane_type, **text, **dates)
    return filters, page_arg(args), errors


class CancelForm(FlaskForm):
    """注销: the reason is required (the service checks it again)."""
    reason = TextAreaField("注销原因", validators=[DataRequired("注销原因：为必填项，请填写注销原因"),
                                               Length(max=500, message="注销原因：最多 500 个字")])
