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

from portal.standard.fields import PERSON_FIELDS  # noqa: E402
from portal.standard.rules import CheckContext, PersonStatus, check_certificate  # noqa: E402
from portal.standard.values import IdNumber, Uscc  # noqa: E402
from portal.standard.workbook import (CERT_COLUMNS, CERT_HEADERS, PERSON_HEADERS, TEMPLATE_XLSX_NAME,  # noqa: E402
                                      check_import_file, open_import_zip)

TODAY = date(2025, 6, 2)
CODES = ("1101", "1102", "1103", "1104", "1105", "1106", "1107", "1108", "1109", "1113", "1110", "1111")


def _id(n: int) -> str:
    body = f"140105{1960 + n % 40}{1 + n % 12:02d}{1 + n % 28:02d}{n % 1000:03d}"
    return body + IdNumber.check_digit(body)


def _uscc(n: int) -> str:
    body = f"91140105MA{n:07d}"
    return body + Uscc.check_char(body)


def make_row(i: int) -> tuple[dict, list[dict]]:
    """Row i: distinct record number, companies cycling over 50, 12 distinct persons (unique IDs)."""
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
    persons = [{"type_code": code, "name": f"人员{i}-{k}", "id_number": _id(i * 12 + k),
                "cert_no": f"晋A01{i:06d}{k:02d}" if code in ("1108", "1109", "1113") else "",
                "phone": "13800000000"} for k, code in enumerate(CODES)]
    return cert, persons


def build_zip(path: str, rows: int) -> None:
    from openpyxl import Workbook
    wb = Workbook(write_only=True)
    cs, ps = wb.create_sheet("证照信息"), wb.create_sheet("人员信息")
    cs.append(list(CERT_HEADERS))
    ps.append(list(PERSON_HEADERS))
    for i in range(rows):
        cert, persons = make_row(i)
        seq = i + 2  # 序号 1 is the template's example
        cs.append([seq] + [cert.get(f.key, "") for f in CERT_COLUMNS[1:]])
        for p in persons:
            ps.append([seq] + [p[f.key] for f in PERSON_FIELDS])
    buf = io.BytesIO()
    wb.save(buf)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(TEMPLATE_XLSX_NAME, buf.getvalue())
        zf.writestr("附件/", b"")


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
