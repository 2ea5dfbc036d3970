"""Benchmark (issue 16): certificate render, seal + sign, and the whole pipeline.

    python bench/bench_pdf.py [-n 200] [--persons 10]

One warm process renders, seals and signs N certificates (each with names and addresses of its own,
so that the per-certificate font subset is really cut); prints median and p95 of each stage beside
its target.  Then the pipeline's throughput: two warm processes each sealing half of the N
certificates against one process sealing all N, and the ratio (each set-up timed three times,
alternating, and the best round of each kept).

Targets: render ≤ 25 ms median / 35 ms p95 and seal + sign ≤ 15 / 25 ms, which add up to the
pipeline's ≤ 40 ms median / 60 ms p95; two processes ≥ ×1.8 one.  Timings are wall-clock: on a
machine shared with other work they include the waits for a core (the ratio most of all).
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import random
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

PERSON_TYPES = [
    ("1101", "总监理工程师"), ("1102", "专业监理工程师"), ("1103", "施工单位项目负责人"),
    ("1104", "项目技术负责人"), ("1105", "专职安全生产管理人员"), ("1106", "产权单位负责人"),
    ("1107", "安装单位负责人"), ("1108", "建筑起重机械司机"), ("1109", "建筑起重信号司索工"),
    ("1113", "建筑起重机械安装拆卸工"), ("1110", "建筑起重机械安全管理人员"), ("1111", "租赁单位负责人"),
    ("1112", "检验检测人员"), ("1108", "建筑起重机械司机"), ("1113", "建筑起重机械安装拆卸工"),
]


# GB 2312 level-1 hanzi (3,755 common characters): each certificate's names and addresses are drawn
# from them, so that every certificate brings glyphs of its own, as real ones do.
COMMON_HANZI = "".join(bytes((row, col)).decode("gb2312") for row in range(0xB0, 0xD8) for col in range(0xA1, 0xFF)
                       if not (row == 0xD7 and col > 0xF9))


def _words(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(COMMON_HANZI) for _ in range(n))


def make_doc(i: int, persons: int) -> CertificateDocument:
    rng = random.Random(i)
    face = [
        ("设备类别", "塔式起重机"), ("规格型号", "QTZ80(TC6010-6)"), ("备案编号", f"晋AA-T{i % 100000:05d}"),
        ("生产厂家", f"山东{_words(rng, 4)}机械股份有限公司"), ("出厂编号", f"DH2020-{i:04d}"),
        ("出厂日期", "2020年08月15日"), ("产权单位名称", f"山西{_words(rng, 4)}设备租赁有限公司"),
        ("产权单位统一社会信用代码", "91140100MA0K12345X"), ("安装单位名称", f"山西{_words(rng, 4)}安装工程有限公司"),
        ("安装单位统一社会信用代码", "91140100MA0K12346Y"), ("监理单位名称", f"山西{_words(rng, 3)}工程监理有限公司"),
        ("监理单位统一社会信用代码", "91140100MA0K12347A"), ("施工总承包单位名称", f"中国{_words(rng, 4)}工程局有限公司"),
        ("施工总承包单位统一社会信用代码", "91310000MA1FL0XX1X"),
        ("工程名称", f"太原市小店区{_words(rng, 6)}小区二期住宅楼及地下车库工程（1#-12#楼）"),
        ("工程项目地址", f"山西省太原市小店区{_words(rng, 3)}路与{_words(rng, 3)}街交叉口东北角"),
        ("工程项目地址所在区/县级区划代码", "140105"), ("安装位置", "112.5496,37.8123"),
        ("建筑工程施工许可证编号", "140105202301050101"),
    ]
    business = [("起重臂长度(m)", "60"), ("最大起重量(t)", "6"), ("拟安装最大高度(m)", "120"),
                ("最大幅度起重量(t)", "1.0")]
    people = [
        {"type_code": c, "type_name": t, "name": "王" + _words(rng, 2), "id_number": "14010519800101123X",
         "cert_no": "晋A042020000123" if c in ("1108", "1109", "1113") else "", "phone": "13800000000"}
        for c, t in PERSON_TYPES[:persons]
    ]
    return CertificateDocument(
        number=f"140105T（2023）{i:07d}", holder_name=f"山西{_words(rng, 4)}集团有限公司",
        holder_uscc="91140000110012345K", crane_type_name="塔式起重机", face=face, business=business,
        persons=people, authority_name=AUTHORITY, authority_uscc=USCC, issue_date=dt.date(2023, 5, 6),
        valid_until=None, verify_url=f"https://zz.example.gov.cn/public/verify/{i:032x}", status_note=None,
    )


TARGETS = {  # stage → (median ms, p95 ms)
    "render": (25.0, 35.0),
    "seal + sign": (15.0, 25.0),
    "pipeline": (40.0, 60.0),
}
TARGET_RATIO = 1.8


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(q * (len(values) - 1))))
    return values[k]


def report(label: str, seconds: list[float], cpu_seconds: list[float]) -> None:
    """Print a stage's median and p95 beside its targets, and its median CPU time (which a busy
    machine inflates less than the wall-clock time the targets are about)."""
    ms = [s * 1000 for s in seconds]
    median, p95 = statistics.median(ms), pct(ms, 0.95)
    goal_median, goal_p95 = TARGETS[label]
    ok = median <= goal_median and p95 <= goal_p95
    print(f"  {label:<12} median {median:6.1f} ms (target ≤ {goal_median:.0f})   "
          f"p95 {p95:6.1f} ms (target ≤ {goal_p95:.0f})   {'OK' if ok else 'MISSED'}   "
          f"[CPU median {statistics.median(cpu_seconds) * 1000:.1f} ms]")


# ----------------------------------------------------------- multiprocessing
ROUNDS = 3
_worker_signer = None
_worker_persons = 10


def _init_worker(pki_dir: str, persons: int) -> None:
    global _worker_signer, _worker_persons
    _worker_persons = persons
    _worker_signer = DevPki(pki_dir, PASSPHRASE).signer_for(USCC)
    for i in range(3):  # warm: fonts, seal cache, pyHanko imports
        _pipeline(-1 - i)


def _pipeline(i: int) -> int:
    pdf = render_certificate_pdf(make_doc(i, _worker_persons))
    return len(sign_certificate_pdf(pdf, _worker_signer, AUTHORITY))


def _seal_range(bounds: tuple[int, int]) -> int:
    for i in range(*bounds):
        _pipeline(i)
    return bounds[1] - bounds[0]


def _warm(_: int) -> int:
    time.sleep(0.05)  # keeps each worker busy long enough that every one of them gets a task
    return os.getpid()


def seconds_for(processes: int, n: int, pki_dir: str, persons: int) -> float:
    """Wall time for *processes* warm processes to seal N certificates, each its equal share."""
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    shares = [(n * k // processes, n * (k + 1) // processes) for k in range(processes)]
    with ctx.Pool(processes, initializer=_init_worker, initargs=(pki_dir, persons)) as pool:
        while len(set(pool.map(_warm, range(processes * 2), chunksize=1))) < processes:
            pass  # until every worker has finished warming up and answers
        t = time.perf_counter()
        pool.map(_seal_range, shares, chunksize=1)
        return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=200, help="certificates per measurement (default 200)")
    ap.add_argument("--persons", type=int, default=10, help="persons per certificate (default 10, max 15)")
    args = ap.parse_args(argv)
    n, persons = args.n, max(0, min(15, args.persons))

    with tempfile.TemporaryDirectory(prefix="bench-pki-") as tmp:
        pki = DevPki(Path(tmp) / "pki", PASSPHRASE)
        pki.create_authority_credentials(USCC, AUTHORITY)
        global _worker_signer, _worker_persons
        _worker_signer, _worker_persons = pki.signer_for(USCC), persons

        t = time.perf_counter()
        first = render_certificate_pdf(make_doc(-1, persons))
        cold_render = time.perf_counter() - t
        t = time.perf_counter()
        sign_certificate_pdf(first, _worker_signer, AUTHORITY)
        cold_sign = time.perf_counter() - t
        for i in range(3):
            _pipeline(-2 - i)

        wall = {"render": [], "seal + sign": [], "pipeline": []}
        cpu = {"render": [], "seal + sign": [], "pipeline": []}
        sizes = []
        for i in range(n):
            doc = make_doc(i, persons)
            t0, c0 = time.perf_counter(), time.process_time()
            pdf = render_certificate_pdf(doc)
            t1, c1 = time.perf_counter(), time.process_time()
            signed = sign_certificate_pdf(pdf, _worker_signer, AUTHORITY)
            t2, c2 = time.perf_counter(), time.process_time()
            for stage, (a, b, ca, cb) in {"render": (t0, t1, c0, c1), "seal + sign": (t1, t2, c1, c2),
                                          "pipeline": (t0, t2, c0, c2)}.items():
                wall[stage].append(b - a)
                cpu[stage].append(cb - ca)
            sizes.append(len(signed))

        print(f"certificate PDF benchmark: {n} certificates, {persons} persons each, "
              f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, load average "
              f"{os.getloadavg()[0]:.1f}")
        print(f"  first render (cold) {cold_render * 1000:.0f} ms, first seal + sign {cold_sign * 1000:.0f} ms")
        for stage in TARGETS:
            report(stage, wall[stage], cpu[stage])
        print(f"  signed PDF size median {statistics.median(sizes) / 1024:.1f} KB")

        # Best of ROUNDS, the two set-ups alternating: a round that lost a core to another program says
        # nothing about the pipeline's scaling, and the alternation keeps a slow minute from favouring one side.
        ones, twos = [], []
        for _ in range(ROUNDS):
            ones.append(seconds_for(1, n, str(pki.root_dir), persons))
            twos.append(seconds_for(2, n, str(pki.root_dir), persons))
        one, two = min(ones), min(twos)
        ratio = one / two
        print(f"  1 process: {n} certificates in {one:.2f} s ({1000 * one / n:.1f} ms each); "
              f"2 processes, {n // 2} each: {two:.2f} s   (best of {ROUNDS} rounds each; all: "
              f"{', '.join(f'{t:.2f}' for t in ones)} / {', '.join(f'{t:.2f}' for t in twos)} s)")
        print(f"  2 processes vs 1       ×{ratio:.2f} (target ≥ ×{TARGET_RATIO})   "
              f"{'OK' if ratio >= TARGET_RATIO else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
