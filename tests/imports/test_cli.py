"""flask certs template | check | import: the same checks and task as the web, from the command line."""
import json
import zipfile

from portal.certificates.models import Certificate
from portal.extensions import db
from portal.standard.workbook import TEMPLATE_XLSX_NAME
from tests.imports.helpers import import_zip, mixed_rows, valid_rows


def _file(tmp_path, data, name="导入.zip"):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_template_writes_the_template_zip(runner, tmp_path):
    out = tmp_path / "模板.zip"
    result = runner.invoke(args=["certs", "template", str(out)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as zf:
        assert TEMPLATE_XLSX_NAME in zf.namelist()


def test_check_json_lists_every_row_with_its_errors_and_writes_nothing(demo, runner, tmp_path):
    result = runner.invoke(args=["certs", "check", _file(tmp_path, import_zip(mixed_rows())), "--operator", "clerk",
                                 "--json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert set(report) == {"total", "valid", "invalid", "rows", "person_rows"} and report["person_rows"] == []
    assert (report["total"], report["valid"], report["invalid"]) == (5, 3, 2)
    assert [r["row"] for r in report["rows"]] == [2, 3, 4, 5, 6]
    errors = {r["row"]: r["errors"] for r in report["rows"]}
    assert errors[2] == [] and {e["rule"] for e in errors[3]} == {"R6", "R10"}
    assert set(errors[5][0]) == {"rule", "field", "message"}
    assert db.session.scalar(db.select(db.func.count(Certificate.id))) == 0


def test_check_applies_the_operators_jurisdiction(demo, runner, tmp_path):
    path = _file(tmp_path, import_zip(valid_rows(count=2)))
    assert runner.invoke(args=["certs", "check", path, "--operator", "clerk"]).exit_code == 0
    result = runner.invoke(args=["certs", "check", path, "--operator", "datong", "--json"])
    assert result.exit_code == 1
    assert all({"R4", "R5"} <= {e["rule"] for e in row["errors"]} for row in json.loads(result.stdout)["rows"])


def test_check_text_output_is_a_chinese_summary(demo, runner, tmp_path):
    result = runner.invoke(args=["certs", "check", _file(tmp_path, import_zip(mixed_rows())), "--operator", "clerk"])
    assert "共 5 行：校验通过 3 行，未通过 2 行" in result.stdout and "序号 3：" in result.stdout


def test_a_refused_file_exits_2_with_one_message(demo, runner, tmp_path):
    result = runner.invoke(args=["certs", "check", _file(tmp_path, b"not a zip"), "--operator", "clerk", "--json"])
    assert result.exit_code == 2 and result.stdout == "" and "不是 zip 压缩包" in result.stderr
    result = runner.invoke(args=["certs", "check", _file(tmp_path, import_zip([])), "--operator", "nobody"])
    assert result.exit_code == 2 and "nobody" in result.stderr


def test_import_json_runs_the_task_to_its_end(demo, runner, tmp_path):
    path = _file(tmp_path, import_zip(mixed_rows()))
    result = runner.invoke(args=["certs", "import", path, "--operator", "clerk", "--json"])
    assert result.exit_code == 1, result.output
    out = json.loads(result.stdout)
    assert set(out) == {"task_id", "total", "succeeded", "failed", "failure_report", "rows", "person_rows"}
    assert (out["total"], out["succeeded"], out["failed"]) == (5, 3, 2)
    assert out["failure_report"].endswith(f"reports/{out['task_id']}.xlsx")
    assert [(r["row"], r["certificate_number"]) for r in out["rows"]] == [
        (2, "140105T（2025）0000001"), (3, None), (4, "140105T（2025）0000002"), (5, None), (6, "140105T（2025）0000003")]
    assert out["rows"][0]["errors"] == [] and out["rows"][1]["errors"][0]["rule"] == "R6"
    again = json.loads(runner.invoke(args=["certs", "import", path, "--operator", "clerk", "--json"]).stdout)
    assert again["succeeded"] == 0 and {e["rule"] for r in again["rows"] if r["row"] in (2, 4, 6)
                                        for e in r["errors"]} == {"R12"}
    assert db.session.scalar(db.select(db.func.count(Certificate.id))) == 3


def test_import_all_valid_exits_0(demo, runner, tmp_path):
    result = runner.invoke(args=["certs", "import", _file(tmp_path, import_zip(valid_rows(count=2))),
                                 "--operator", "clerk"])
    assert result.exit_code == 0, result.output
    assert "共 2 行，成功 2 行，失败 0 行" in result.stdout


def test_import_by_a_clerk_without_signing_right_is_refused(demo, runner, tmp_path):
    result = runner.invoke(args=["certs", "import", _file(tmp_path, import_zip(valid_rows(count=1))),
                                 "--operator", "clerk2"])
    assert result.exit_code == 2 and "签章权限" in result.stderr
