"""How people find certificates: the SQL conditions every certificate list and export uses.

证书编号, 使用单位 and 工程名称 match any part of the stored text (LIKE '%x%'; the user's own % _ \\ are
literal). On PostgreSQL pg_trgm GIN indexes serve these (fragments of three characters or more use the
index; shorter ones scan); SQLite runs the same LIKE without an index. A complete 证书编号 is an equality
on its unique index.
"""

from portal.certificates.models import Certificate
from portal.display import prefix_pattern
from portal.standard.values import CertificateNumber


def contains_pattern(text):
    """A LIKE pattern '%text%' with the user's own % _ \\ taken literally (used with escape='\\')."""
    return "%" + prefix_pattern(text)


def contains(column, text):
    """`column` holds `text` anywhere (case-insensitive for Latin letters)."""
    return column.ilike(contains_pattern(text.strip()), escape="\\")


def number_matches(text):
    """证书编号 condition: the whole number (either kind of parentheses) or any part of it."""
    whole = CertificateNumber.normalize(text)
    try:
        CertificateNumber.parse(whole)
    except ValueError:
        return Certificate.number.like(contains_pattern(CertificateNumber.fragment(text)), escape="\\")
    return Certificate.number == whole
