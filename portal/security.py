"""HTTP hardening for every request and response: security headers, bounded URL integers, proxies.

The pages satisfy the Content-Security-Policy with no inline script or style and no eval: htmx and
static/js/portal.js are files, htmx is configured not to inject styles or evaluate code (base.html).
"""
from flask import request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
DEFAULT_HEADERS = {  # unless the view chose a stricter value (the public pages send no referrer at all)
    "Referrer-Policy": "same-origin",
}
# The largest id a route accepts: the ids are 32-bit integer columns. A longer number is a 404, never
# an OverflowError from the database driver.
MAX_URL_ID = 2**31 - 1


class BoundedIntConverter(IntegerConverter):
    """`<int:…>` in every route, at most MAX_URL_ID unless the route says otherwise."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_URL_ID, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def set_security_headers(response):
    """Headers every response carries; pages and downloads of the portal are never cached or framed.

    A response that states no cache policy of its own is not stored (pages show personal data;
    downloads of it say `private, no-store` themselves, see portal/downloads.py); static files keep
    Flask's revalidation. The CSP is left off PDFs: the browser shows them in its built-in viewer, which `object-src 'none'`
    would block, and a PDF runs no page script of ours. X-Frame-Options still forbids framing it.
    """
    for name, value in HEADERS.items():
        response.headers[name] = value
    for name, value in DEFAULT_HEADERS.items():
        response.headers.setdefault(name, value)
    if "Cache-Control" not in response.headers and request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    if response.mimetype != "application/pdf":
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


def init_app(app):
    """Install the converter (before the blueprints register their routes), the headers and ProxyFix."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.after_request(set_security_headers)
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies:
        # Behind that many reverse proxies, their X-Forwarded-For names the client: lockout and audit
        # count the real address. Without them the header is not trusted (anyone can send one).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
