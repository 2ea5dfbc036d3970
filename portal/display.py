"""How stored values are shown to and searched by people: masked ID numbers, literal LIKE prefixes.

(Times are shown by the business clock, portal.clock.)
"""

from portal.standard.normalize import clean_record_number


def mask_id_number(id_number):
    """身份证号码 as people see it, on the pages and on the certificate's face: 140105********1234.

    The full number stays in the database and in the report to 住建部.
    Masking a masked number changes nothing."""
    value = id_number or ""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def normalize_record_number(text):
    """A typed 备案编号 as stored: its canonical spelling (any case, width or dash, as the rules read it)."""
    try:
        return clean_record_number(text or "")
    except ValueError:  # '1E5': not a 备案编号 at all; matches nothing
        return (text or "").strip().upper()


def prefix_pattern(text):
    """A LIKE pattern 'text%' with the user's own % _ \\ taken literally (used with escape='\\')."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
