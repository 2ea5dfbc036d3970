"""What the areas' forms share: a refused change that names its form field, and showing it there."""
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
