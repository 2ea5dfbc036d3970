"""证照维护 导出 at scale: 100,000 certificates written to .xlsx through the real export, time and memory.

    python bench/bench_export.py                 # SQLite in a temporary file
    DATABASE_URL=postgresql+psycopg2://… python bench/bench_export.py   # a scratch schema `bench_export`

Fills the certificates table (Python executemany, the same on both databases), then runs
maintenance.services.export_sheet (a server-side cursor on PostgreSQL, yield_per batches) through
xlsx_export.workbook_chunks (the bytes the response streams) as an admin would, and reports the wall and
CPU time, the size, and — in a second run under tracemalloc — the peak of the Python heap while exporting.
Targets: 100,000 rows in under 30 s (a web worker's timeout), peak memory under 50 MB (bounded: the same
at 10,000 rows as at 100,000).
"""
import argparse
import os
import shutil
import sys
import tempfile
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from portal.standard.license_id import LicenseId  # noqa: E402  (the repository root is on sys.path only now)

SCHEMA = "bench_export"
TARGET_SECONDS = 30.0
TARGET_MEMORY_MB = 50.0


def _rows(count, authority_ids):
    first = date(2019, 1, 1)
    for i in range(1, count + 1):
        letter = "TSW"[i % 3]
        issued = first + timedelta(days=i * 7 // 3000)
        yield {
            "ecert_id": f"E{i:031d}", "number": f"140105{letter}（{issued.year}）{i:07d}", "verify_token": f"v{i:047d}",
            "authority_id": authority_ids[i % 5 == 0], "year": issued.year, "serial": i,
            "status": "cancelled" if i % 10 == 0 else "issued",
            "holder_name": f"山西{i % 50000:05d}建筑工程有限公司", "holder_uscc": f"91140105MA{i % 50000:08d}",
            "authority_name": "太原市住房和城乡建设局", "authority_uscc": "11140100MB0000002K", "issue_date": issued,
            "crane_type": letter, "model": "QTZ80", "record_number": f"晋AA-{letter}{i // 30:05d}{chr(65 + i % 26)}",
            "manufacturer": "测试建筑机械有限公司", "serial_number": f"SN{i}", "manufacture_date": issued - timedelta(400),
            "owner_name": "租赁公司", "owner_uscc": "91140105MA0CRAN02", "installer_name": "安装公司",
            "installer_uscc": "91140105MA0CRAN03", "supervision_name": "监理公司", "supervision_uscc": "91140105MA0CRAN04",
            "contractor_name": "", "contractor_uscc": "", "project_name": f"测试工程{i % 100000:06d}号楼",
            "project_address": "山西省测试路 1 号", "project_division": "140105", "location": "112.5492,37.8570",
            "permit_number": "140105202501150101", "business": {"lifting_capacity": "8"}, "pdf_state": "signed",
            "report_state": "collected",
            "license_id": str(LicenseId.build("JZQZJXSYDJZ", "11140100MB0000002K", f"140105{letter}{issued.year}{i:07d}")),
        }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()

    import sqlalchemy as sa
    work = Path(tempfile.mkdtemp(prefix="bench-export-"))
    url = os.environ.get("DATABASE_URL", "")
    options = {}
    admin_engine = None
    if url.startswith("postgresql"):
        admin_engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with admin_engine.connect() as connection:
            connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            connection.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
        # every table in the scratch schema, whatever the database's public schema holds (make bench migrates
        # and seeds it first): create_all looks there, not at public's tables; public for pg_trgm
        options = {"connect_args": {"options": f"-csearch_path={SCHEMA},public"},
                   "execution_options": {"schema_translate_map": {None: SCHEMA}}}
    else:
        url = f"sqlite:///{work / 'bench.sqlite3'}"

    from portal import create_app
    from portal.config import TestConfig

    class BenchConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = url
        SQLALCHEMY_ENGINE_OPTIONS = options
        SMS_OUTBOX_PATH = str(work / "sms.jsonl")
        PKI_DIR = str(work / "pki")
        STORAGE_DIR = str(work / "storage")
        PLATFORM_SIM_DATA_DIR = str(work / "sim")
        RQ_ASYNC = False

    app = create_app(BenchConfig)
    try:
        with app.app_context():
            return _run(args, url.split(":")[0])
    finally:
        if admin_engine is not None:
            with admin_engine.connect() as connection:
                connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            admin_engine.dispose()
        shutil.rmtree(work, ignore_errors=True)


def _run(args, database):
    import itertools

    import sqlalchemy as sa

    from portal.auth.models import User
    from portal.certificates.authorities import Authority
    from portal.certificates.models import Certificate
    from portal.cli import seed_demo
    from portal.extensions import db
    from portal.maintenance.services import SearchFilters, export_sheet
    from portal.xlsx_export import workbook_chunks

    db.create_all()
    seed_demo()
    authority_ids = [a.id for a in db.session.scalars(sa.select(Authority).order_by(Authority.id)).all()[:2]]
    start = time.perf_counter()
    rows = _rows(args.rows, authority_ids)
    while batch := list(itertools.islice(rows, 5000)):
        db.session.execute(sa.insert(Certificate), batch)
    db.session.commit()
    print(f"bench_export: {args.rows:,} certificates in {database} filled in {time.perf_counter() - start:.1f} s")

    admin = db.session.scalar(sa.select(User).filter_by(username="admin"))
    db.session.expunge_all()
    def export():
        return sum(len(chunk) for chunk in workbook_chunks([export_sheet(admin, SearchFilters())]))

    start, cpu = time.perf_counter(), time.process_time()
    size = export()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    db.session.expunge_all()
    tracemalloc.start()  # a second run, measured: the Python heap's peak while exporting
    export()
    growth = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    print(f"  export of {args.rows:,} rows (admin, no filter): {seconds:6.1f} s   (target < {TARGET_SECONDS:.0f} s)"
          f"   CPU {cpu:.1f} s")
    print(f"  peak memory (Python heap, tracemalloc): {growth:6.1f} MB   (target < {TARGET_MEMORY_MB:.0f} MB)   file {size / 1e6:.1f} MB")
    missed = [what for what, ok in (("time", seconds < TARGET_SECONDS), ("memory", growth < TARGET_MEMORY_MB)) if not ok]
    if missed:
        print("bench_export: TARGET MISSED: " + ", ".join(missed))
        return 1
    print("bench_export: export meets its targets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
