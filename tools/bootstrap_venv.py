"""Create a virtual environment with pip, even where Debian's python3-venv is missing.

Plain Debian python3 cannot `-m venv` with pip (ensurepip is split into python3-venv). Then we
create the venv without pip and install pip from its wheel on PyPI (a wheel is importable as is).
"""
import json
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path


def main(target):
    target = Path(target)
    if subprocess.call([sys.executable, "-m", "venv", str(target)], stderr=subprocess.DEVNULL) == 0:
        return
    print("python3 -m venv 不可用（缺少 python3-venv / ensurepip），改为从 PyPI 引导安装 pip …")
    subprocess.check_call([sys.executable, "-m", "venv", "--without-pip", "--clear", str(target)])
    index = "https://pypi.org/pypi/pip/json"
    with urllib.request.urlopen(index, timeout=60) as answer:
        release = json.load(answer)
    wheel = next(f for f in release["urls"] if f["filename"].endswith(".whl"))
    url = urllib.parse.urljoin(index, wheel["url"])  # a mirror may answer with relative links
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / wheel["filename"]
        urllib.request.urlretrieve(url, path)
        python = target / "bin" / "python"
        subprocess.check_call([str(python), f"{path}/pip", "install", "--no-index", str(path)])


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".venv")
