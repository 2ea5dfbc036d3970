"""The harness of the fault drills: a throwaway Redis server, real `rq worker` processes kept alive the way a
supervisor keeps them (restarted when they exit), the reconciler run every second, and the end state read by
SQL and compared with a run without faults.

Each drill records one line — expected vs observed and the seconds from the fault to the end state — in
RESULTS; `make drill` (DRILL_ROWS=2000) prints them as a table at the end of the session.
"""
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import redis
import sqlalchemy as sa

from portal.auth.models import User
from portal.background import queues
from portal.background.models import ACTIVE_STATES, Task
from portal.background.reconcile import reconcile
from portal.certificates import keys
from portal.certificates.documents import read_signed_pdf
from portal.certificates.models import Certificate
from portal.certificates.signature_check import verify_certificate_pdf
from portal.extensions import db
from portal.platform.models import ReportOutbox
from tests.imports.helpers import import_zip, valid_rows
from tests.jobs.test_worker_restart import _descendants, _worker_env

ROWS = int(os.environ.get("DRILL_ROWS", "300"))
DEBUG = bool(os.environ.get("DRILL_DEBUG"))
RECOVERY_TIMEOUT = float(os.environ.get("DRILL_TIMEOUT", "240"))
RESULTS = []  # (drill, expected EndState, observed EndState, seconds to recover)
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Short windows so that a drill recovers in seconds; production keeps the defaults (portal/config.py).
FAST_UPKEEP = {"TASK_STALE_SECONDS": 3, "TASK_HEARTBEAT_SECONDS": 0.5, "PDF_PENDING_SECONDS": 3,
               "SEAL_RETRY_SECONDS": 1, "TASK_RETRY_SECONDS": 1, "REPORT_CLAIM_SECONDS": 5,
               # an import of ROWS rows in some 15 transactions, as 10,000 rows are in 40: a fault «mid-import»
               # has commit points on both sides of it (two batches of 300 rows went by between two looks)
               "IMPORT_BATCH_ROWS": max(10, ROWS // 15)}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A redis-server of the drill's own on a free port: stopped, started and flushed at will."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None
        self.start()

    def start(self):
        self.process = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(self.port),
                                         "--save", "", "--appendonly", "no"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis.from_url(self.url, socket_connect_timeout=0.2).ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def flushall(self):
        redis.Redis.from_url(self.url).flushall()


def postgres_binaries():
    """The directory of initdb and pg_ctl (PG_BIN, else the newest /usr/lib/postgresql/*/bin), or None."""
    candidates = [os.environ["PG_BIN"]] if os.environ.get("PG_BIN") else sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda path: int(path.split("/")[-2]))
    found = [path for path in candidates if os.path.exists(os.path.join(path, "pg_ctl"))]
    return found[-1] if found else None


class PostgresCluster:
    """A throwaway PostgreSQL cluster of the drill's own (initdb, pg_ctl, a free port, fsync off): stopped and
    started at will, never the shared server. Run as the postgres user when we are root (initdb refuses
    root)."""

    def __init__(self, bin_dir):
        self.bin_dir, self.port = bin_dir, free_port()
        self.dir = tempfile.mkdtemp(prefix="drill-pg-")  # not under pytest's tmp_path: root-only directories
        self.data = os.path.join(self.dir, "data")
        self._as = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", self.data, "-U", "portal", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "portal", "drill")
        self.url = f"postgresql+psycopg2://portal@127.0.0.1:{self.port}/drill"

    def _run(self, program, *args):
        subprocess.run(self._as + [os.path.join(self.bin_dir, program), *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self):
        self._run("pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "log"), "-w", "-t", "60", "-o",
                  f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off "
                  "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100", "start")

    def stop(self, mode="immediate"):
        """Stop the server: 'immediate' is a crash (no checkpoint, every connection cut)."""
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def destroy(self):
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # not running
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass
class EndState:
    """What the drill ends with, read by SQL (and the PDFs by their signature)."""
    rows: int
    issued: int
    distinct_rows: int
    serials_consecutive: bool
    signed: int
    verified: int
    delivered_once: int
    task: tuple  # (state, done, succeeded, failed)
    unfinished_tasks: int

    def expected(self):
        return EndState(self.rows, self.rows, self.rows, True, self.rows, self.rows, self.rows,
                        ("done", self.rows, self.rows, 0), 0)

    def cells(self):
        """The table's columns (results_table): counts, then the task's state/done/succeeded/failed."""
        return {"issued": self.issued, "rows once": self.distinct_rows,
                "serials": "consecutive" if self.serials_consecutive else "GAPS", "signed": self.signed,
                "PDF verified": self.verified, "reported once": self.delivered_once,
                "task state/done/ok/failed": "/".join(map(str, self.task)),
                "unfinished tasks": self.unfinished_tasks}

    def line(self):
        return (f"issued {self.issued}/{self.rows}, rows once {self.distinct_rows}, "
                f"serials {'consecutive' if self.serials_consecutive else 'GAPS'}, signed {self.signed}, "
                f"verified {self.verified}, reported once {self.delivered_once}, task {'/'.join(map(str, self.task))}, "
                f"unfinished tasks {self.unfinished_tasks}")


class Drill:
    """One drill's world: the app on the shared database, its own Redis, workers under a 'supervisor'."""

    def __init__(self, app, redis_server, platform_sim):
        self.app, self.redis, self.platform_sim = app, redis_server, platform_sim
        app.config.update(REDIS_URL=redis_server.url, RQ_ASYNC=True, **FAST_UPKEEP)
        queues.init_app(app)
        self.env = dict(_worker_env(app, redis_server.url), **{k: str(v) for k, v in FAST_UPKEEP.items()})
        self.workers = []
        self._log = open(os.environ.get("DRILL_WORKER_LOG", os.devnull), "ab")
        self.supervise = True
        self.task_id = None

    # --- workers

    def start_worker(self):
        rq = os.path.join(os.path.dirname(sys.executable), "rq")
        worker = subprocess.Popen(
            [rq, "worker", "-w", "jobs.worker.PortalWorker", "-u", self.redis.url, "--with-scheduler",
             "--logging_level", "WARNING", "default", "pdf", "reports"],
            env=self.env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=self._log)
        self.workers.append(worker)
        return worker

    def keep_workers(self, count=2):
        """What systemd's Restart=always does: a worker that exited is started again."""
        self.workers = [w for w in self.workers if w.poll() is None]
        while self.supervise and len(self.workers) < count:
            self.start_worker()

    def kill_workers(self):
        """SIGKILL every worker and work horse, as when their machine dies."""
        for worker in self.workers:
            for pid in [worker.pid] + _descendants(worker.pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for worker in self.workers:
            worker.wait(timeout=10)
        self.workers = []

    def stop(self):
        self.supervise = False
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
        self.workers = []

    # --- the work and its end state

    def start_import(self, rows=ROWS):
        from portal.imports.services import start_import
        with self.app.app_context():
            clerk = db.session.scalar(db.select(User).filter_by(username="clerk"))
            self.task_id = start_import(clerk, "演练.zip", import_zip(valid_rows(count=rows))).id
            self.rows = rows
        return self.task_id

    def counts(self):
        """(import task state, certificates issued, signed) now."""
        with self.app.app_context():
            db.session.expire_all()
            state = db.session.get(Task, self.task_id).state
            issued, signed = db.session.execute(sa.select(
                sa.func.count(Certificate.id),
                sa.func.count(Certificate.id).filter(Certificate.pdf_state == "signed"))).one()
            db.session.remove()
            return state, issued, signed

    def wait_for(self, predicate, timeout=120, what="the moment of the fault"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.keep_workers()
            state, issued, signed = self.counts()
            if predicate(state, issued, signed):
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}: {self.counts()}")

    def end_state(self, verify=True):
        with self.app.app_context():
            db.session.expire_all()
            task = db.session.get(Task, self.task_id)
            certs = db.session.scalars(sa.select(Certificate).where(Certificate.import_task_id == self.task_id)
                                       .order_by(Certificate.serial)).all()
            serials = [c.serial for c in certs]
            signed = [c for c in certs if c.pdf_state == "signed"]
            verified = 0
            if verify and len(signed) == len(certs) == self.rows:
                roots = keys.trust_roots()
                verified = sum(verify_certificate_pdf(read_signed_pdf(c), roots).valid for c in signed)
            counts = self.platform_sim.reports()["counts"]
            delivered = db.session.scalar(sa.select(sa.func.count(ReportOutbox.id)).where(
                ReportOutbox.state == "delivered"))
            once = sum(1 for c in certs if counts.get(c.ecert_id) == 1) if delivered == len(certs) else 0
            unfinished = db.session.scalar(sa.select(sa.func.count(Task.id)).where(
                Task.state.in_(ACTIVE_STATES)))
            state = EndState(self.rows, len(certs), len({c.import_row_key for c in certs}),
                             serials == list(range(serials[0], serials[0] + len(serials))) if serials else False,
                             len(signed), verified, once, (task.state, task.done, task.succeeded, task.failed),
                             unfinished)
            db.session.remove()
            return state

    def recover(self, name, since):
        """Run the reconciler every second (workers kept alive) until the end state equals a run without
        faults; record the drill's line and return its end state."""
        deadline = time.monotonic() + RECOVERY_TIMEOUT
        state = None
        while time.monotonic() < deadline:
            self.keep_workers()
            with self.app.app_context():
                result = reconcile()
                if DEBUG:
                    print(name, result, [w.poll() for w in self.workers], self.counts(), flush=True)
                db.session.remove()
            state = self.end_state(verify=False)
            if state == _unverified(state.expected()):
                state = self.end_state()
                if state == state.expected():
                    break
            time.sleep(1)
        if DEBUG and state != state.expected():
            with self.app.app_context():
                print("outbox:", db.session.execute(sa.select(ReportOutbox.state, ReportOutbox.last_error,
                      sa.func.count()).group_by(ReportOutbox.state, ReportOutbox.last_error)).all(), flush=True)
                print("sim:", sorted(set(self.platform_sim.reports()["counts"].values())), flush=True)
        RESULTS.append((name, state.expected(), state, time.monotonic() - since))
        return state


def _unverified(expected):
    expected.verified = 0
    return expected


def results_table():
    """RESULTS as one table: per drill, each count observed/expected (other columns: observed, '≠ expected'
    where they differ), the seconds from the fault to the end state, and OK or BAD."""
    if not RESULTS:
        return []
    columns = list(RESULTS[0][1].cells())
    rows = []
    for name, expected, observed, seconds in RESULTS:
        want, got = expected.cells(), observed.cells()
        rows.append([name] + [_versus(got[c], want[c]) for c in columns]
                    + [f"{seconds:.1f}", "OK" if observed == expected else "BAD"])
    header = ["drill"] + columns + ["recovered in s", "verdict"]
    widths = [max(len(str(row[i])) for row in rows + [header]) for i in range(len(header))]

    def line(cells):
        return " | ".join(str(cell).ljust(width) for cell, width in zip(cells, widths)).rstrip()
    return ([f"Fault drills, {ROWS}-row import: the end state per drill, observed/expected (expected: a run "
             "without faults), and the seconds from the fault to that state", line(header),
             "-+-".join("-" * w for w in widths)] + [line(row) for row in rows])


def _versus(observed, expected):
    if isinstance(expected, int):
        return f"{observed}/{expected}"
    return f"{observed}" if observed == expected else f"{observed} ≠ {expected}"
