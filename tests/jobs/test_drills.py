"""Fault drills (issue 18): an import runs on real `rq worker`s over PostgreSQL and a Redis of the drill's own;
something dies in the middle; the workers are kept alive as a supervisor would, the reconciler runs; the
end state must equal a run without faults — every valid row issued once, serials consecutive, every
certificate signed with a verifying PDF, every report delivered once, the task done with the right counts.

Needs PostgreSQL (TEST_DATABASE_URL) and redis-server; the storage drill also needs root (a tmpfs).
`make drill` runs them on 2,000 rows and prints the table; here they run on DRILL_ROWS (default 300).
"""
import os
import shutil
import subprocess
import threading
import time

import pytest
import sqlalchemy as sa

from portal.background.models import Task
from portal.background.reconcile import reconcile
from portal.certificates.models import Certificate
from portal.extensions import db
from portal.platform import reporting
from tests.conftest import TEST_DATABASE_URL, need_service
from tests.jobs.conftest import _shared_app
from tests.jobs.drills import ROWS, Drill, PostgresCluster, RedisServer, postgres_binaries

MID_IMPORT = dict(predicate=lambda state, issued, signed: state == "running" and 0 < issued < ROWS,
                  what="the import half done")
MID_SEALING = dict(predicate=lambda state, issued, signed: issued == ROWS and 0 < signed < ROWS * 0.7,
                   what="the PDFs half made")


@pytest.fixture
def drill(shared_app, platform_sim):
    need_service("PostgreSQL", bool(TEST_DATABASE_URL), "set TEST_DATABASE_URL (the drills run on PostgreSQL)")
    yield from _drill_world(shared_app, platform_sim)


def _drill_world(app, platform_sim):
    need_service("redis-server", bool(shutil.which("redis-server")), "install redis-server")
    server = RedisServer()
    world = Drill(app, server, platform_sim)
    yield world
    world.stop()
    server.stop()


@pytest.fixture
def own_postgres():
    """A PostgreSQL cluster of the drill's own, to stop and start (never the shared server)."""
    bin_dir = postgres_binaries()
    need_service("PostgreSQL server binaries (initdb, pg_ctl)", bin_dir is not None,
                 "install postgresql (CI does, see .ci/run) or set PG_BIN")
    cluster = PostgresCluster(bin_dir)
    yield cluster
    cluster.destroy()


@pytest.fixture
def drill_on_own_postgres(own_postgres, tmp_path, platform_config, platform_sim):
    """A drill whose workers, app and reconciler all use the drill's own cluster."""
    apps = _shared_app(tmp_path, platform_config, own_postgres.url)
    for world in _drill_world(next(apps), platform_sim):
        world.postgres = own_postgres
        yield world
    next(apps, None)  # dispose of the app's engine


def _done(state):
    assert state == state.expected(), f"expected {state.expected().line()}\n  observed {state.line()}"


def test_drill_sigkill_mid_import(drill):
    drill.start_import()
    drill.wait_for(**MID_IMPORT)
    fault = time.monotonic()
    drill.kill_workers()
    _done(drill.recover("SIGKILL worker mid-import", fault))


def test_drill_sigkill_mid_pdf_job(drill):
    drill.start_import()
    drill.wait_for(**MID_SEALING)
    fault = time.monotonic()
    drill.kill_workers()
    _done(drill.recover("SIGKILL worker mid-PDF-job", fault))


def test_drill_redis_flushed_mid_import(drill):
    drill.start_import()
    drill.wait_for(**MID_IMPORT)
    fault = time.monotonic()
    drill.redis.flushall()
    _done(drill.recover("Redis FLUSHALL mid-import", fault))


def test_drill_redis_flushed_mid_sealing(drill):
    drill.start_import()
    drill.wait_for(**MID_SEALING)
    fault = time.monotonic()
    drill.redis.flushall()
    _done(drill.recover("Redis FLUSHALL mid-sealing", fault))


def _redis_down_for(drill, seconds):
    drill.redis.stop()  # the busy workers exit on ConnectionError; the 'supervisor' restarts them …
    time.sleep(seconds)
    drill.redis.start()  # … and once Redis is back (empty: nothing was saved) they run again


def test_drill_redis_down_mid_import(drill):
    drill.start_import()
    drill.wait_for(**MID_IMPORT)
    fault = time.monotonic()
    _redis_down_for(drill, 5)
    _done(drill.recover("Redis down 5 s mid-import", fault))


def test_drill_redis_down_mid_sealing(drill):
    drill.start_import()
    drill.wait_for(**MID_SEALING)
    fault = time.monotonic()
    _redis_down_for(drill, 5)
    _done(drill.recover("Redis down 5 s mid-sealing", fault))


