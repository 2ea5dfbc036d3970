"""Benchmark: the OFD copy of a certificate (GB/T 33190) under its SM2 electronic seal (GB/T 38540).

    python bench/bench_ofd.py [-n 200] [--persons 10]

Prints median and p95 over N certificates (one warm process) of: building the OFD package from the
laid-out page (XML + per-document font subset), sealing it (SM3 digests, SES_Signature, SM2 signature)
and zipping — together "build + seal", the figure the issue's target is about (≤ 30 ms median per
certificate) — and, beside it, the page layout (shared with the PDF; the interim layout until the real
one lands) and verification. The certificates are the PDF benchmark's (bench_pdf.make_doc).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for path in (str(ROOT), str(ROOT / "bench")):
    if path not in sys.path:
        sys.path.insert(0, path)

from bench_pdf import AUTHORITY, USCC, fmt, make_doc  # noqa: E402

from portal.certificates.interim_layout import interim_layout  # noqa: E402
from portal.certificates.ofd import build_ofd  # noqa: E402
from portal.certificates.ofd_seal import seal_ofd  # noqa: E402
from portal.certificates.ofd_verify import verify_ofd  # noqa: E402
from portal.certificates.sm2_pki import Sm2DevPki  # noqa: E402

TARGET_MS = 30.0
LICENSE_ID = "1.2.156.3005.2.JZQZJXSYDJZ.11140100012345678X.140105T2023{:07d}.001.X"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=200, help="certificates (default 200)")
    ap.add_argument("--persons", type=int, default=10, help="persons per certificate (default 10, max 15)")
    args = ap.parse_args(argv)
    n, persons = args.n, max(0, min(15, args.persons))

    with tempfile.TemporaryDirectory(prefix="bench-sm2-") as tmp:
        pki = Sm2DevPki(Path(tmp) / "sm2", b"bench-passphrase")
        pki.create_authority_credentials(USCC, AUTHORITY)
        signer = pki.signer_for(USCC)
        roots = pki.trust_roots()

        t = time.perf_counter()
        first = interim_layout(make_doc(0, persons), LICENSE_ID.format(0))
        seal_ofd(build_ofd(first, signed=True), signer)
        cold = time.perf_counter() - t
        for i in range(3):
            seal_ofd(build_ofd(interim_layout(make_doc(i, persons)), signed=True), signer)

        layout_t, build_t, seal_t, total_t, sizes, verify_t = [], [], [], [], [], []
        for i in range(n):
            doc = make_doc(i, persons)
            t0 = time.perf_counter()
            page = interim_layout(doc, LICENSE_ID.format(i))
            t1 = time.perf_counter()
            package = build_ofd(page, signed=True, custom_data={"证书编号": doc.number})
            t2 = time.perf_counter()
            data = seal_ofd(package, signer)
            t3 = time.perf_counter()
            layout_t.append(t1 - t0)
            build_t.append(t2 - t1)
            seal_t.append(t3 - t2)
            total_t.append(t3 - t1)
            sizes.append(len(data))
            if i % 10 == 0:
                t4 = time.perf_counter()
                assert verify_ofd(data, roots).valid
                verify_t.append(time.perf_counter() - t4)

        print(f"OFD + SM2 seal benchmark: {n} certificates, {persons} persons each, "
              f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
        print(f"  first OFD (cold: font parse, comb table) {cold * 1000:7.1f} ms")
        print(fmt("layout (interim)", layout_t))
        print(fmt("build package", build_t))
        print(fmt("seal + zip", seal_t))
        print(fmt("build + seal", total_t))
        print(fmt("verify (every 10th)", verify_t))
        print(f"  sealed OFD size        median {statistics.median(sizes) / 1024:7.1f} KB")
        med = statistics.median(total_t) * 1000
        print(f"  target build + seal ≤ {TARGET_MS:.0f} ms median: {'OK' if med <= TARGET_MS else 'MISSED'} "
              f"({med:.1f} ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
