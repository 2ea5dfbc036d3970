"""A queued task whose job RQ retries later is left to RQ only while that retry is not overdue: after a crash
RQ's scheduler may stay away for minutes, and the reconciler then queues the task again. Needs Redis."""
from datetime import datetime, timedelta, timezone

from rq.job import Job, JobStatus

from portal.background import queues
from portal.background.lifecycle import resume_stale_tasks, start_task
from portal.background.models import KINDS, Task
from portal.clock import utcnow
from portal.extensions import db


def _task_retried_at(when):
    """A stale queued 'pdf' task whose job waits in RQ's schedule for `when`, as RQ leaves a job it retries."""
    task = start_task("pdf", title="生成电子证照", total=0, params={"certificate_ids": []})
    task.created_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    queues.get_queue(KINDS["pdf"].queue).enqueue_at(when, KINDS["pdf"].job, task.id, job_id=task.job_id)
    return task.id, task.job_id


def test_a_queued_task_whose_rq_retry_is_overdue_is_queued_again_and_one_not_yet_due_is_left(app, real_redis_url):
    app.config.update(REDIS_URL=real_redis_url, RQ_ASYNC=True)
    queues.init_app(app)
    queue = queues.get_queue(KINDS["pdf"].queue)
    queue.empty()
    try:
        now = datetime.now(timezone.utc)
        later, later_job = _task_retried_at(now + timedelta(minutes=5))
        overdue, overdue_job = _task_retried_at(now - timedelta(minutes=30))
        assert Job.fetch(overdue_job, connection=queues.connection()).get_status() == JobStatus.SCHEDULED
        assert resume_stale_tasks(minutes=10) == [overdue]
        assert db.session.get(Task, later).job_id == later_job  # its retry is RQ's, in five minutes
        requeued = db.session.get(Task, overdue)
        assert requeued.state == "queued" and requeued.job_id != overdue_job
        assert Job.fetch(requeued.job_id, connection=queues.connection()).get_status() == JobStatus.QUEUED
    finally:
        queue.empty()
        for job_id in queue.scheduled_job_registry.get_job_ids():
            queue.scheduled_job_registry.remove(job_id, delete_job=True)
