"""RQ jobs: the periodic check for tasks of any kind whose worker died."""
from jobs._runtime import app_context
from portal.background.lifecycle import resume_stale_tasks as resume


def resume_stale_tasks():
    """Queue again every task whose worker died or whose job was lost; returns their ids."""
    with app_context():
        return resume()
