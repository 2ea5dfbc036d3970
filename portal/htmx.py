"""The one page-or-fragment decision.

A boosted link click and a history restore also carry HX-Request, yet want the whole page;
only a targeted htmx request gets the bare fragment.
"""
from flask import make_response, render_template, request


def is_htmx():
    """True for a targeted htmx request (not boosted navigation, not a history restore)."""
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-Boosted") != "true"
        and headers.get("HX-History-Restore-Request") != "true"
    )


def render_view(page, fragment, status=200, **context):
    """Render the full page, or just the fragment for an htmx request; both vary on HX-Request."""
    template = fragment if is_htmx() else page
    response = make_response(render_template(template, **context), status)
    response.headers["Vary"] = "HX-Request"
    return response
