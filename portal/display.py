"""How stored values are shown to people: Beijing time, masked ID numbers, search text normalised."""
from datetime import timedelta

BEIJING = timedelta(hours=8)  # stored times are naive UTC; people read China Standard Time


def local_time(moment):
    """A stored (naive UTC) time as Beijing time; None stays None."""
    return moment + BEIJING if moment else None


def mask_id_number(id_number):
    """身份证号码 for the screen: 140105********1234 (the full number stays in the signed PDF)."""
    value = id_number or ""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def prefix_pattern(text):
    """A LIKE pattern 'text%' with the user's own % _ \\ taken literally (used with escape='\\')."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
