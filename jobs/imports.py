"""RQ jobs: batch imports (the work is in portal/imports/services.py)."""
from jobs._runtime import app_context


def run_import_task(task_id):
    """Run import task `task_id` to its end (idempotent: a done task or a live run is left alone)."""
    with app_context():
        from portal.imports.services import run_import
        return run_import(task_id).state


def resume_stale_imports():
    """Re-enqueue import tasks whose worker died; returns their ids."""
    with app_context():
        from portal.imports.services import resume_stale_tasks
        return resume_stale_tasks()
