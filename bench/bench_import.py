"""Benchmark of 批量导入 (issue 16): a 10,000-row × 12-person import checked and stored, then end to end.

Run: ``python bench/bench_import.py [--rows N] [--skip-e2e]``. The database is BENCH_DATABASE_URL, else
DATABASE_URL, else TEST_DATABASE_URL, else a fresh SQLite file; Redis is BENCH_REDIS_URL, else REDIS_URL (the
bench truncates that database's tables and empties the portal's queues in that Redis database). Every row is
valid and issuable for Taiyuan: unique 备案编号, 12 people a row, the 1108/1109/1113 people from the platform
simulator's registry (the lookup is cached per task).

1. check + store, in this process: the upload check (``start_import``: the zip checked, the workbook scanned
   and read once, each data sheet in a reader child of its own) and the import task (``run_import``: every
   row checked and issued, the PDFs only queued). Target ≥ 1,000 rows/s on PostgreSQL.
2. end to end (PostgreSQL + Redis): the same file uploaded into an empty database while two
   ``rq worker -w jobs.worker.PortalWorker default pdf reports`` processes run, until the task is done,
   every certificate's PDF is sealed and signed and every report is queued (its outbox row); then on until
   every OFD copy (made by 'ofd' tasks queued behind the PDF tasks) is sealed too, printed beside it. Targets: under
   5 minutes, worker peak RSS < 400 MB, and meanwhile the certificate list (GET /maintenance/crane as clerk,
   through the test client in this process) p95 < 300 ms.

Every stage prints its wall time and the CPU time it used: on a shared machine wall time is noisy, CPU time
says what the work costs. The render + seal + sign figures and the 1- vs 2-process ratio are bench_pdf.py's.
"""
from __future__ import annotations

import argparse
import logging
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from workload import build_zip  # noqa: E402  (bench/ is on sys.path as the script's folder)

TARGET_ROWS_PER_S = 1000
TARGET_E2E_S = 300
TARGET_RSS_MB = 400
TARGET_LIST_P95_MS = 300
WORKERS = 2


def _setup_environment(workdir: str) -> None:
    """Everything this process and the `rq worker` processes must share, set before portal loads."""
    database = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL") \
        or os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{os.path.join(workdir, 'bench.sqlite3')}"
    os.environ["DATABASE_URL"] = database
    redis = os.environ.get("BENCH_REDIS_URL") or os.environ.get("REDIS_URL")
    if redis:
        os.environ["REDIS_URL"] = redis
    os.environ["PORTAL_INSTANCE_PATH"] = workdir
    os.environ["STORAGE_DIR"] = os.path.join(workdir, "storage")
    os.environ["PKI_DIR"] = os.path.join(workdir, "pki")
    os.environ["PLATFORM_SIM_DATA_DIR"] = os.path.join(workdir, "platform_sim")
    os.environ["SECRET_KEY"] = "bench-import-secret"
    os.environ["SMS_OUTBOX_PATH"] = os.path.join(workdir, "sms.jsonl")


