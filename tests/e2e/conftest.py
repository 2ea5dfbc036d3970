"""A live portal on a loopback port and headless Debian Chromium driven by Playwright."""
import threading
from contextlib import contextmanager

import pytest
from werkzeug.serving import make_server

from portal import create_app
from portal.extensions import db
from tests.conftest import _reset_database, _test_config


@contextmanager
def serve_live_app(tmp_path, worker=False, **config_overrides):
    """The portal served on 127.0.0.1:<free port>, demo seeded, its own database; with `worker`, jobs run in
    an embedded RQ worker thread (so an upload returns at once and progress can be watched)."""
    from portal.cli import seed_demo
    from portal.background.queues import start_embedded_worker
    config = _test_config(tmp_path, **config_overrides)
    if config.SQLALCHEMY_DATABASE_URI == "sqlite://":
        config.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'e2e.sqlite3'}"
    app = create_app(config)
    with app.app_context():
        _reset_database()
        seed_demo()
    stop = start_embedded_worker(app, threads=1) if worker else None
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    app.config["LIVE_URL"] = f"http://127.0.0.1:{server.server_port}"
    try:
        yield app
    finally:
        if stop is not None:
            stop.set()
        server.shutdown()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def live_app(tmp_path):
    """The portal on a loopback port; jobs run inline."""
    with serve_live_app(tmp_path) as app:
        yield app


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=[
            "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic"])
        yield browser
        browser.close()


# Reports what the Content-Security-Policy blocked, and htmx refusing to eval, in every document.
WATCH_POLICY = """
document.addEventListener("securitypolicyviolation", (e) => window.reportPageProblem(
  `CSP ${e.violatedDirective} blocked ${e.blockedURI || "inline"} in ${location.pathname} (${e.sourceFile}:${e.lineNumber})`));
document.addEventListener("htmx:evalDisallowedError", () => window.reportPageProblem(`htmx eval refused in ${location.pathname}`));
"""


@pytest.fixture
def page_problems():
    """What went wrong in the browser: CSP violations, refused evals, uncaught script errors."""
    return []


@pytest.fixture
def page(browser, page_problems):
    """A fresh browser tab; every browser test fails if the CSP blocked anything or a script threw."""
    context = browser.new_context(locale="zh-CN", accept_downloads=True)
    context.expose_function("reportPageProblem", lambda problem: page_problems.append(problem))
    context.add_init_script(WATCH_POLICY)
    page = context.new_page()
    page.on("pageerror", lambda error: page_problems.append(f"script error: {error}"))
    page.on("console", lambda message: page_problems.append(f"console: {message.text}")
            if message.type == "error" and "Content Security Policy" in message.text else None)
    page.set_default_timeout(15000)
    yield page
    context.close()
    assert not page_problems, "\n".join(page_problems)


def browser_login(page, app, username):
    """Log in as a person would: password, 发送短信验证码, read the code from the outbox, 确定."""
    from portal.cli import DEMO_USERS, demo_password
    from tests.conftest import last_code
    phone = next(u[4] for u in DEMO_USERS if u[0] == username)
    page.goto(app.config["LIVE_URL"] + "/auth/login")
    page.fill("#username", username)
    page.fill("#password", demo_password(username))
    page.click("button:has-text('登录')")
    page.click("#send-code")
    page.wait_for_selector("#code-status .alert-success")
    page.fill("#code", last_code(app, phone))
    page.click("button:has-text('确定')")
    page.wait_for_url(app.config["LIVE_URL"] + "/")
