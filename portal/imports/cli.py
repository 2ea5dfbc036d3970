"""flask --app wsgi certs template | check | import (added to the certs group).

Exit codes of check and import: 0 every row passes / is issued, 1 some rows fail (a 人员信息 row of no
certificate row is a failed row too), 2 the file (or the operator) is refused as a whole and nothing was
written.
"""
import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.auth.models import User
from portal.background.queues import ThreadWorker
from portal.certificates.cli import certs_cli
from portal.extensions import db
from portal.imports.services import check_upload, error_dict, run_import_now, start_import
from portal.standard.workbook import ImportRefused, write_template_zip


def _refuse(message):
    click.echo(f"错误：{message}", err=True)
    sys.exit(2)


def _operator(username):
    user = db.session.scalar(db.select(User).filter_by(username=username.strip()))
    if user is None or not user.is_enabled:
        _refuse(f"用户 {username} 不存在或已停用")
    return user


def _row_number(seq):
    return int(seq) if seq.isdigit() else seq


def _errors(errors):
    return [error_dict(e) for e in errors]


def _person_rows(person_failures):
    from portal.imports.services import person_failure_dict
    return [person_failure_dict(p) for p in person_failures]


def _echo_person_failures(person_failures):
    for failure in person_failures:
        click.echo(f"人员信息表第{failure.excel_row}行（序号 {failure.seq or '未填写'}）：")
        for n, error in enumerate(failure.errors, start=1):
            click.echo(f"  {n}. [{error.rule}] {error.message}")


@certs_cli.command("template")
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
def template_command(out):
    """Write the import template zip (建筑起重机械使用登记证书导入模板.zip) to OUT."""
    write_template_zip(out)
    click.echo(f"已写出导入模板 {out}")


@certs_cli.command("check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--operator", "username", required=True, help="Check as this user (their authority's jurisdiction).")
@click.option("--json", "as_json", is_flag=True,
              help="Print {total, valid, invalid, rows[{row, errors}], person_rows[{sheet, row, excel_row, errors}]}.")
@with_appcontext
def check_command(file, username, as_json):
    """Apply every rule to every row of import zip FILE as USERNAME would import it; writes nothing."""
    operator = _operator(username)
    try:
        report = check_upload(operator, Path(file).read_bytes())
    except ImportRefused as refused:
        _refuse(refused.message)
    for problem in report.file_problems:
        click.echo(f"注意：{problem.message}", err=True)
    if as_json:
        click.echo(json.dumps({"total": report.total, "valid": report.valid, "invalid": report.invalid,
                               "rows": [{"row": _row_number(seq), "errors": _errors(errors)}
                                        for seq, errors in report.rows],
                               "person_rows": _person_rows(report.person_failures)}, ensure_ascii=False))
    else:
        persons = f"（其中人员信息表 {len(report.person_failures)} 行不属于任何证照）" if report.person_failures else ""
        click.echo(f"共 {report.total} 行：校验通过 {report.valid} 行，未通过 {report.invalid} 行{persons}")
        for seq, errors in report.failed:
            click.echo(f"序号 {seq}：")
            for n, error in enumerate(errors, start=1):
                click.echo(f"  {n}. [{error.rule}] {error.message}")
        _echo_person_failures(report.person_failures)
    sys.exit(1 if report.invalid else 0)


def _run_pdf_jobs_here():
    """Without Redis the PDF and report jobs sit in this process's in-memory queue: run them before exiting."""
    config = current_app.config
    if config.get("REDIS_URL") or not config.get("RQ_ASYNC", True):
        return
    rq = current_app.extensions["rq"]
    worker = ThreadWorker([rq["queues"]["pdf"], rq["queues"]["reports"]], connection=rq["connection"])
    worker.flask_app = current_app._get_current_object()
    worker.work(burst=True, with_scheduler=False, logging_level="WARNING")


@certs_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--operator", "username", required=True, help="Import as this user (a clerk with 签章权限).")
@click.option("--json", "as_json", is_flag=True,
              help="Print {task_id, total, succeeded, failed, failure_report, rows[{row, certificate_number, errors}], "
                   "person_rows[{sheet, row, excel_row, errors}]}.")
@with_appcontext
def import_command(file, username, as_json):
    """Import zip FILE as USERNAME now: the same task as an upload, run to its end in this process."""
    operator = _operator(username)
    try:
        task = start_import(operator, Path(file).name, Path(file).read_bytes(), enqueue=False)
    except ImportRefused as refused:
        _refuse(refused.message)
    result = run_import_now(task.id)
    _run_pdf_jobs_here()
    if result.state != "done":
        _refuse(f"导入任务 {task.id} 未完成：{result.error}")
    if as_json:
        click.echo(json.dumps({
            "task_id": result.task_id, "total": result.total, "succeeded": result.succeeded, "failed": result.failed,
            "failure_report": result.failure_report,
            "rows": [{"row": _row_number(r.row), "certificate_number": r.certificate_number, "errors": _errors(r.errors)}
                     for r in result.rows],
            "person_rows": _person_rows(result.person_failures)}, ensure_ascii=False))
    else:
        click.echo(f"导入任务 {result.task_id}：共 {result.total} 行，成功 {result.succeeded} 行，失败 {result.failed} 行")
        for r in result.rows:
            if r.certificate_number:
                click.echo(f"序号 {r.row}：已发证 {r.certificate_number}")
            else:
                click.echo(f"序号 {r.row}：失败")
                for n, error in enumerate(r.errors, start=1):
                    click.echo(f"  {n}. [{error.rule}] {error.message}")
        _echo_person_failures(result.person_failures)
        if result.failure_report:
            click.echo(f"失败数据（可修改后重新导入）：{result.failure_report}")
    sys.exit(1 if result.failed else 0)
