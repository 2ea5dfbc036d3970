"""Integers from the URL, bounded: `?page=99999999999999999999` is the last page, never a 500.

An unbounded page number becomes an OFFSET the database driver cannot hold (OverflowError on SQLite,
"bigint out of range" on PostgreSQL); an unbounded id the same in a WHERE clause.
"""
from portal.extensions import db
from portal.security import MAX_URL_ID

# Far beyond any real list (a million pages), small enough that page × per_page stays a sane OFFSET.
MAX_PAGE = 1_000_000


def bounded_int(raw, low=1, high=MAX_URL_ID):
    """`raw` (ASCII digits, as text or int) as an int in [low, high]; anything else → None."""
    text = str(raw if raw is not None else "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(high)):
        return None
    value = int(text)
    return value if low <= value <= high else None


def int_arg(args, key, low=1, high=MAX_URL_ID):
    """args[key] as an int in [low, high]; missing, malformed or out of range → None."""
    return bounded_int(args.get(key), low, high)


def page_arg(args, key="page"):
    """The page asked for: 1 when missing or malformed, at most MAX_PAGE (paginate() then clamps it)."""
    raw = (args.get(key) or "").strip()
    if not (raw.isascii() and raw.isdigit()):
        return 1
    return MAX_PAGE if len(raw) > len(str(MAX_PAGE)) else min(max(int(raw), 1), MAX_PAGE)


def last_page_if_beyond(make_page, page):
    """make_page(page) → a Pagination; a page past the end gives the last page instead of an empty one."""
    pagination = make_page(page)
    if pagination.pages and page > pagination.pages:
        pagination = make_page(pagination.pages)
    return pagination


def paginate(select, page, per_page):
    """One page of a SELECT (Flask-SQLAlchemy's Pagination), the last one when `page` is past the end."""
    return last_page_if_beyond(
        lambda number: db.paginate(select, page=number, per_page=per_page, max_per_page=per_page, error_out=False),
        min(max(int(page or 1), 1), MAX_PAGE))
