"""How stored values are shown to people: Beijing time, masked ID numbers, search text normalised."""
import re
from datetime import timedelta

from portal.standard.normalize import clean_record_number

BEIJING = timedelta(hours=8)  # stored times are naive UTC; people read China Standard Time
_HALF_WIDTH_YEAR = re.compile(r"\((\d{4})\)")


def local_time(moment):
    """A stored (naive UTC) time as Beijing time; None stays None."""
    return moment + BEIJING if moment else None


def mask_id_number(id_number):
    """身份证号码 for the screen: 140105********1234 (the full number stays in the signed PDF)."""
    value = id_number or ""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def normalize_number(text):
    """A typed 证书编号 as stored: trimmed, upper case, half-width (year) parentheses accepted."""
    return _HALF_WIDTH_YEAR.sub(r"（\1）", (text or "").strip()).upper()


def normalize_record_number(text):
    """A typed 备案编号 as stored: its canonical spelling (any case, width or dash, as the rules read it)."""
    try:
        return clean_record_number(text or "")
    except ValueError:  # '1E5': not a 备案编号 at all; matches nothing
        return (text or "").strip().upper()


def prefix_pattern(text):
    """A LIKE pattern 'text%' with the user's own % _ \\ taken literally (used with escape='\\')."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
