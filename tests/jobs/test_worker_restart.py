"""A real `rq worker` killed (SIGKILL) in the middle of an import: after a restart the task completes,
with every row issued exactly once and the right counts. Needs Redis (REDIS_URL)."""
import os
import signal
import subprocess
import sys
import time

from portal.auth.models import User
from portal.background.models import Task
from portal.certificates.models import Certificate
from portal.extensions import db
from tests.imports.helpers import import_zip, valid_rows

ROWS = 600


def _worker_env(app, redis_url):
    config = app.config
    return dict(os.environ, DATABASE_URL=config["SQLALCHEMY_DATABASE_URI"], REDIS_URL=redis_url,
                SECRET_KEY=config["SECRET_KEY"], PKI_PASSPHRASE=config["PKI_PASSPHRASE"], PKI_DIR=config["PKI_DIR"],
                STORAGE_DIR=config["STORAGE_DIR"], PLATFORM_URL=config["PLATFORM_URL"],
                PLATFORM_SIM_DATA_DIR=config["PLATFORM_SIM_DATA_DIR"], SMS_OUTBOX_PATH=config["SMS_OUTBOX_PATH"],
                PORTAL_INSTANCE_PATH=os.path.dirname(config["STORAGE_DIR"]))


def _start_worker(env, *args):
    rq = os.path.join(os.path.dirname(sys.executable), "rq")
    return subprocess.Popen([rq, "worker", "-w", "jobs.worker.PortalWorker", "-u", env["REDIS_URL"], "default",
                             "--logging_level", "WARNING", *args],
                            env=env, cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _descendants(pid):
    """Process ids whose parent chain leads to pid (read from /proc)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def _task(app, task_id):
    with app.app_context():
        db.session.expire_all()
        task = db.session.get(Task, task_id)
        return task.state, task.done, task.succeeded, task.failed, \
            db.session.scalar(db.select(db.func.count(Certificate.id)).filter_by(import_task_id=task_id))


def test_import_survives_a_killed_worker_without_issuing_a_row_twice(shared_app, real_redis_url):
    shared_app.config.update(REDIS_URL=real_redis_url, RQ_ASYNC=True)
    from portal.background import queues
    queues.init_app(shared_app)  # the real Redis queue, as production
    with shared_app.app_context():
        queues.get_queue("default").empty()
        clerk = db.session.scalar(db.select(User).filter_by(username="clerk"))
        from portal.imports.services import start_import
        task_id = start_import(clerk, "大批量.zip", import_zip(valid_rows(count=ROWS))).id
    env = _worker_env(shared_app, real_redis_url)
    worker = _start_worker(env)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:  # kill it once some rows are stored, before the task ends
            state, done, succeeded, failed, issued = _task(shared_app, task_id)
            if issued > 0 and state == "running":
                break
            assert state != "done", "the import finished before the worker could be killed"
            time.sleep(0.02)
        # The worker and its work horse (RQ runs each job in a child process of its own), as when the
        # machine running them dies.
        for pid in [worker.pid] + _descendants(worker.pid):
            os.kill(pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    state, done, succeeded, failed, issued_before = _task(shared_app, task_id)
    assert state == "running" and 0 < issued_before < ROWS

    with shared_app.app_context():  # what the periodic check does: the dead worker's task is queued again
        from portal.background.lifecycle import resume_stale_tasks
        resumed = resume_stale_tasks(minutes=0)
        # … and so is any PDF chunk of it that the worker had committed but not yet handed to Redis
        assert resumed[0] == task_id and {db.session.get(Task, i).kind for i in resumed[1:]} <= {"pdf"}
    restarted = _start_worker(env, "--burst")
    assert restarted.wait(timeout=300) == 0

    state, done, succeeded, failed, issued = _task(shared_app, task_id)
    assert (state, done, succeeded, failed, issued) == ("done", ROWS, ROWS, 0, ROWS)
    with shared_app.app_context():
        keys = db.session.scalars(db.select(Certificate.import_row_key).filter_by(import_task_id=task_id)).all()
        serials = db.session.scalars(db.select(Certificate.serial).order_by(Certificate.serial)).all()
    assert len(set(keys)) == ROWS and serials == list(range(1, ROWS + 1))
