"""统计分析 inputs: the 发证日期 range (Beijing dates) and, for an admin, one authority."""
from portal.forms import parse_date_arg
from portal.paging import bounded_int
from portal.statistics.services import StatisticsFilters, default_range

MAX_YEARS = 10  # a month per row and per point: a longer range is no chart anyone reads


def parse_statistics_args(args, user, authorities):
    """Filters from the query string (unusable values replaced by the defaults) and a message for each."""
    errors = []
    first, last = default_range()
    issued_from = parse_date_arg("发证日期（起）", args.get("issued_from"), errors) or first
    issued_to = parse_date_arg("发证日期（止）", args.get("issued_to"), errors) or last
    if issued_from > issued_to:
        errors.append("发证日期：起始日期不能晚于截止日期，请调整统计范围")
        issued_from, issued_to = first, last
    elif (issued_to.year - issued_from.year) * 12 + issued_to.month - issued_from.month >= MAX_YEARS * 12:
        errors.append(f"发证日期：统计范围最长 {MAX_YEARS} 年，请缩小范围")
        issued_from, issued_to = first, last
    authority_id = None
    raw = (args.get("authority_id") or "").strip()
    if raw and user.role == "admin":
        authority_id = bounded_int(raw)
        if authority_id not in {a.id for a in authorities}:
            errors.append("发证机关：请从列表中选择")
            authority_id = None
    return StatisticsFilters(issued_from, issued_to, authority_id), errors
