"""``flask platform-sim ...``: run the simulator, register a person, list received reports."""
import json
import os

import click

from platform_sim import store
from platform_sim.app import create_sim_app, person_row


def _default_data_dir():
    from flask import current_app

    if current_app:
        configured = current_app.config.get("PLATFORM_SIM_DATA_DIR")
        return configured or os.path.join(current_app.instance_path, "platform_sim")
    return os.environ.get("PLATFORM_SIM_DATA_DIR") or os.path.join("instance", "platform_sim")


def _open(data_dir):
    data_dir = data_dir or _default_data_dir()
    store.initialise(data_dir)
    return data_dir, store.connect(data_dir)


data_dir_option = click.option(
    "--data-dir", type=click.Path(file_okay=False),
    help="Simulator state folder (default: PLATFORM_SIM_DATA_DIR or instance/platform_sim).",
)


@click.group("platform-sim")
def platform_sim_cli():
    """Simulator of 全国工程质量安全监管信息平台 (personnel lookup, certificate reports)."""


@platform_sim_cli.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5100, show_default=True, type=int)
@click.option("--app-id", default=None, help="Accepted appId (default PLATFORM_APP_ID or sx-dev).")
@click.option("--app-secret", default=None, 
              help="Accepted appSecret (default PLATFORM_APP_SECRET or sx-dev-secret).")
@data_dir_option
def run(host, port, app_id, app_secret, data_dir):
    """Serve the simulator until interrupted."""
    from flask import current_app
    from werkzeug.serving import run_simple

    if current_app:
        app_id = app_id or current_app.config.get("PLATFORM_APP_ID")
        app_secret = app_secret or current_app.config.get("PLATFORM_APP_SECRET")
    data_dir = data_dir or _default_data_dir()
    app = create_sim_app(data_dir, app_id=app_id, app_secret=app_secret)
    click.echo(f"全国工程质量安全监管信息平台模拟器: http://{host}:{port}  (state: {store.db_path(data_dir)})")
    click.echo(f"appId: {app.config['SIM_APP_ID']}")
    run_simple(host, port, app, threaded=True, use_reloader=False)


@platform_sim_cli.command("add-person")
@click.option("--name", required=True, help="姓名")
@click.option("--id-number", required=True, help="身份证号码 (18 characters)")
@click.option("--cert-no", required=True, help="特种作业操作资格证书编号, e.g. 晋A042019000123")
@click.option("--type", "type_code", required=True, help="人员类型代码 (1108, 1109, 1113, ...)")
@click.option("--company", default="", help="聘用企业")
@data_dir_option
def add_person(name, id_number, cert_no, type_code, company, data_dir):
    """Register one person in the simulated registry."""
    row, problem = person_row({"name": name, "id_number": id_number, "cert_no": cert_no,
                               "type_code": type_code, "company": company})
    if problem:
        raise click.ClickException(problem)
    data_dir, conn = _open(data_dir)
    try:
        store.insert_person(conn, row)
    except store.sqlite3.IntegrityError:
        raise click.ClickException(f"证书编号 {row['cert_no']}（{type_code}）已登记")
    finally:
        conn.close()
    click.echo(f"已登记 {row['name']} {row['id_number']} {row['cert_no']} {row['type_code']} {row['operation']}")


@platform_sim_cli.command("list-persons")
@data_dir_option
def list_persons(data_dir):
    """List the simulated registry."""
    data_dir, conn = _open(data_dir)
    try:
        for p in store.list_persons(conn):
            click.echo(f"{p['type_code']}\t{p['name']}\t{p['id_number']}\t{p['cert_no']}\t{p['operation']}")
    finally:
        conn.close()


@platform_sim_cli.command("list-reports")
@click.option("--json", "as_json", is_flag=True, help="Print the raw JSON of GET /_sim/reports.")
@data_dir_option
def list_reports(as_json, data_dir):
    """List the certificate reports the simulator has received."""
    data_dir, conn = _open(data_dir)
    try:
        listing = store.list_reports(conn)
        switches = store.get_switches(conn)
    finally:
        conn.close()
    if as_json:
        click.echo(json.dumps(listing, ensure_ascii=False, indent=2))
        return
    if not listing["reports"]:
        click.echo("尚未收到上报。")
        return
    for report in listing["reports"]:
        click.echo(f"#{report['id']} {report['receivedAt']} key={report['idempotencyKey']} "
                   f"replays={report['replays']}")
        for r in report["records"]:
            verdict = r["verdict"] or "-"
            reasons = "；".join(r["reasons"] + r["verdictReasons"])
            click.echo(f"  {r['eCertID']} {r['certNum']} operateType={r['operateType']} "
                       f"{r['outcome']} verdict={verdict} {reasons}".rstrip())
    click.echo(f"共 {len(listing['reports'])} 次上报；verdict_delay={switches['verdict_delay']}s")
