"""flask --app wsgi reports sweep [--every SECONDS]: send due reports to 住建部 and poll verdicts."""
import logging
import time

import click
from flask.cli import with_appcontext

from portal.extensions import db
from portal.platform.reporting import send_due_reports

log = logging.getLogger(__name__)
reports_cli = click.Group("reports", help="Reporting to 住建部 (the outbox).")


@reports_cli.command("sweep")
@click.option("--every", type=float, default=0, help="Repeat every N seconds (0: once). Production runs one.")
@with_appcontext
def sweep_command(every):
    """Send every due outbox row now (retries with backoff), and poll the ministry's verdicts."""
    while True:
        try:
            task = send_due_reports()
        except Exception:  # the database or Redis is down: say so, and try again on the next round
            log.exception("report sweep failed; retrying in the next round")
            click.echo("上报住建部：本轮出错（数据库或队列不可用），下一轮重试", err=True)
            db.session.rollback()
            task = None
        if task is not None:
            click.echo(f"上报住建部：处理 {task.done} 条，成功 {task.succeeded}，未成功 {task.failed}")
        db.session.remove()
        if not every:
            break
        time.sleep(every)
