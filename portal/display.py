"""How stored values are shown to and searched by people: masked ID numbers, literal LIKE prefixes.

(Times are shown by the business clock, portal.clock.)
"""


def mask_id_number(id_number):
    """身份证号码 for the screen: 140105********1234 (the full number stays in the signed PDF)."""
    value = id_number or ""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def prefix_pattern(text):
    """A LIKE pattern 'text%' with the user's own % _ \\ taken literally (used with escape='\\')."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
