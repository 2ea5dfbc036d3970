"""RQ jobs: reporting to 住建部."""
from jobs._runtime import app_context
from portal.platform import reporting


def send_due_reports(task_id=None):
    """Send every due outbox row and poll due verdicts; with `task_id`, as that (resumed) 上报住建部 task."""
    with app_context():
        task = reporting.run_report_task(task_id) if task_id else reporting.send_due_reports()
        return task.id if task else None
