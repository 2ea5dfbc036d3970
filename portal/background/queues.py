"""RQ queues over real Redis (REDIS_URL) or, in the embedded default, fakeredis in this process.

The same job code runs either way: `rq worker` processes in production, a worker thread here, and a
ticker thread here for what production runs from cron (the report sweep, the check for dead workers).
"""
import logging
import threading
import time

import redis
import rq
from flask import current_app
from rq.timeouts import TimerDeathPenalty

log = logging.getLogger(__name__)
_fake_server = None
_fake_lock = threading.Lock()


def connection_from_config(config):
    """A Redis connection: the configured server, or one in-memory server shared by this process."""
    global _fake_server
    if config.get("REDIS_URL"):
        return redis.Redis.from_url(config["REDIS_URL"])
    import fakeredis  # here: only the embedded default needs it
    with _fake_lock:
        if _fake_server is None:
            _fake_server = fakeredis.FakeServer()
    return fakeredis.FakeRedis(server=_fake_server)


def init_app(app):
    """Keep the connection and queues in app.extensions['rq']."""
    connection = connection_from_config(app.config)
    is_async = app.config.get("RQ_ASYNC", True)
    queues = {name: rq.Queue(name, connection=connection, is_async=is_async,
                             default_timeout=app.config.get("RQ_JOB_TIMEOUT", 3600))
              for name in app.config["RQ_QUEUES"]}
    app.extensions["rq"] = {"connection": connection, "queues": queues}


def connection():
    """The Redis connection of the current app's queues."""
    return current_app.extensions["rq"]["connection"]


def get_queue(name="default"):
    """The named queue of the current app."""
    return current_app.extensions["rq"]["queues"][name]


def enqueue(dotted_path, *args, queue="default", **kwargs):
    """Enqueue a job by its dotted path so the worker imports it, not the web process's copy."""
    return get_queue(queue).enqueue(dotted_path, *args, **kwargs)


class ThreadWorker(rq.SimpleWorker):
    """An RQ worker that can run in a thread: no signal handlers, timer-based job timeouts."""

    death_penalty_class = TimerDeathPenalty
    flask_app = None

    def _install_signal_handlers(self):
        pass

    def perform_job(self, job, queue, *args, **kwargs):
        # Each job runs in a fresh context of the serving app (its config, its database).
        with self.flask_app.app_context():
            return super().perform_job(job, queue, *args, **kwargs)


def start_embedded_worker(app, threads=1):
    """Start worker threads over the app's queues; they stop with the process."""
    stop = threading.Event()
    queues = list(app.extensions["rq"]["queues"].values())

    def loop():
        worker = ThreadWorker(queues, connection=app.extensions["rq"]["connection"])
        worker.flask_app = app
        while not stop.is_set():
            try:
                worker.work(max_idle_time=1, with_scheduler=False, logging_level="WARNING")
            except Exception:  # keep the embedded worker alive; the job's own failure is recorded on its row
                log.exception("embedded worker loop failed; restarting")
                stop.wait(1)

    for index in range(threads):
        threading.Thread(target=loop, name=f"rq-embedded-{index}", daemon=True).start()
    return stop


# What the embedded ticker enqueues, and on which queue (production runs each from a timer: see README).
TICK_JOBS = (
    ("jobs.reconcile.reconcile", "reports"),  # dead tasks, lost or failed PDFs, due reports
    ("jobs.certificates.purge_stale_drafts", "default"),
)


def start_ticker(app, every=15):
    """Embedded default: every `every` seconds, enqueue the reconciler (tasks whose worker died, PDFs lost or
    due for a retry, the report sweep) and the purge of stale draft attachments (production runs
    `jobs reconcile` every minute and `certs purge-drafts` daily)."""
    def tick():
        while True:
            time.sleep(every)
            with app.app_context():
                try:
                    for dotted, queue in TICK_JOBS:
                        enqueue(dotted, queue=queue)
                except Exception:  # a missed tick is retried on the next one
                    app.logger.exception("background tick failed")
    threading.Thread(target=tick, name="background-ticker", daemon=True).start()
