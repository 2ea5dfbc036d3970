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


def main():
    failed = []
    for title, script, args in BENCHES:
        path = HERE / script
        print(f"\n=== {title}: {script}", flush=True)
        if not path.exists():
            print("  (not present)")
            continue
        result = subprocess.run([sys.executable, str(path), *args], env=dict(os.environ))
        if result.returncode:
            failed.append(script)
    if failed:
        print("\nFAILED:", ", ".join(failed))
        sys.exit(1)


if __name__ == "__main__":
    main()
