"""make bench: run every benchmark and print its figures.

Each benchmark is its own script (run alone with `python bench/<name>.py`); this runs them in turn.
The PostgreSQL figures need DATABASE_URL (the import bench: BENCH_DATABASE_URL, else DATABASE_URL or
TEST_DATABASE_URL); without it those parts say so and use SQLite. The import's end-to-end run needs Redis too
(BENCH_REDIS_URL, else REDIS_URL): it starts two `rq worker` processes and takes minutes.
"""
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = [
    ("规则与校验（issue 3）", "bench_standard.py", []),
    ("电子证照生成与签章（issue 16）", "bench_pdf.py", []),
    ("OFD 电子证照与 SM2 电子签章（issue 17）", "bench_ofd.py", []),
    ("证照维护查询，1,000,000 条（issues 5, 15，需 PostgreSQL）", "bench_search.py", []),
    ("证照维护导出，100,000 条（issue 15）", "bench_export.py", []),
    ("批量导入：校验入库与端到端，两个 rq worker（issue 6、16）", "bench_import.py", []),
    ("上传文件的读取上限：最大允许文件的内存峰值（issue 11）", "bench_upload_limits.py", []),
]


# Issue 16's "Done when": the lines of each figure, gathered again at the end beside their targets.
ISSUE_16 = {"bench_pdf.py": ("  render ", "  seal + sign ", "  pipeline ", "  2 processes vs 1"),
            "bench_import.py": ("  check + store:", "  end to end with", "  worker peak RSS",
                                "  certificate list during the import", "2. end to end: needs")}


def _run(path, args):
    """Run one benchmark, its output shown as it comes; returns (exit code, its lines)."""
    process = subprocess.Popen([sys.executable, str(path), *args], env=dict(os.environ), stdout=subprocess.PIPE,
                               text=True, bufsize=1)
    lines = []
    for line in process.stdout:
        print(line, end="", flush=True)
        lines.append(line.rstrip("\n"))
    return process.wait(), lines


def main():
    failed, summary = [], []
    for title, script, args in BENCHES:
        path = HERE / script
        print(f"\n=== {title}: {script}", flush=True)
        if not path.exists():
            print("  (not present)")
            continue
        returncode, lines = _run(path, args)
        summary += [line for line in lines if line.startswith(ISSUE_16.get(script, ()))]
        if returncode:
            failed.append(script)
    print("\n=== issue 16 (throughput), each figure beside its target:")
    print("\n".join(summary) or "  (no figures)")
    if failed:
        print("\nFAILED:", ", ".join(failed))
        sys.exit(1)


if __name__ == "__main__":
    main()
