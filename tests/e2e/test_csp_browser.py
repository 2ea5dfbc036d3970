"""The pages work under the Content-Security-Policy, with nothing blocked (the `page` fixture fails a test on
any CSP violation, refused eval or script error; the login, wizard, import and delegation tests walk their
pages under the same watch). This test walks the rest: landing, maintenance search and 查看 with its
confirmation, the task list polling, admin pages, public lookup and verification."""
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.e2e.conftest import browser_login

pytestmark = pytest.mark.e2e


def _in_app(app, work):
    """Run work() in the app, in another thread (sealing runs asyncio.run(); Playwright's loop owns this one)."""
    def run():
        with app.app_context():
            return work()
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()


def _wait_for_problem(page_problems, seconds=5):
    deadline = time.monotonic() + seconds
    while not page_problems and time.monotonic() < deadline:
        time.sleep(0.05)


def test_the_watch_sees_what_the_policy_blocks(live_app, page, page_problems):
    page.goto(live_app.config["LIVE_URL"] + "/auth/login")
    page.evaluate("""document.body.insertAdjacentHTML("beforeend", '<p style="color:red">x</p>');
                     const s = document.createElement("script"); s.textContent = "window.ran = 1";
                     document.body.appendChild(s);""")
    _wait_for_problem(page_problems)
    page.wait_for_timeout(300)
    assert any("style-src" in p for p in page_problems) and any("script-src" in p for p in page_problems)
    assert page.evaluate("window.ran") is None
    page_problems.clear()  # seen: the watch works; the walks below must stay clean


def test_landing_maintenance_tasks_admin_and_public_pages_work_under_the_policy(live_app, page):
    from portal.extensions import db
    from portal.background.models import Task
    from tests.delegation.helpers import taiyuan_certificate, user

    def world():
        cert = taiyuan_certificate(1, seal=True)
        clerk = user("clerk")
        task = Task(kind="import", file_name="进行中.zip", operator_id=clerk.id,
                    authority_id=clerk.authorities[0].id, state="running", total=10, done=4)
        db.session.add(task)
        db.session.commit()
        return cert.number, cert.verify_token, task.id
    number, token, task_id = _in_app(live_app, world)
    url = live_app.config["LIVE_URL"]

    browser_login(page, live_app, "clerk")
    assert "欢迎" in page.inner_text("h1")

    # 证照维护: the search answers by HTMX while typing; 查看; 注销 asks first (dismissed: nothing happens)
    page.goto(url + "/maintenance/crane")
    page.fill("input[name='number']", number)
    page.wait_for_function("() => location.search.includes('number=')")  # a function: a string is eval'd
    page.wait_for_selector(f"text={number}")
    page.click("text=查看")
    page.wait_for_selector("text=照面信息")
    page.fill("#reason", "测试注销确认框")
    dialogs, posts = [], []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.click("#cancel button[type=submit]")
    page.wait_for_timeout(300)
    assert dialogs and "确定注销该证书吗" in dialogs[0]
    assert posts == [] and page.input_value("#reason") == "测试注销确认框"

    # 任务管理: the running task's fragment polls itself; once done it stops with the counts
    page.goto(url + "/tasks/")
    assert page.get_attribute(f"#task-status-{task_id} progress", "value") == "40"

    def finish():
        task = db.session.get(Task, task_id)
        task.state, task.done, task.succeeded, task.failed = "done", 10, 10, 0
        db.session.commit()
    _in_app(live_app, finish)
    page.wait_for_selector(f"#task-status-{task_id}[data-state='done']")
    assert page.inner_text(f"#task-status-{task_id} .task-succeeded") == "10"
    page.click("button:has-text('退出')")
    page.wait_for_selector("text=用户登录")

    # 系统管理: users, authorities (更换密钥 asks first: accepted), audit log and its pager
    browser_login(page, live_app, "admin")
    for menu in ("用户管理", "发证机关", "审计日志", "系统概览"):
        page.click(f"nav.sidebar >> text={menu}")
        page.wait_for_load_state()
    page.click("nav.sidebar >> text=发证机关")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('更换密钥') >> nth=0")
    page.wait_for_selector(".alert-success")
    assert "电子签章密钥" in page.inner_text(".alert-success")
    page.click("button:has-text('退出')")
    page.wait_for_selector("text=用户登录")

    # 公开查询 and the QR code's verification page, without login
    page.goto(url + "/public/")
    page.fill("input[name='q']", number)
    page.click("button:has-text('查询')")
    page.wait_for_selector(f"text={number}")
    page.goto(url + f"/public/verify/{token}")
    assert number in page.inner_text("main") and "有效" in page.inner_text("main")
