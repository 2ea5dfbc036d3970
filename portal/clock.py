"""The one business clock: the only module that reads the time, and knows in which zone people live.

* Stored timestamps are naive UTC: ``utcnow()``.
* People live in the business timezone, ``Asia/Shanghai`` (the ``BUSINESS_TIMEZONE`` setting, or the
  environment variable of that name, names another). ``today()`` is the business date: every rule's
  «today», the wizard's default 发证日期 and so the year in a certificate number. ``local_time(stored)``
  and ``format_time(stored)`` are how a stored time is shown: pages, the audit log, CLI output.
* Tests move the clock with ``travel_to(instant)``: from that UTC instant it runs on, as on a server
  started then (no patching of ``datetime``).

Pure Python (no Flask): the standard uses it too. The zone is one per process, set by create_app.
"""
import os
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "Asia/Shanghai"

_zone = ZoneInfo(os.environ.get("BUSINESS_TIMEZONE") or DEFAULT_TIMEZONE)
_offset = timedelta(0)  # travel_to(): how far the clock is set from the machine's


def set_timezone(name):
    """Use this IANA zone (e.g. 'Asia/Shanghai') for every business date and every time shown."""
    global _zone
    _zone = ZoneInfo(name)


def business_timezone():
    return _zone


def utcnow():
    """Now, as stored: a naive datetime in UTC."""
    return (datetime.now(timezone.utc) + _offset).replace(tzinfo=None)


def now():
    """Now in the business timezone (an aware datetime)."""
    return local_time(utcnow())


def today() -> date:
    """The business date: what the clerks' calendar on the wall says now."""
    return now().date()


def local_time(stored):
    """A stored (naive UTC) time in the business timezone, as an aware datetime; None stays None."""
    if stored is None:
        return None
    return stored.replace(tzinfo=timezone.utc).astimezone(_zone)


def start_of_day(day):
    """The stored (naive UTC) instant at which this business date begins: a date range's bound in SQL."""
    return datetime(day.year, day.month, day.day, tzinfo=_zone).astimezone(timezone.utc).replace(tzinfo=None)


def utc_offset(day):
    """How far the business timezone is ahead of UTC on this date (SQL turns stored times into local ones)."""
    return datetime(day.year, day.month, day.day, 12, tzinfo=_zone).utcoffset()


def format_time(stored, fmt="%Y-%m-%d %H:%M:%S", empty="—"):
    """A stored time as people read it (business timezone); `empty` when there is none."""
    return local_time(stored).strftime(fmt) if stored else empty


@contextmanager
def travel_to(instant):
    """Test hook: inside the block the clock reads `instant` (aware, or naive UTC) now, and runs on."""
    global _offset
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=timezone.utc)
    before = _offset
    _offset = instant - datetime.now(timezone.utc)
    try:
        yield
    finally:
        _offset = before
