"""What the areas' forms share: a refused change that names its form field, and showing it there; a date
typed into a search form."""
from datetime import date

from flask import flash


class FieldError(Exception):
    """A refused change; nothing was written. `field` names the form field it concerns (None: the whole form)."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


def show_field_error(form, error):
    """Show the error under its field, or as a flashed message when the form has no such field."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = list(field.errors) + [str(error)]
    else:
        flash(str(error), "danger")


def parse_date_arg(label, raw, errors):
    """A YYYY-MM-DD search argument as a date; None when empty, or (with a message naming it) when unusable."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors.append(f"{label}：“{raw}”不是有效的日期，请按 YYYY-MM-DD 填写，例如 2025-06-01")
        return None
