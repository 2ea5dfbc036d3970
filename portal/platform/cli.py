"""flask --app wsgi reports sweep [--every SECONDS]: send due reports to 住建部 and poll verdicts."""
import time

import click
from flask.cli import with_appcontext

from portal.extensions import db
from portal.platform.reporting import send_due_reports

reports_cli = click.Group("reports", help="Reporting to 住建部 (the outbox).")


@reports_cli.command("sweep")
@click.option("--every", type=float, default=0, help="Repeat every N seconds (0: once). Production runs one.")
@with_appcontext
def sweep_command(every):
    """Send every due outbox row now (retries with backoff), and poll the ministry's verdicts."""
    while True:
        task = send_due_reports()
        if task is not None:
            click.echo(f"上报住建部：处理 {task.done} 条，成功 {task.succeeded}，未成功 {task.failed}")
        db.session.remove()
        if not every:
            break
        time.sleep(every)
