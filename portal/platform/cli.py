"""flask --app wsgi reports sweep [--every SECONDS]: send due reports to 住建部 and poll verdicts."""
import time

import click
from flask.cli import with_appcontext

from portal.extensions import db

reports_cli = click.Group("reports", help="Reporting to 住建部 (the outbox).")


@reports_cli.command("sweep")
@click.option("--every", type=float, default=0, help="Repeat every N seconds (0: once). Production runs one.")
@with_appcontext
def sweep_command(every):
    """Send every due outbox row now (retries with backoff), and poll the ministry's verdicts."""
    from portal.platform.reporting import send_due_reports
    while True:
        task = send_due_reports()
        if task is not None:
            click.echo(f"上报住建部：处理 {task.done} 条，成功 {task.succeeded}，未成功 {task.failed}")
        db.session.remove()
        if not every:
            break
        time.sleep(every)


# What the embedded ticker enqueues, and on which queue.
TICK_JOBS = (
    ("jobs.reports.send_due_reports", "reports"),
    ("jobs.imports.resume_stale_imports", "default"),
    ("jobs.certificates.purge_stale_drafts", "default"),
)


def start_ticker(app, every=15):
    """Embedded default: periodically enqueue the report sweep, the check for import tasks whose worker
    died and the purge of stale draft attachments (production runs `reports sweep --every 30`,
    `certs resume-imports` and `certs purge-drafts` from cron)."""
    import threading

    def tick():
        while True:
            time.sleep(every)
            with app.app_context():
                try:
                    from portal.queue import enqueue
                    for dotted, queue in TICK_JOBS:
                        enqueue(dotted, queue=queue)
                except Exception:  # a missed tick is retried on the next one
                    app.logger.exception("background tick failed")
    threading.Thread(target=tick, name="report-sweep-ticker", daemon=True).start()
