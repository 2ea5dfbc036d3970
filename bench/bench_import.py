"""Benchmark of 批量导入: check + store a 10,000-row import, then seal every PDF with 1 and 2 workers.

Run: ``python bench/bench_import.py [--rows N] [--skip-pdf]``. Uses DATABASE_URL when set (PostgreSQL), else a
fresh SQLite file; REDIS_URL when set (PDFs sealed by ``rq worker --burst pdf`` processes), else a process
pool over the same seal job. Every row is valid and issuable for Taiyuan: unique 备案编号, 12 people a row,
the 1108/1109/1113 people from the platform simulator's registry (the lookup is cached per task).
Targets: ≥ 500 rows/s checked + stored on PostgreSQL; 2 workers ≥ 1.7× one; worker peak RSS < 400 MB.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from workload import build_zip  # noqa: E402  (bench/ is on sys.path as the script's folder)


def _setup_environment(workdir: str) -> None:
    """Everything the web process, the pool and `rq worker` processes must share, set before portal loads."""
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{os.path.join(workdir, 'bench.sqlite3')}")
    os.environ["PORTAL_INSTANCE_PATH"] = workdir
    os.environ["STORAGE_DIR"] = os.path.join(workdir, "storage")
    os.environ["PKI_DIR"] = os.path.join(workdir, "pki")
    os.environ["PLATFORM_SIM_DATA_DIR"] = os.path.join(workdir, "platform_sim")
    os.environ["SECRET_KEY"] = "bench-import-secret"
    os.environ["SMS_OUTBOX_PATH"] = os.path.join(workdir, "sms.jsonl")


def _rss_mb(usage) -> float:
    return usage.ru_maxrss / 1024  # Linux: kilobytes


def _reset_database(db):
    import sqlalchemy as sa
    db.create_all()
    if db.engine.dialect.name == "postgresql":
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        with db.engine.begin() as connection:
            connection.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


# ------------------------------------------------------------------------------------------- PDF workers
def _pool_init() -> None:
    from jobs._runtime import app
    from portal.certificates import keys
    with app().app_context():
        keys.signer_for("11140100MB0000002K")  # key loaded and cached before the clock starts


def _pool_seal(ids: list[int]) -> int:
    from jobs._runtime import app_context
    from portal.certificates.documents import seal_certificate
    with app_context():
        for certificate_id in ids:
            seal_certificate(certificate_id)
    return len(ids)


def _pool_warm(_: int) -> int:
    return os.getpid()


def _reset_pdfs(db, Certificate, sample: int) -> list[list[int]]:
    ids = db.session.scalars(db.select(Certificate.id).order_by(Certificate.id)).all()
    ids = ids[:sample] if sample else ids
    db.session.execute(db.update(Certificate).where(Certificate.id.in_(ids))
                       .values(pdf_state="pending", pdf_path=None, pdf_error=None))
    db.session.commit()
    size = max(1, min(50, len(ids) // 16))  # chunks of 50 as the importer queues them; smaller on small runs
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def seal_with_pool(workers: int, chunks: list[list[int]]) -> tuple[float, float]:
    ctx = mp.get_context("spawn")
    with ctx.Pool(workers, initializer=_pool_init) as pool:
        pool.map(_pool_warm, range(workers * 4), chunksize=1)
        t = time.perf_counter()
        pool.map(_pool_seal, chunks, chunksize=1)
        elapsed = time.perf_counter() - t
    return elapsed, _rss_mb(resource.getrusage(resource.RUSAGE_CHILDREN))


def seal_with_rq(workers: int, chunks: list[list[int]], app) -> tuple[float, float]:
    from portal.background.queues import get_queue
    from portal.certificates.documents import queue_seals
    with app.app_context():
        get_queue("pdf").empty()
        queue_seals([i for chunk in chunks for i in chunk], chunk=len(chunks[0]))  # the importer's own 'pdf' tasks
    rq = os.path.join(os.path.dirname(sys.executable), "rq")
    t = time.perf_counter()
    procs = [subprocess.Popen([rq, "worker", "-w", "jobs.worker.PortalWorker", "--burst", "-u", os.environ["REDIS_URL"], "pdf",
                               "--logging_level", "WARNING"],
                              cwd=ROOT) for _ in range(workers)]
    for p in procs:
        p.wait()
    elapsed = time.perf_counter() - t
    return elapsed, _rss_mb(resource.getrusage(resource.RUSAGE_CHILDREN))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--skip-pdf", action="store_true", help="only the check + store phase")
    ap.add_argument("--pdf-sample", type=int, default=400,
                    help="certificates sealed for the 1-vs-2-worker comparison (all of them: 0); sealing all "
                         "10,000 once per worker count would take half an hour on this machine")
    args = ap.parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="bench_import_")
    _setup_environment(workdir)

    path = os.path.join(tempfile.gettempdir(), f"bench_import_{args.rows}.zip")
    if not os.path.exists(path):
        t = time.perf_counter()
        build_zip(path, args.rows, platform_people=True)
        print(f"generated {path} ({os.path.getsize(path) / 1e6:.1f} MB) in {time.perf_counter() - t:.1f} s")

    from portal import create_app
    from portal.auth.models import User
    from portal.certificates.models import Certificate
    from portal.cli import seed_demo
    from portal.extensions import db
    from portal.imports.services import run_import, start_import
    app = create_app()
    print(f"database: {app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]}; "
          f"queues: {'Redis ' + app.config['REDIS_URL'] if app.config.get('REDIS_URL') else 'in-process (fakeredis)'}")
    with app.app_context():
        _reset_database(db)
        seed_demo()
        clerk = db.session.scalar(db.select(User).filter_by(username="clerk"))
        data = open(path, "rb").read()
        rss_before = _rss_mb(resource.getrusage(resource.RUSAGE_SELF))
        t = time.perf_counter()
        task = start_import(clerk, os.path.basename(path), data, enqueue=False)
        t_upload = time.perf_counter() - t
        result = run_import(task.id)
        elapsed = time.perf_counter() - t
        rss = _rss_mb(resource.getrusage(resource.RUSAGE_SELF))
        rate = result.total / elapsed
        print(f"upload check + store: {t_upload:.2f} s; check + issue (numbers assigned): {result.succeeded} ok, "
              f"{result.failed} failed of {result.total} in {elapsed:.1f} s = {rate:,.0f} rows/s "
              f"(target ≥ 500 on PostgreSQL) {'OK' if rate >= 500 else 'BELOW TARGET'}")
        print(f"import process peak RSS {rss:.0f} MB (before the import {rss_before:.0f} MB)")
        if result.failed:
            print(f"error: {result.failed} rows failed; see {result.failure_report}")
            return 1
        if args.skip_pdf:
            return 0
        seal = (lambda n, c: seal_with_rq(n, c, app)) if app.config.get("REDIS_URL") else seal_with_pool
        times = {}
        for workers in (1, 2):
            chunks = _reset_pdfs(db, Certificate, args.pdf_sample)
            sample = sum(len(c) for c in chunks)
            db.session.remove()
            elapsed, peak = seal(workers, chunks)
            signed = db.session.scalar(db.select(db.func.count()).select_from(Certificate)
                                       .where(Certificate.pdf_state == "signed"))
            times[workers] = elapsed
            print(f"PDF render + sign with {workers} worker(s): {signed}/{sample} signed in {elapsed:.1f} s = "
                  f"{signed / elapsed:,.1f} PDFs/s; worker peak RSS {peak:.0f} MB (target < 400) "
                  f"{'OK' if peak < 400 else 'ABOVE TARGET'}")
        speedup = times[1] / times[2]
        print(f"2 workers vs 1: {speedup:.2f}× (target ≥ 1.7) {'OK' if speedup >= 1.7 else 'BELOW TARGET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