def _cpu(who=resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _verdict(ok: bool, below: str = "BELOW TARGET") -> str:
    return "OK" if ok else below


def _reset(app, db) -> None:
    import sqlalchemy as sa

    from portal.background.queues import get_queue
    from portal.cli import seed_demo
    db.session.remove()  # no transaction of this process may hold a table the TRUNCATE waits for
    db.create_all()
    if db.engine.dialect.name == "postgresql":
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        with db.engine.begin() as connection:
            connection.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    else:
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
    if app.config.get("REDIS_URL"):
        for name in app.config["RQ_QUEUES"]:
            get_queue(name).empty()
    seed_demo()


def check_and_store(app, db, path: str) -> bool:
    """Phase 1: the upload check and the import task in this process; prints rows/s beside the target."""
    from portal.auth.models import User
    from portal.imports.services import run_import, start_import
    from portal.standard import isolation
    clerk = db.session.scalar(db.select(User).filter_by(username="clerk"))
    data = open(path, "rb").read()
    # A serving process starts the reader's forkserver at its first upload, once: started now and timed
    # apart, so that the upload figure is what every upload costs
    wall = time.perf_counter()
    isolation.run_in_child(os.getpid, memory_bytes=1 << 30, timeout=60)
    print(f"  the reader's forkserver started (once a process, at its first upload): {time.perf_counter() - wall:.1f} s")
    readers = ReaderChildren()
    logging.getLogger(isolation.__name__).addHandler(readers)
    wall, cpu = time.perf_counter(), _cpu()
    task = start_import(clerk, os.path.basename(path), data, enqueue=False)
    upload_wall, upload_cpu = time.perf_counter() - wall, _cpu() - cpu
    logging.getLogger(isolation.__name__).removeHandler(readers)
    wall, cpu = time.perf_counter(), _cpu()
    result = run_import(task.id)
    run_wall, run_cpu = time.perf_counter() - wall, _cpu() - cpu
    total_wall = upload_wall + run_wall
    total_cpu = upload_cpu + sum(readers.cpu) + run_cpu
    print(f"  upload check (zip checks; each data sheet scanned + read once, in a reader child of its own, side by "
          f"side): wall {upload_wall:.1f} s; CPU {upload_cpu:.1f} s here + "
          f"{' + '.join(f'{c:.1f}' for c in readers.cpu)} s in the readers (peak RSS "
          f"{' and '.join(f'{p:.0f}' for p in readers.peaks)} MB)")
    print(f"  import task (rows checked, numbered, stored; PDFs queued): {result.succeeded} ok, {result.failed} failed "
          f"of {result.total}; wall {run_wall:.1f} s, CPU {run_cpu:.1f} s")
    wall_rate, cpu_rate = result.total / total_wall, result.total / total_cpu
    print(f"  check + store: {wall_rate:,.0f} rows/s by wall time, {cpu_rate:,.0f} rows/s by CPU time "
          f"(target ≥ {TARGET_ROWS_PER_S:,} on PostgreSQL) {_verdict(wall_rate >= TARGET_ROWS_PER_S)}"
          f"{'' if db.engine.dialect.name == 'postgresql' else ' [SQLite: not the target database]'}")
    print(f"  this process's peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    if result.failed:
        print(f"error: {result.failed} rows failed; see {result.failure_report}")
    return not result.failed


class ListLoad(threading.Thread):
    """The certificate list, asked again and again by a logged-in clerk while the import runs."""

    def __init__(self, app, pause: float = 0.25):
        super().__init__(daemon=True)
        from tests.conftest import Auth
        app.config["WTF_CSRF_ENABLED"] = False  # the test client's login posts carry no token; GETs need none
        self.client = app.test_client()
        Auth(app, self.client).login("clerk")
        self.pause, self.times, self.errors = pause, [], 0
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            start = time.perf_counter()
            response = self.client.get("/maintenance/crane")
            self.times.append(time.perf_counter() - start)
            self.errors += response.status_code != 200
            self.stopping.wait(self.pause)

    def p95_ms(self) -> float:
        return statistics.quantiles(self.times, n=20)[-1] * 1000 if len(self.times) >= 2 else float("nan")


def _start_workers(app) -> list[subprocess.Popen]:
    from redis import Redis
    from rq import Worker
    rq = os.path.join(os.path.dirname(sys.executable), "rq")
    procs = [subprocess.Popen([rq, "worker", "-w", "jobs.worker.PortalWorker", "-u", app.config["REDIS_URL"],
                               *app.config["RQ_QUEUES"], "--logging_level", "WARNING"], cwd=ROOT)
             for _ in range(WORKERS)]
    connection = Redis.from_url(app.config["REDIS_URL"])
    deadline = time.monotonic() + 120
    while Worker.count(connection=connection) < WORKERS:  # registered after their warm-up
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            raise RuntimeError("the rq workers did not start")
        time.sleep(0.5)
    return procs


def _stop_workers(procs) -> None:
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def end_to_end(app, db, path: str, timeout: float) -> bool:
    """Phase 2: upload → two rq workers → every PDF signed, every report queued; prints each figure."""
    from portal.auth.models import User
    from portal.background.models import Task
    from portal.certificates.models import Certificate
    from portal.imports.services import start_import
    from portal.platform.models import ReportOutbox
    cpu_before = _cpu(resource.RUSAGE_CHILDREN)
    procs = _start_workers(app)
    load = None
    try:
        load = ListLoad(app)
        clerk = db.session.scalar(db.select(User).filter_by(username="clerk"))
        data = open(path, "rb").read()
        load.start()
        start = time.perf_counter()
        task_id = start_import(clerk, os.path.basename(path), data).id
        upload = time.perf_counter() - start
        count = lambda query: db.session.scalar(db.select(db.func.count()).select_from(query))  # noqa: E731
        # The figure: until the task is done, every PDF signed and every report queued. The OFD copies are
        # made by 'ofd' tasks queued behind the PDF tasks; the run goes on until they are all sealed too.
        done, elapsed, ofd_elapsed = False, None, float("nan")
        while time.perf_counter() - start < timeout:
            db.session.remove()  # a fresh snapshot each look
            task = db.session.get(Task, task_id)
            signed = count(db.select(Certificate.id).where(Certificate.pdf_state == "signed").subquery())
            queued = count(db.select(ReportOutbox.id).where(ReportOutbox.operation == "issue").subquery())
            ofds = count(db.select(Certificate.id).where(Certificate.ofd_state == "signed").subquery())
            if elapsed is None and task.state in ("done", "failed") and signed >= task.succeeded \
                    and queued >= task.succeeded:
                done, elapsed = task.state == "done", time.perf_counter() - start
                if not done:
                    break
            if elapsed is not None and ofds >= task.succeeded:
                ofd_elapsed = time.perf_counter() - start
                break
            time.sleep(1)
        if elapsed is None:
            elapsed = time.perf_counter() - start
        sent = count(db.select(ReportOutbox.id).where(ReportOutbox.state == "delivered").subquery())
        import_seconds = (task.finished_at - task.started_at).total_seconds() if task.finished_at else float("nan")
    finally:  # whatever happened, no worker of this run outlives it
        if load is not None:
            load.stopping.set()
            load.join(30)
        _stop_workers(procs)
    workers_cpu = _cpu(resource.RUSAGE_CHILDREN) - cpu_before
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"  upload request (web): {upload:.1f} s; import task (check + store in a worker, beside the sealing): "
          f"{import_seconds:.1f} s = {task.succeeded / import_seconds:,.0f} rows/s")
    print(f"  {task.succeeded:,} issued, {signed:,} PDFs sealed and signed, {queued:,} reports queued "
          f"({sent:,} already sent to the simulator); task {task.state}")
    print(f"  end to end with {WORKERS} rq workers: {elapsed:.0f} s (target < {TARGET_E2E_S} s) "
          f"{_verdict(done and elapsed < TARGET_E2E_S, 'ABOVE TARGET' if done else 'NOT FINISHED')}; "
          f"workers' CPU {workers_cpu:.0f} s ({1000 * workers_cpu / max(task.succeeded, 1):.0f} ms a certificate, "
          f"OFD copies included)")
    print(f"  and every OFD copy sealed too ({ofds:,}): {ofd_elapsed:.0f} s after the upload")
    print(f"  worker peak RSS {peak:.0f} MB (target < {TARGET_RSS_MB}) {_verdict(peak < TARGET_RSS_MB, 'ABOVE TARGET')}")
    p95 = load.p95_ms()
    print(f"  certificate list during the import: {len(load.times)} requests, {load.errors} not 200, "
          f"median {statistics.median(load.times) * 1000:.0f} ms, p95 {p95:.0f} ms (target < {TARGET_LIST_P95_MS}) "
          f"{_verdict(p95 < TARGET_LIST_P95_MS and not load.errors, 'ABOVE TARGET')}")
    return done


class ReaderChildren(logging.Handler):
    """The CPU seconds and peak RSS (MB) of each reader child, as portal.standard.isolation logs them."""

    def __init__(self):
        super().__init__()
        self.cpu, self.peaks = [], []

    def emit(self, record):
        if record.msg.startswith("%s ran in a child process"):  # (function, seconds, CPU seconds, peak MB)
            self.cpu.append(record.args[2])
            self.peaks.append(record.args[3])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--skip-e2e", action="store_true", help="only the check + store phase")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds the end-to-end phase may take")
    args = ap.parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="bench_import_")
    _setup_environment(workdir)
    path = os.path.join(tempfile.gettempdir(), f"bench_import_{args.rows}.zip")
    if not os.path.exists(path):
        t = time.perf_counter()
        build_zip(path, args.rows, platform_people=True)
        print(f"generated {path} ({os.path.getsize(path) / 1e6:.1f} MB) in {time.perf_counter() - t:.1f} s")

    from portal import create_app
    from portal.extensions import db
    app = create_app()
    redis = app.config.get("REDIS_URL")
    print(f"database: {app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]}; "
          f"queues: {'Redis ' + redis if redis else 'in-process (fakeredis)'}; {args.rows:,} rows × 12 persons; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with app.app_context():
        _reset(app, db)
        print("1. check + store")
        ok = check_and_store(app, db, path)
        if args.skip_e2e or not ok:
            return 0 if ok else 1
        if not redis or db.engine.dialect.name != "postgresql":
            print("2. end to end: needs PostgreSQL and Redis (BENCH_DATABASE_URL / BENCH_REDIS_URL): not run")
            return 0
        _reset(app, db)
        print(f"2. end to end (load average {os.getloadavg()[0]:.1f})")
        ok = end_to_end(app, db, path, args.timeout)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
