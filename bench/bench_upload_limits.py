"""Benchmark of bounded upload reading: the peak memory of checking the largest file the limits allow.

Run: ``python bench/bench_upload_limits.py``. Builds (cached in the temp dir) the largest allowed file —
IMPORT_MAX_ROWS certificates (10,000) with IMPORT_MAX_PERSON_ROWS people (200,000, 20 a certificate) — and a
second one padded towards the read limit (1,000 more characters in every 工程项目地址), then checks each as the
upload does (``count_import_rows``: the rows stay in the reader children, one a data sheet, side by side)
and as ``certs check`` does (every rule on every row, this process holding the rows). Measures the peak RSS
of this process (the web / CLI process) and of the reader children together (each reports its own), the
cost of a reader child per upload, and the
refusal of the issue's 22 KB sheet-dimension bomb.
Target: peak < 1 GB in every process.
"""
from __future__ import annotations

import logging
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
GB = 1024 ** 3
FILES = {"largest allowed": "", "padded to the read limit": "址" * 1000}


def _build(path: str, rows: int, persons: int, pad: str) -> None:
    from workload import build_zip  # bench/ is on sys.path as the script's folder
    build_zip(path, rows, platform_people=True, persons=persons, pad=pad)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def _verdict(mb: float) -> str:
    return f"(target < 1024 MB) {'OK' if mb < 1024 else 'ABOVE TARGET'}"


def main() -> int:
    if len(sys.argv) == 6 and sys.argv[1] == "--build":  # building runs apart: its memory is not the check's
        _build(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
        return 0
    workdir = tempfile.mkdtemp(prefix="bench_limits_")
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    from bench_import import ReaderChildren, _reset, _setup_environment
    _setup_environment(workdir)
    os.environ["DATABASE_URL"] = f"sqlite:///{os.path.join(workdir, 'bench.sqlite3')}"

    from portal import create_app
    from portal.auth.models import User
    from portal.extensions import db
    from portal.imports.services import check_upload, import_limits
    from portal.standard.isolation import run_in_child
    from portal.standard.workbook import CERT_SHEET, ImportRefused, count_import_rows, template_workbook_bytes
    from tests.standard.factories import inline_cell, with_rows, zip_bytes

    app = create_app()
    peaks = ReaderChildren()
    logging.getLogger("portal.standard.isolation").addHandler(peaks)
    with app.app_context():
        _reset(app, db)  # an empty database with the demo seeded
        clerk = db.session.scalar(db.select(User).filter_by(username="clerk"))
        limits = import_limits()
        rows, persons = limits.max_rows, limits.max_person_rows
        print(f"limits: {rows:,} certificates, {persons:,} people, read back at most "
              f"{limits.max_read_bytes / 1048576:.0f} MB, each reader child {limits.reader_memory_bytes / 1048576:.0f} MB")

        t = time.perf_counter()
        run_in_child(len, b"x", memory_bytes=limits.reader_memory_bytes, timeout=60)
        first = time.perf_counter() - t
        t = time.perf_counter()
        for _ in range(20):
            run_in_child(len, b"x", memory_bytes=limits.reader_memory_bytes, timeout=60)
        each = (time.perf_counter() - t) / 20
        print(f"reader child: {each * 1000:.0f} ms an upload (the forkserver's start, once a process: "
              f"{first:.1f} s)")

        bomb = zip_bytes({"导入.xlsx": with_rows(template_workbook_bytes(), CERT_SHEET,
                                                f'<row r="1048576">{inline_cell("XFD1048576", "x")}</row>')})
        t = time.perf_counter()
        try:
            count_import_rows(bomb, limits)
            print("sheet-dimension bomb: ACCEPTED (it must be refused)")
        except ImportRefused as refused:
            print(f"sheet-dimension bomb ({len(bomb) / 1024:.0f} KB): refused in {time.perf_counter() - t:.2f} s: "
                  f"{refused.message[:40]}…")

        worst = 0.0
        for name, pad in FILES.items():
            path = os.path.join(tempfile.gettempdir(), f"bench_limits_{rows}_{persons}_{len(pad)}.zip")
            if not os.path.exists(path):
                t = time.perf_counter()
                subprocess.run([sys.executable, __file__, "--build", path, str(rows), str(persons // rows), pad],
                               check=True)
                print(f"generated {path} ({os.path.getsize(path) / 1e6:.1f} MB) in {time.perf_counter() - t:.0f} s")
            data = open(path, "rb").read()
            try:
                # the two reader children of a read (one a data sheet) run at once: their peaks add up
                t, before = time.perf_counter(), len(peaks.peaks)
                count = count_import_rows(data, limits)
                upload_s, upload_child = time.perf_counter() - t, sum(peaks.peaks[before:])
                upload_self = _rss_mb()
                t, before = time.perf_counter(), len(peaks.peaks)
                report = check_upload(clerk, data)
                check_s, check_child = time.perf_counter() - t, sum(peaks.peaks[before:])
            except ImportRefused as refused:
                print(f"{name}: REFUSED ({refused.message}) — the bench file no longer fits the limits")
                return 1
            check_self = _rss_mb()
            worst = max(worst, upload_child, check_child, check_self)
            print(f"{name} ({os.path.getsize(path) / 1e6:.1f} MB zip, {count:,} rows): upload check {upload_s:.1f} s, "
                  f"reader children's peaks together {upload_child:.0f} MB, this process {upload_self:.0f} MB; "
                  f"certs check {check_s:.1f} s ({report.valid:,} valid, {report.invalid:,} invalid), "
                  f"reader children's peaks together {check_child:.0f} MB, this process peak {check_self:.0f} MB")
        print(f"peak memory of checking the largest allowed file: {worst:.0f} MB {_verdict(worst)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
