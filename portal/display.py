"""How stored values are shown to people: Beijing time, masked ID numbers, search text normalised."""
import re
from datetime import timedelta

BEIJING = timedelta(hours=8)  # stored times are naive UTC; people read China Standard Time
_HALF_WIDTH_YEAR = re.compile(r"\((\d{4})\)")


def local_time(moment):
    """A stored (naive UTC) time as Beijing time; None stays None."""
    return moment + BEIJING if moment else None


def mask_id_number(id_number):
    """身份证号码 as people see it, on the pages and on the certificate's face: 140105********1234.

    The full number stays in the database and in the report to 住建部.
    Masking a masked number changes nothing."""
    value = id_number or ""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def normalize_number(text):
    """A typed 证书编号 as stored: trimmed, upper case, half-width (year) parentheses accepted."""
    return _HALF_WIDTH_YEAR.sub(r"（\1）", (text or "").strip()).upper()


def prefix_pattern(text):
    """A LIKE pattern 'text%' with the user's own % _ \\ taken literally (used with escape='\\')."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
