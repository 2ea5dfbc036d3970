"""The one clock of the portal: the only module that reads the time.

Stored timestamps are naive UTC (``utcnow()``).
"""
from datetime import datetime, timezone


def utcnow():
    """Now, as stored: a naive datetime in UTC."""
    return datetime.now(timezone.utc).replace(tzinfo=None)
