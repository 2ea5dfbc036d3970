"""Command-line tools: flask --app wsgi seed-demo | users create | tasks resume | serve."""
import os
import sys
import time

import click
from flask import current_app
from flask.cli import with_appcontext

from platform_sim.cli import platform_sim_cli
from portal.admin.services import create_user, parse_jurisdiction
from portal.auth.models import User
from portal.background.lifecycle import STALE_MINUTES, resume_stale_tasks
from portal.background.queues import start_embedded_worker, start_ticker
from portal.background.reconcile import reconcile
from portal.certificates import keys, seal_keys
from portal.certificates.authorities import Authority
from portal.certificates.cli import authority_cli, certs_cli
from portal.extensions import db
from portal.forms import FieldError
from portal.imports import cli as import_commands  # noqa: F401  (adds certs template/check/import)
from portal.platform.cli import reports_cli
from portal.platform.service import embedded_simulator

DEMO_AUTHORITIES = [
    # name, USCC, division code
    ("太原市住房和城乡建设局", "11140100MB0000002K", "140100"),
    ("大同市住房和城乡建设局", "11140200MB0000003U", "140200"),
]
DEMO_USERS = [
    # username, display name, role, authority USCC, phone, 签章权限
    ("admin", "系统管理员", "admin", None, "13800000001", False),
    ("clerk", "太原录证员", "clerk", "11140100MB0000002K", "13800000002", True),
    ("clerk2", "太原录证员（无签章）", "clerk", "11140100MB0000002K", "13800000003", False),
    ("supervisor", "太原主管", "supervisor", "11140100MB0000002K", "13800000004", False),
    ("delegate", "被授权用户", "delegate", None, "13800000005", False),
    ("datong", "大同录证员", "clerk", "11140200MB0000003U", "13800000006", True),
]


def demo_password(username):
    """The documented demo password of a demo user."""
    return f"Demo-{username}-2026"


def seed_demo():
    """Create the demo authorities and users unless they exist; returns [(username, password, created)]."""
    authorities = {}
    for name, uscc, division in DEMO_AUTHORITIES:
        authority = db.session.scalar(db.select(Authority).filter_by(uscc=uscc))
        if authority is None:
            authority = Authority(name=name, uscc=uscc, division_code=division)
            authority.jurisdiction = parse_jurisdiction("", division)
            db.session.add(authority)
        authorities[uscc] = authority
    results = []
    for username, display, role, uscc, phone, can_sign in DEMO_USERS:
        user = db.session.scalar(db.select(User).filter_by(username=username))
        created = user is None
        if created:
            user = User(username=username, display_name=display, role=role, phone=phone, can_sign=can_sign,
                        authorities=[authorities[uscc]] if uscc else [])
            user.set_password(demo_password(username))
            db.session.add(user)
        results.append((username, demo_password(username), created))
    db.session.commit()
    for authority in authorities.values():
        if not keys.has_key(authority.uscc) or not seal_keys.has_seal_key(authority.uscc):
            keys.init_key(authority.uscc, authority.name)
    return results


@click.command("seed-demo")
@with_appcontext
def seed_demo_command():
    """Create the demo authorities and users (idempotent) and print their passwords."""
    results = seed_demo()
    click.echo("演示账号（用户名 / 密码）：")
    for username, password, created in results:
        click.echo(f"  {username:<12} {password:<22} {'新建' if created else '已存在，未改动'}")
    click.echo("登录时的短信验证码写入 " + current_app.config["SMS_OUTBOX_PATH"])


users_cli = click.Group("users", help="Manage portal users.")


@users_cli.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(["admin", "clerk", "supervisor", "delegate"]))
@click.option("--authority", "authority_uscc", help="USCC of the user's issuing authority")
@click.option("--phone", default="", help="Registered mobile phone for SMS codes")
@click.option("--display-name", default="")
@click.option("--can-sign", is_flag=True, help="Grant 签章权限")
@with_appcontext
def users_create(username, role, authority_uscc, phone, display_name, can_sign):
    """Create a user; the password is read from standard input."""
    password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else click.prompt(
        "密码", hide_input=True, confirmation_prompt=True)
    authority_ids = []
    if authority_uscc:
        authority = db.session.scalar(db.select(Authority).filter_by(uscc=authority_uscc.strip().upper()))
        if authority is None:
            raise click.ClickException(f"发证机关 {authority_uscc} 不存在")
        authority_ids = [authority.id]
    try:
        user = create_user(None, username, password, role, phone, display_name, authority_ids, can_sign)
    except FieldError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"已创建用户 {user.username}（{user.role_name}）")


tasks_cli = click.Group("tasks", help="Background tasks (imports, PDF chunks, report runs).")


@tasks_cli.command("resume")
@click.option("--minutes", default=None, type=float,
              help=f"Heartbeat age after which a running task is judged dead (default TASK_STALE_SECONDS, "
                   f"{STALE_MINUTES * 60:.0f} s).")
@with_appcontext
def resume_command(minutes):
    """Queue again every task whose worker died (safe: no row is ever issued twice)."""
    ids = resume_stale_tasks(minutes)
    click.echo(f"已重新排队 {len(ids)} 个任务" + (f"：{', '.join(map(str, ids))}" if ids else ""))


def served_base_url(host, port, environ=os.environ):
    """The address QR codes print when serving on host:port: PUBLIC_BASE_URL when set, else this server
    (a wildcard host as loopback), so that `make run PORT=5001` prints codes that open on port 5001."""
    if environ.get("PUBLIC_BASE_URL"):
        return environ["PUBLIC_BASE_URL"]
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{shown}:{port}"


jobs_cli = click.Group("jobs", help="The background work's upkeep.")


@jobs_cli.command("reconcile")
@click.option("--every", type=float, default=0, help="Repeat every N seconds (0: once; production: a timer every minute).")
@with_appcontext
def reconcile_command(every):
    """Re-queue dead tasks and lost or failed PDFs, send due reports (safe on several machines at once)."""
    while True:
        click.echo(reconcile().summary())
        db.session.remove()
        if not every:
            break
        time.sleep(every)


@click.command("serve")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@with_appcontext
def serve_command(host, port):
    """Serve the portal with the embedded services (in-process worker, platform simulator)."""
    app = current_app._get_current_object()
    app.config["PUBLIC_BASE_URL"] = served_base_url(host, port)
    if not app.config.get("REDIS_URL"):
        start_embedded_worker(app, threads=2)
        start_ticker(app)
        click.echo("后台任务：进程内 RQ 工作线程（fakeredis），每 15 秒检查待上报住建部的记录")
    if not app.config.get("PLATFORM_URL"):
        simulator = embedded_simulator(port=app.config["PLATFORM_SIM_PORT"])
        click.echo(f"全国工程质量安全监管信息平台（模拟器）：{simulator.url}/_sim/reports")
    click.echo(f"证照管理系统： http://{host}:{port}/（二维码地址：{app.config['PUBLIC_BASE_URL']}）")
    from werkzeug.serving import run_simple  # app.run() is ignored inside a flask command
    run_simple(host, port, app, threaded=True, use_reloader=False)


def init_app(app):
    """Register the commands."""
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(users_cli)
    app.cli.add_command(serve_command)
    app.cli.add_command(tasks_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(authority_cli)
    app.cli.add_command(reports_cli)
    app.cli.add_command(certs_cli)
    app.cli.add_command(platform_sim_cli, "platform-sim")
