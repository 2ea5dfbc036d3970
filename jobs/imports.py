"""RQ jobs: batch imports (the work is in portal/imports/services.py)."""
from jobs._runtime import app_context
from portal.imports.services import run_import


def run_import_task(task_id):
    """Run import task `task_id` to its end (idempotent: a done task or a live run is left alone)."""
    with app_context():
        return run_import(task_id).state
