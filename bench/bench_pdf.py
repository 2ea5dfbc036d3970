"""Benchmark: certificate render, seal + sign, and the whole pipeline.

    python bench/bench_pdf.py [-n 100] [--persons 10]

Prints median and p95 per stage over N certificates (one warm process), then
the pipeline's throughput with 1 and 2 worker processes (each warmed up before
the clock starts) and their ratio.  House targets: render + seal + sign
≤ 60 ms per certificate, ×1.8 on two workers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from portal.certificates.pdf import CertificateDocument, render_certificate_pdf  # noqa: E402
from portal.certificates.dev_pki import DevPki  # noqa: E402
from portal.certificates.signing import sign_certificate_pdf  # noqa: E402

USCC = "11140100012345678X"
AUTHORITY = "太原市住房和城乡建设局"
PASSPHRASE = b"bench-passphrase"
TARGET_MS = 60.0
TARGET_RATIO = 1.8

PERSON_TYPES = [
    ("1101", "总监理工程师"), ("1102", "专业监理工程师"), ("1103", "施工单位项目负责人"),
    ("1104", "项目技术负责人"), ("1105", "专职安全生产管理人员"), ("1106", "产权单位负责人"),
    ("1107", "安装单位负责人"), ("1108", "建筑起重机械司机"), ("1109", "建筑起重信号司索工"),
    ("1113", "建筑起重机械安装拆卸工"), ("1110", "建筑起重机械安全管理人员"), ("1111", "租赁单位负责人"),
    ("1112", "检验检测人员"), ("1108", "建筑起重机械司机"), ("1113", "建筑起重机械安装拆卸工"),
]


def make_doc(i: int, persons: int) -> CertificateDocument:
    face = [
        ("设备类别", "塔式起重机"), ("规格型号", "QTZ80(TC6010-6)"), ("备案编号", f"晋AA-T{i % 100000:05d}"),
        ("生产厂家", "山东大汉建设机械股份有限公司"), ("出厂编号", f"DH2020-{i:04d}"),
        ("出厂日期", "2020年08月15日"), ("产权单位名称", "山西晋龙建筑设备租赁有限公司"),
        ("产权单位统一社会信用代码", "91140100MA0K12345X"), ("安装单位名称", "山西三晋起重设备安装工程有限公司"),
        ("安装单位统一社会信用代码", "91140100MA0K12346Y"), ("监理单位名称", "山西汾河工程监理有限公司"),
        ("监理单位统一社会信用代码", "91140100MA0K12347A"), ("施工总承包单位名称", "中国建筑第八工程局有限公司"),
        ("施工总承包单位统一社会信用代码", "91310000MA1FL0XX1X"),
        ("工程名称", "太原市小店区锦绣苑小区二期住宅楼及地下车库工程（1#-12#楼）"),
        ("工程项目地址", "山西省太原市小店区长治路与南中环街交叉口东北角锦绣苑小区二期"),
        ("工程项目地址所在区/县级区划代码", "140105"), ("安装位置", "112.5496,37.8123"),
        ("建筑工程施工许可证编号", "140105202301050101"),
    ]
    business = [("起重臂长度(m)", "60"), ("最大起重量(t)", "6"), ("拟安装最大高度(m)", "120"),
                ("最大幅度起重量(t)", "1.0")]
    people = [
        {"type_code": c, "type_name": t, "name": "王建国", "id_number": "14010519800101123X",
         "cert_no": "晋A042020000123" if c in ("1108", "1109", "1113") else "", "phone": "13800000000"}
        for c, t in PERSON_TYPES[:persons]
    ]
    return CertificateDocument(
        number=f"140105T（2023）{i:07d}", holder_name="山西建工集团有限公司", holder_uscc="91140000110012345K",
        crane_type_name="塔式起重机", face=face, business=business, persons=people,
        authority_name=AUTHORITY, authority_uscc=USCC, issue_date=dt.date(2023, 5, 6), valid_until=None,
        verify_url=f"https://zz.example.gov.cn/verify/{i:032x}", status_note=None,
    )


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(q * (len(values) - 1))))
    return values[k]


def fmt(label: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return f"  {label:<22} median {statistics.median(ms):7.1f} ms   p95 {pct(ms, 0.95):7.1f} ms"


# ----------------------------------------------------------- multiprocessing
_worker_signer = None
_worker_persons = 10


def _init_worker(pki_dir: str, persons: int) -> None:
    global _worker_signer, _worker_persons
    _worker_persons = persons
    _worker_signer = DevPki(pki_dir, PASSPHRASE).signer_for(USCC)
    for i in range(3):  # warm: fonts, templates, seal cache, pyHanko imports
        _pipeline(i)


def _pipeline(i: int) -> int:
    pdf = render_certificate_pdf(make_doc(i, _worker_persons))
    return len(sign_certificate_pdf(pdf, _worker_signer, AUTHORITY))


def _warm(_: int) -> int:
    return os.getpid()


def throughput(processes: int, n: int, pki_dir: str, persons: int) -> float:
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    with ctx.Pool(processes, initializer=_init_worker, initargs=(pki_dir, persons)) as pool:
        pool.map(_warm, range(processes * 4), chunksize=1)  # all workers started and warm
        t = time.perf_counter()
        pool.map(_pipeline, range(n), chunksize=2)
        elapsed = time.perf_counter() - t
    return n / elapsed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=100, help="certificates per measurement (default 100)")
    ap.add_argument("--persons", type=int, default=10, help="persons per certificate (default 10, max 15)")
    args = ap.parse_args(argv)
    n, persons = args.n, max(0, min(15, args.persons))

    with tempfile.TemporaryDirectory(prefix="bench-pki-") as tmp:
        pki = DevPki(Path(tmp) / "pki", PASSPHRASE)
        pki.create_authority_credentials(USCC, AUTHORITY)
        global _worker_signer, _worker_persons
        _worker_signer, _worker_persons = pki.signer_for(USCC), persons

        t = time.perf_counter()
        first = render_certificate_pdf(make_doc(0, persons))
        cold_render = time.perf_counter() - t
        t = time.perf_counter()
        sign_certificate_pdf(first, _worker_signer, AUTHORITY)
        cold_sign = time.perf_counter() - t
        for i in range(3):
            _pipeline(i)

        render_t, sign_t, total_t, sizes = [], [], [], []
        for i in range(n):
            doc = make_doc(i, persons)
            t0 = time.perf_counter()
            pdf = render_certificate_pdf(doc)
            t1 = time.perf_counter()
            signed = sign_certificate_pdf(pdf, _worker_signer, AUTHORITY)
            t2 = time.perf_counter()
            render_t.append(t1 - t0)
            sign_t.append(t2 - t1)
            total_t.append(t2 - t0)
            sizes.append(len(signed))

        print(f"certificate PDF benchmark: {n} certificates, {persons} persons each, "
              f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
        print(f"  first render (cold)    {cold_render * 1000:7.1f} ms   first seal+sign {cold_sign * 1000:7.1f} ms")
        print(fmt("render", render_t))
        print(fmt("seal + sign", sign_t))
        print(fmt("pipeline", total_t))
        print(f"  signed PDF size        median {statistics.median(sizes) / 1024:7.1f} KB")

        tp1 = throughput(1, n, str(pki.root_dir), persons)
        tp2 = throughput(2, n, str(pki.root_dir), persons)
        ratio = tp2 / tp1
        print(f"  throughput 1 process   {tp1:7.1f} certificates/s  ({1000 / tp1:.1f} ms each)")
        print(f"  throughput 2 processes {tp2:7.1f} certificates/s  (×{ratio:.2f})")
        med = statistics.median(total_t) * 1000
        ok1 = "OK" if med <= TARGET_MS else "MISSED"
        ok2 = "OK" if ratio >= TARGET_RATIO else "MISSED"
        print(f"  target pipeline ≤ {TARGET_MS:.0f} ms: {ok1} ({med:.1f} ms); "
              f"two workers ≥ ×{TARGET_RATIO}: {ok2} (×{ratio:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
