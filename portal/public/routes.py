"""公开查询: certificate lookup and QR verification, no login."""
import threading

from flask import current_app, render_template, request, url_for

from portal import downloads
from portal.public import bp
from portal.public.services import KINDS, MAX_RESULTS, MIN_NAME_PREFIX, SlidingWindowLimiter, \
    certificate_for_token, lookup_certificates, verify_token

_limiter_lock = threading.Lock()


def _limiter():
    """This app's lookup limiter (PUBLIC_LOOKUP_LIMIT per PUBLIC_LOOKUP_WINDOW seconds, per client IP)."""
    extensions = current_app.extensions
    with _limiter_lock:
        if "public_lookup_limiter" not in extensions:
            extensions["public_lookup_limiter"] = SlidingWindowLimiter(
                int(current_app.config.get("PUBLIC_LOOKUP_LIMIT", 30)),
                float(current_app.config.get("PUBLIC_LOOKUP_WINDOW", 60)))
    return extensions["public_lookup_limiter"]


def _public(response_body, status=200):
    """Public answers are not cached by shared caches nor indexed, and leak no token as a referrer."""
    response = current_app.make_response((response_body, status))
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/")
def index():
    """Public lookup by 使用单位名称 / 统一社会信用代码 / 证书编号 (rate-limited per client IP)."""
    kind = request.args.get("kind") or "number"
    kind = kind if kind in KINDS else "number"
    query = (request.args.get("q") or "").strip()
    if query and not _limiter().hit(request.remote_addr or "unknown"):
        limiter = _limiter()
        response = _public(render_template("public/limited.html", limit=limiter.limit,
                                           window=int(limiter.window)), 429)
        response.headers["Retry-After"] = str(int(limiter.window))
        return response
    result = lookup_certificates(kind, query)
    return _public(render_template("public/index.html", kinds=KINDS, kind=kind, query=query, result=result,
                                   max_results=MAX_RESULTS, min_name_prefix=MIN_NAME_PREFIX))


@bp.route("/verify/<token>")
def verify(token):
    """The QR code's target: 有效 or 已注销 (with its date) and the key face fields; else 查无此证 (404)."""
    view = verify_token(token)
    if view is None:
        return _public(render_template("public/not_found.html"), 404)
    return _public(render_template("public/verify.html", cert=view, token=token))


@bp.route("/verify/<token>/ofd")
def verify_ofd(token):
    """下载 OFD from the verification page: the certificate's sealed OFD (the face masks ID numbers)."""
    cert = certificate_for_token(token)
    if cert is None:
        return _public(render_template("public/not_found.html"), 404)
    download = downloads.sealed_ofd(cert)
    if download is None:
        return _public(render_template("certificates/ofd_missing.html", cert=cert, show_reason=False,
                                       back_url=url_for("public.verify", token=token)), 404)
    return _public(download)
