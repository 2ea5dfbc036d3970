"""A server whose clock runs in UTC issues Beijing's date at 23:30 UTC: the real `flask certs import`,
run under faketime at 2026-12-31 23:30 UTC (Beijing: 2027-01-01 07:30)."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import need_service
from tests.factories import issuable_certificate, issuable_persons
from tests.imports.helpers import import_zip

ROOT = Path(__file__).resolve().parents[2]


def _flask(env, *args, faketime=None):
    command = [sys.executable, "-m", "flask", "--app", "wsgi", *args]
    if faketime:
        command = ["faketime", "-f", faketime, *command]
    result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    return result


@pytest.mark.slow
def test_a_utc_server_issues_beijings_new_year_date_at_2330_utc(tmp_path):
    need_service("faketime", shutil.which("faketime"), "apt-get install faketime")
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "TEST_DATABASE_URL", "REDIS_URL", "PLATFORM_URL", "BUSINESS_TIMEZONE")}
    env.update(TZ="UTC", PORTAL_INSTANCE_PATH=str(tmp_path), SECRET_KEY="faketime-test",
               DATABASE_URL=f"sqlite:///{tmp_path / 'portal.sqlite3'}")
    for step in (("db", "upgrade"), ("seed-demo",)):
        done = _flask(env, *step)
        assert done.returncode == 0, done.stderr[-2000:]
    upload = tmp_path / "元旦.zip"
    upload.write_bytes(import_zip([(2, issuable_certificate(1, issue_date="2027-01-01"), issuable_persons())]))

    result = _flask(env, "certs", "import", str(upload), "--operator", "clerk", "--json",
                    faketime="@2026-12-31 23:30:00")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    [row] = json.loads(result.stdout)["rows"]
    assert row["errors"] == [] and row["certificate_number"] == "140105T（2027）0000001"
