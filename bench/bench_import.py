"""Benchmark of 批量导入: check + store a 10,000-row import, then seal every PDF with 1 and 2 workers.

Run: ``python bench/bench_import.py [--rows N] [--skip-pdf]``. Uses DATABASE_URL when set (PostgreSQL), else a
fresh SQLite file; REDIS_URL when set (PDFs sealed by ``rq worker --burst pdf`` processes), else a process
pool over the same seal job. Every row is valid and issuable for Taiyuan: unique 备案编号, 12 people a row,
the 1108/1109/1113 people from the platform simulator's registry (the lookup is cached per task).
Targets: ≥ 500 rows/s checked + stored on PostgreSQL; 2 workers ≥ 1.7× one; worker peak RSS < 400 MB.
"""
from __future__ import annotations

import argparse
import io
import multiprocessing as mp
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

CODES = ("1101", "1102", "1103", "1104", "1105", "1106", "1107", "1108", "1109", "1113", "1110", "1111")
PLATFORM_PEOPLE = {  # seeded in the simulator's registry (tests/factories.py)
    "1108": {"name": "王建国", "id_number": "140105198503126233", "cert_no": "晋A042023000277"},
    "1109": {"name": "李志强", "id_number": "140105198207213439", "cert_no": "晋A052022000837"},
    "1113": {"name": "张海军", "id_number": "140106197911054170", "cert_no": "晋A092023000838"},
}


def _setup_environment(workdir: str) -> None:
    """Everything the web process, the pool and `rq worker` processes must share, set before portal loads."""
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{os.path.join(workdir, 'bench.sqlite3')}")
    os.environ["PORTAL_INSTANCE_PATH"] = workdir
    os.environ["STORAGE_DIR"] = os.path.join(workdir, "storage")
    os.environ["PKI_DIR"] = os.path.join(workdir, "pki")
    os.environ["PLATFORM_SIM_DATA_DIR"] = os.path.join(workdir, "platform_sim")
    os.environ["SECRET_KEY"] = "bench-import-secret"
    os.environ["SMS_OUTBOX_PATH"] = os.path.join(workdir, "sms.jsonl")


def _id(n: int) -> str:
    from portal.standard.values import IdNumber
    body = f"140105{1960 + n % 40}{1 + n % 12:02d}{1 + n % 28:02d}{n % 1000:03d}"
    return body + IdNumber.check_digit(body)


def _uscc(n: int) -> str:
    from portal.standard.values import Uscc
    body = f"91140105MA{n:07d}"
    return body + Uscc.check_char(body)


def make_row(i: int) -> tuple[dict, list[dict]]:
    """Row i: a valid Taiyuan tower crane, 备案编号 晋AA-T{i+1}, 12 persons (platform people where R9 asks)."""
    cert = {
        "holder_name": f"山西测试建筑工程有限公司{i % 50}", "holder_uscc": _uscc(i % 50),
        "authority_name": "太原市住房和城乡建设局", "authority_uscc": "11140100MB0000002K", "issue_date": "2025-06-01",
        "valid_until": "", "crane_type": "T", "model": "QTZ80(TC6010)", "record_number": f"晋AA-T{i + 1:05d}",
        "manufacturer": "测试建筑机械有限公司", "serial_number": f"TC-{i:06d}", "manufacture_date": "2021-03-15",
        "owner_name": "山西测试机械租赁有限公司", "owner_uscc": _uscc(100 + i % 50),
        "installer_name": "山西测试设备安装有限公司", "installer_uscc": _uscc(200 + i % 50),
        "supervision_name": "山西测试工程监理有限公司", "supervision_uscc": _uscc(300 + i % 50),
        "contractor_name": "", "contractor_uscc": "", "project_name": f"测试工程{i}",
        "project_address": "山西省太原市小店区测试路 1 号", "project_division": "140105",
        "location": f"112.{5000 + i % 4000:04d},37.8570", "permit_number": "140105202501150101",
        "tower_jib_length": "60", "tower_max_load": "6", "tower_max_height": "100", "tower_tip_load": "1.3",
        "hoist_rated_load": "", "hoist_rated_speed": "", "lift_rated_load": "", "lift_rated_speed": "",
        "attachments": "",
    }
    persons = []
    for k, code in enumerate(CODES):
        person = {"type_code": code, "name": f"人员{i}-{k}", "id_number": _id(i * 12 + k),
                  "cert_no": f"晋A01{i:06d}{k:02d}" if code in ("1108", "1109", "1113") else "", "phone": "13800000000"}
        person.update(PLATFORM_PEOPLE.get(code, {}))
        persons.append(person)
    return cert, persons


def build_zip(path: str, rows: int) -> None:
    from openpyxl import Workbook

    from portal.standard.fields import PERSON_FIELDS
    from portal.standard.workbook import CERT_COLUMNS, CERT_HEADERS, PERSON_HEADERS, TEMPLATE_XLSX_NAME
    wb = Workbook(write_only=True)
    cs, ps = wb.create_sheet("证照信息"), wb.create_sheet("人员信息")
    cs.append(list(CERT_HEADERS))
    ps.append(list(PERSON_HEADERS))
    for i in range(rows):
        cert, persons = make_row(i)
        seq = i + 2
        cs.append([seq] + [cert.get(f.key, "") for f in CERT_COLUMNS[1:]])
        for p in persons:
            ps.append([seq] + [p[f.key] for f in PERSON_FIELDS])
    buf = io.BytesIO()
    wb.save(buf)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(TEMPLATE_XLSX_NAME, buf.getvalue())
        zf.writestr("附件/", b"")


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
    from jobs.certificates import seal_certificates
    seal_certificates(ids)
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
    from portal.queue import get_queue
    with app.app_context():
        queue = get_queue("pdf")
        queue.empty()
        for chunk in chunks:
            queue.enqueue("jobs.certificates.seal_certificates", chunk)
    rq = os.path.join(os.path.dirname(sys.executable), "rq")
    t = time.perf_counter()
    procs = [subprocess.Popen([rq, "worker", "--burst", "-u", os.environ["REDIS_URL"], "pdf", "--logging_level", "WARNING"],
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
        build_zip(path, args.rows)
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
