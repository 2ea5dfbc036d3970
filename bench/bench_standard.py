"""Benchmark of portal.standard: rules speed, full check of a 10,000-row import, bare readers, memory.

Run: ``python bench/bench_standard.py [--rows N]``. The generated zip is cached in the temp dir.
Targets: rules ≥ 10,000 rows/s; full check ≤ 3× a bare calamine read; peak < 300 MB.
"""
from __future__ import annotations

import argparse
import io
import os
import resource
import sys
import tempfile
import time
import zipfile
from datetime import date

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from workload import build_zip, make_row  # noqa: E402  (bench/ is on sys.path as the script's folder)

from portal.standard.rules import CheckContext, PersonStatus, check_certificate  # noqa: E402
from portal.standard.workbook import TEMPLATE_XLSX_NAME, check_import_file, open_import_zip  # noqa: E402

TODAY = date(2025, 6, 2)


def _ctx() -> CheckContext:
    return CheckContext(today=TODAY, jurisdiction=frozenset({"140100", "140105"}), authority_uscc="11140100MB0000002K",
                        find_person=lambda name, idno, cert, code: PersonStatus.FOUND)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000)
    args = ap.parse_args()
    path = os.path.join(tempfile.gettempdir(), f"bench_standard_{args.rows}.zip")
    if not os.path.exists(path):
        t = time.perf_counter()
        build_zip(path, args.rows)
        print(f"generated {path} ({os.path.getsize(path) / 1e6:.1f} MB) in {time.perf_counter() - t:.1f} s")
    ctx = _ctx()

    rows = [make_row(i) for i in range(min(args.rows, 10_000))]
    t = time.perf_counter()
    bad = sum(1 for cert, persons in rows if check_certificate(cert, persons, ctx))
    dt = time.perf_counter() - t
    rules_rate = len(rows) / dt
    print(f"rules only: {len(rows)} rows × 12 persons in {dt:.2f} s = {rules_rate:,.0f} rows/s "
          f"(target ≥ 10,000) {'OK' if rules_rate >= 10_000 else 'BELOW TARGET'}; invalid rows: {bad}")
    del rows

    with zipfile.ZipFile(path) as zf:
        xlsx = zf.read(TEMPLATE_XLSX_NAME)

    from python_calamine import CalamineWorkbook
    t = time.perf_counter()
    wb = CalamineWorkbook.from_filelike(io.BytesIO(xlsx))
    n = sum(sum(1 for _ in wb.get_sheet_by_name(s).iter_rows()) for s in ("证照信息", "人员信息"))
    wb.close()
    calamine = time.perf_counter() - t
    print(f"bare calamine read: {n} rows in {calamine:.2f} s")

    t = time.perf_counter()
    report = check_import_file(open_import_zip(path), ctx)
    full = time.perf_counter() - t
    ratio = full / calamine
    print(f"full check (open_import_zip + check_import_file): {report.total} rows, {report.valid} valid, "
          f"{report.invalid} invalid in {full:.2f} s = {ratio:.1f}× bare calamine "
          f"(target ≤ 3×) {'OK' if ratio <= 3 else 'ABOVE TARGET'}")
    rss_check = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS after rules + full check: {rss_check:.0f} MB (target < 300 MB) "
          f"{'OK' if rss_check < 300 else 'ABOVE TARGET'}")
    from openpyxl import load_workbook
    t = time.perf_counter()
    wb = load_workbook(io.BytesIO(xlsx), read_only=True)
    n = sum(sum(1 for _ in wb[s].iter_rows(values_only=True)) for s in ("证照信息", "人员信息"))
    wb.close()
    openpyxl_s = time.perf_counter() - t
    print(f"bare openpyxl read-only read: {n} rows in {openpyxl_s:.2f} s = {openpyxl_s / calamine:.1f}× calamine")
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS (whole run incl. the openpyxl comparison): {maxrss:.0f} MB")
    # tracemalloc slows allocation-heavy code several times: measure memory in a second, untimed pass
    import tracemalloc
    tracemalloc.start()
    check_import_file(open_import_zip(path), ctx)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"full check Python heap peak (tracemalloc): {peak / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
