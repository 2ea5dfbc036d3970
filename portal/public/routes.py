"""公开查询: certificate lookup, QR verification, verification of an uploaded file, no login."""
import threading

from flask import current_app, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from portal import downloads
from portal.extensions import csrf
from portal.public import bp
from portal.public.forms import VerifyFileForm
from portal.public.services import KINDS, MAX_RESULTS, MIN_NAME_PREFIX, SlidingWindowLimiter, \
    certificate_by_token, check_certificate_file, lookup_certificates, public_view, verify_token

_limiter_lock = threading.Lock()
# What a multipart body carries besides the file (boundaries, headers, the CSRF token): well under this.
MULTIPART_OVERHEAD = 64 * 1024
STALE_FORM = "页面已过期（安全校验码无效），请刷新页面后重新选择文件核验"
LIMITS = {  # limiter: (its setting, default hits), per PUBLIC_LOOKUP_WINDOW seconds and client IP
    "lookup": ("PUBLIC_LOOKUP_LIMIT", 30),
    "verify_file": ("PUBLIC_VERIFY_LIMIT", 10),  # each check costs a signature validation
}


def _limiter(name="lookup"):
    """This app's limiter `name` (LIMITS), per client IP."""
    extensions = current_app.extensions
    key = f"public_{name}_limiter"
    with _limiter_lock:
        if key not in extensions:
            setting, default = LIMITS[name]
            extensions[key] = SlidingWindowLimiter(int(current_app.config.get(setting, default)),
                                                   float(current_app.config.get("PUBLIC_LOOKUP_WINDOW", 60)))
    return extensions[key]


def _refused_as_too_frequent(name="lookup"):
    """The 429 answer when this client is over limiter `name`, else None (the hit is counted)."""
    limiter = _limiter(name)
    if limiter.hit(request.remote_addr or "unknown"):
        return None
    response = _public(render_template("public/limited.html", limit=limiter.limit, window=int(limiter.window)), 429)
    response.headers["Retry-After"] = str(int(limiter.window))
    return response


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
    refused = _refused_as_too_frequent() if query else None
    if refused:
        return refused
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


def _public_copy(token, send, missing_page):
    """A copy (send: downloads.signed_pdf or sealed_ofd) for whoever holds the QR code's token, rate-limited;
    missing_page(cert, reason) answers while there is none or its 已注销 rendition cannot be sealed."""
    refused = _refused_as_too_frequent()
    if refused:
        return refused
    cert = certificate_by_token(token)
    if cert is None:
        return _public(render_template("public/not_found.html"), 404)
    response, reason = downloads.copy_or_reason(send, cert)
    if response is None:
        return _public(missing_page(cert, reason), 404)
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.route("/verify/<token>/ofd")
def verify_ofd(token):
    """下载 OFD from the verification page: the certificate's sealed OFD (a cancelled one's carries its 已注销
    mark; the face masks ID numbers)."""
    return _public_copy(token, downloads.sealed_ofd, lambda cert, reason: render_template(
        "certificates/ofd_missing.html", cert=cert, show_reason=False, reason=reason,
        back_url=url_for("public.verify", token=token)))


@bp.route("/verify/<token>/pdf")
def verify_pdf(token):
    """The certificate's sealed PDF for whoever holds its QR code (a cancelled one's carries its 已注销 mark)."""
    return _public_copy(token, downloads.signed_pdf, lambda cert, reason: render_template(
        "public/pdf_unavailable.html", cert=public_view(cert), token=token, reason=reason))


@bp.route("/verify-file", methods=["GET", "POST"])
@csrf.exempt  # not skipped: VerifyFileForm checks the token, once the body's bound below is set
def verify_file():
    """上传核验: anyone uploads a certificate PDF or OFD and learns its seal, signer and the certificate's state."""
    max_bytes = current_app.config["PUBLIC_VERIFY_MAX_MB"] * 1024 * 1024
    context = dict(max_bytes=max_bytes, max_mb=current_app.config["PUBLIC_VERIFY_MAX_MB"], verdict=None, error=None)
    if request.method == "GET":
        return _public(render_template("public/verify_file.html", form=VerifyFileForm(), **context))
    refused = _refused_as_too_frequent("verify_file")
    if refused:
        return refused
    # The body is read within the bound: a larger upload is refused before it is read, not after.
    request.max_content_length = max_bytes + MULTIPART_OVERHEAD
    too_large = f"文件超过 {context['max_mb']} MB，不是本系统签发的电子证照（电子证照文件通常小于 1 MB），请核对后重新选择"
    try:
        form = VerifyFileForm()
        valid = form.validate_on_submit()
        data = form.file.data.read(max_bytes + 1) if valid else None
    except RequestEntityTooLarge:
        form, data = VerifyFileForm(formdata=None), None
        context["error"], status = too_large, 413
    else:
        if not valid:
            stale = "csrf_token" in form.errors  # its own English message is not for the public
            context["error"] = STALE_FORM if stale else "；".join(form.errors.get("file", ()))
            status = 400 if stale else 422
        elif len(data) > max_bytes:
            context["error"], status = too_large, 413
        else:
            context["verdict"], status = check_certificate_file(data), 200
            context["file_name"] = form.file.data.filename or ""
    return _public(render_template("public/verify_file.html", form=form, **context), status)
