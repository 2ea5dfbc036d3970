"""RQ jobs: reporting to 住建部."""
from jobs._runtime import app_context


def send_due_reports():
    """Send every due outbox row and poll due verdicts."""
    with app_context():
        from portal.platform.reporting import send_due_reports as run
        task = run()
        return task.id if task else None