def test_drill_database_connections_terminated_mid_import(drill):
    drill.start_import()
    drill.wait_for(**MID_IMPORT)
    fault = time.monotonic()
    with drill.app.app_context():  # every connection to this drill's own database, the workers' included
        with db.engine.begin() as connection:
            connection.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                       "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        db.engine.dispose()
    _done(drill.recover("PostgreSQL connections terminated mid-import", fault))


def test_drill_postgresql_restarted_mid_import(drill_on_own_postgres):
    drill = drill_on_own_postgres
    drill.start_import()
    drill.wait_for(**MID_IMPORT)
    fault = time.monotonic()
    drill.postgres.stop()  # a crash: every connection cut, the workers', the heartbeats' and ours
    outage_ends = time.monotonic() + 12
    while time.monotonic() < outage_ends:
        drill.keep_workers()
        time.sleep(0.2)
    drill.postgres.start()
    _done(drill.recover("PostgreSQL stopped 12 s mid-import, restarted", fault))


def test_drill_platform_faults_every_report_delivered_once(drill):
    # Lost answers, 500s and dropped connections on the report interface while the import runs.
    drill.platform_sim.set_mode("lose_answer", times=2, endpoints=["accept"])
    drill.start_import()
    drill.wait_for(**MID_SEALING)
    fault = time.monotonic()
    drill.platform_sim.set_mode("error500", times=2, endpoints=["accept"])
    with drill.app.app_context():
        db.session.execute(sa.update(reporting.ReportOutbox).values(next_attempt_at=sa.func.now()))
        db.session.commit()
        reporting.send_due_reports()  # meets the faults
        db.session.execute(sa.update(reporting.ReportOutbox).where(reporting.ReportOutbox.state == "pending")
                           .values(next_attempt_at=sa.func.now()))  # skip the backoff: a drill, not a day
        db.session.commit()
    _done(drill.recover("platform: lost answers + HTTP 500 on reports", fault))


def test_drill_two_reconcilers_and_two_sweeps_at_once(drill):
    drill.start_import()
    drill.wait_for(predicate=lambda state, issued, signed: state == "done", what="the import done")
    drill.stop()
    drill.redis.flushall()  # every PDF job lost, and (for the drill) every PDF made so far too
    with drill.app.app_context():
        db.session.execute(sa.update(Task).where(Task.kind == "pdf").values(state="failed"))
        db.session.execute(sa.update(Certificate).values(
            pdf_state="pending", created_at=sa.func.now() - sa.text("interval '1 hour'")))
        db.session.commit()
    fault = time.monotonic()
    results, errors = [], []

    def run_one():
        try:
            with drill.app.app_context():
                results.append(reconcile())
                db.session.remove()
        except Exception as exc:  # pragma: no cover - shown by the assertion below
            errors.append(exc)
    threads = [threading.Thread(target=run_one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and sum(r.lost_seals for r in results) == ROWS  # queued once, not twice
    assert sorted(r.skipped for r in results) in ([False, True], [False, False])
    drill.supervise = True
    _done(drill.recover("two reconcilers + two sweeps at once", fault))


@pytest.fixture
def small_disk(drill, tmp_path):
    """STORAGE_DIR on a 3 MB tmpfs (root only); `grow()` frees space, as an operator would."""
    need_service("root (tmpfs mount)", os.geteuid() == 0 and bool(shutil.which("mount")))
    mount = tmp_path / "small-disk"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)]).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    storage_dir = mount / "storage"
    old = drill.app.config["STORAGE_DIR"]
    if os.path.isdir(old):
        shutil.copytree(old, storage_dir, dirs_exist_ok=True)
    storage_dir.mkdir(exist_ok=True)
    drill.app.config["STORAGE_DIR"] = drill.env["STORAGE_DIR"] = str(storage_dir)

    def grow():
        subprocess.run(["mount", "-o", "remount,size=256m", str(mount)], check=True)
    yield grow
    drill.stop()
    drill.app.config["STORAGE_DIR"] = old
    subprocess.run(["umount", "-l", str(mount)])


def test_drill_storage_full_then_freed(drill, small_disk):
    drill.start_import()
    drill.wait_for(predicate=lambda state, issued, signed: state == "done" and _failed_pdfs(drill) > 0,
                   timeout=180, what="PDFs failing on the full disk")
    with drill.app.app_context():
        reason = db.session.scalar(sa.select(Certificate.pdf_error).where(Certificate.pdf_state == "failed"))
    assert "存储空间不足" in reason and "自动重试" in reason
    fault = time.monotonic()
    small_disk()  # space returns: the retries succeed
    _done(drill.recover("storage full (3 MB tmpfs), then freed", fault))
    leftovers = [n for _, _, names in os.walk(drill.app.config["STORAGE_DIR"]) for n in names if n.startswith(".tmp-")]
    assert leftovers == []


def _failed_pdfs(drill):
    with drill.app.app_context():
        count = db.session.scalar(sa.select(sa.func.count(Certificate.id)).where(Certificate.pdf_state == "failed"))
        db.session.remove()
        return count
