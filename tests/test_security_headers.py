"""Security headers on every response of every route; no store of personal data; CSP-clean templates."""
import re
from pathlib import Path

import pytest

from portal.security import CONTENT_SECURITY_POLICY
from tests.test_access_matrix import _build_world, _requests

PERSONAL_DOWNLOADS = {"tasks.failure_report", "maintenance.crane_pdf", "maintenance.crane_attachment",
                      "delegation.certificate_pdf", "delegation.certificate_attachment"}
REVALIDATED = {"static", "imports.template"}  # the same for everyone, no personal data: stored, revalidated
TEMPLATES = Path(__file__).resolve().parent.parent / "portal" / "templates"


def test_the_policy_is_exactly_the_reviewed_one():
    assert CONTENT_SECURITY_POLICY == (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def _header_problems(endpoint, response):
    headers, problems = response.headers, []
    expected = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
                "Referrer-Policy": "no-referrer" if endpoint.startswith("public.") else "same-origin"}
    if response.mimetype != "application/pdf":
        expected["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    if endpoint in PERSONAL_DOWNLOADS and response.status_code == 200:
        expected["Cache-Control"] = "private, no-store"
    for name, value in expected.items():
        if headers.get(name) != value:
            problems.append(f"{name}: {headers.get(name)!r} (expected {value!r})")
    if endpoint not in REVALIDATED and "no-store" not in headers.get("Cache-Control", ""):
        problems.append(f"Cache-Control: {headers.get('Cache-Control')!r} (expected no-store)")
    return problems


@pytest.mark.parametrize("role", ["admin", "clerk", "supervisor", "delegate", "anonymous"])
def test_every_response_of_every_route_carries_the_headers(demo, auth, client, role):
    world = _build_world()
    if role != "anonymous":
        auth.login(role)
    wrong = []
    for endpoint, method, _variant, url in _requests(demo, world):
        if method != "GET":
            continue  # POSTs: below; the access matrix covers what they change
        response = client.get(url)
        wrong += [f"GET {url} ({response.status_code}): {p}" for p in _header_problems(endpoint, response)]
    assert not wrong, "\n".join(wrong)


def test_posts_errors_and_redirects_carry_the_headers_too(demo, client):
    answers = {
        "auth.login": client.post("/auth/login", data={"username": "clerk", "password": "wrong"}),
        "auth.send_code": client.post("/auth/send-code"),
        "main.not_found": client.get("/no-such-page"),
        "main.index": client.get("/"),  # 302 to the login page
    }
    assert answers["main.index"].status_code == 302 and answers["main.not_found"].status_code == 404
    wrong = [f"{endpoint}: {p}" for endpoint, response in answers.items() for p in _header_problems(endpoint, response)]
    assert not wrong, "\n".join(wrong)


def test_a_static_file_keeps_revalidation_and_is_not_framed(client):
    response = client.get("/static/js/portal.js")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-cache"
    assert response.headers["X-Frame-Options"] == "DENY" and response.headers["X-Content-Type-Options"] == "nosniff"


# Patterns the CSP would refuse in a page (the PDF face is rendered on the server, never served as HTML).
INLINE = {
    "inline <script>": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    "on… handler": re.compile(r"(?<![\w-])on[a-z]+\s*=", re.I),
    "style attribute": re.compile(r"\sstyle\s*=", re.I),
    "<style> element": re.compile(r"<style\b", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
    "hx-on (eval)": re.compile(r"\shx-on", re.I),
    "js: value (eval)": re.compile(r"""=\s*['"]\s*js:""", re.I),
}


def test_no_page_template_needs_inline_script_style_or_eval():
    wrong = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        if "pdf" in path.relative_to(TEMPLATES).parts:
            continue
        text = re.sub(r"{#.*?#}", "", path.read_text(encoding="utf-8"), flags=re.S)  # Jinja comments
        wrong += [f"{path.relative_to(TEMPLATES)}: {what}" for what, pattern in INLINE.items() if pattern.search(text)]
    assert not wrong, "\n".join(wrong)
