"""flask platform-sim add-person / list-reports / list-persons through click's CliRunner."""
from click.testing import CliRunner
from flask import Flask

from platform_sim import serve_in_thread
from platform_sim.cli import platform_sim_cli
from portal.platform.client import PlatformClient
from portal.platform.payload import build_accept_record
from tests.platform.helpers import certificate, id_number, wrong_check
from tests.platform_fixtures import TEST_TIMEOUT

PERSON_ID = id_number("14010919880808123")


def invoke(*args):
    return CliRunner().invoke(platform_sim_cli, list(args), catch_exceptions=False)


def test_add_person_then_the_platform_finds_them(tmp_path):
    data_dir = str(tmp_path / "sim")
    result = invoke("add-person", "--name", "周 星驰", "--id-number", PERSON_ID, "--cert-no", "晋A052024000321",
                    "--type", "1109", "--data-dir", data_dir)
    assert result.exit_code == 0, result.output
    assert "已登记 周 星驰" in result.output
    assert PERSON_ID in invoke("list-persons", "--data-dir", data_dir).output
    with serve_in_thread(data_dir) as sim:
        client = PlatformClient(sim.url, "sx-dev", "sx-dev-secret", timeout=TEST_TIMEOUT)
        assert client.find_person("周星驰", PERSON_ID, "晋A052024000321", "1109").found


def test_add_person_refuses_bad_input(tmp_path):
    data_dir = str(tmp_path / "sim")
    bad = invoke("add-person", "--name", "周星驰", "--id-number", wrong_check(PERSON_ID),
                 "--cert-no", "晋A052024000321", "--type", "1109", "--data-dir", data_dir)
    assert bad.exit_code == 1 and "身份证号码无效" in bad.output
    bad_type = invoke("add-person", "--name", "周星驰", "--id-number", PERSON_ID,
                      "--cert-no", "晋A052024000321", "--type", "9999", "--data-dir", data_dir)
    assert bad_type.exit_code == 1 and "人员类型代码无效" in bad_type.output
    args = ("add-person", "--name", "周星驰", "--id-number", PERSON_ID, "--cert-no", "晋A052024000321",
            "--type", "1109", "--data-dir", data_dir)
    assert invoke(*args).exit_code == 0
    duplicate = invoke(*args)
    assert duplicate.exit_code == 1 and "已登记" in duplicate.output


def test_list_reports_shows_received_reports(tmp_path, demo_persons):
    data_dir = str(tmp_path / "sim")
    assert "尚未收到上报" in invoke("list-reports", "--data-dir", data_dir).output
    record = build_accept_record(certificate([demo_persons["1108"]]), "issue")
    with serve_in_thread(data_dir) as sim:
        client = PlatformClient(sim.url, "sx-dev", "sx-dev-secret", timeout=TEST_TIMEOUT)
        client.report_certificate([record], "cli-1")
    output = invoke("list-reports", "--data-dir", data_dir).output
    assert record["eCertID"] in output and "key=cli-1" in output and "共 1 次上报" in output
    assert '"idempotencyKey": "cli-1"' in invoke("list-reports", "--json", "--data-dir", data_dir).output


def test_data_dir_comes_from_the_flask_config(tmp_path):
    app = Flask("portal_like")
    app.config["PLATFORM_SIM_DATA_DIR"] = str(tmp_path / "configured")
    with app.app_context():
        result = invoke("add-person", "--name", "周星驰", "--id-number", PERSON_ID,
                        "--cert-no", "晋A052024000321", "--type", "1109")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "configured" / "platform_sim.sqlite3").exists()


def test_run_has_help():
    result = invoke("run", "--help")
    assert result.exit_code == 0 and "--port" in result.output
