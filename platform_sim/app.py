"""The simulator of 全国工程质量安全监管信息平台: a small Flask app over one SQLite file."""
import hashlib
import hmac
import json
import os
import secrets
import socket
import time
from pathlib import Path

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request

from platform_sim import records as rec
from platform_sim import store
from platform_sim.normalize import id_number_is_valid, mask_id_number, normalise_code, normalise_name

DEFAULT_APP_ID = "sx-dev"
DEFAULT_APP_SECRET = "sx-dev-secret"
MAX_RECORDS = 500

api = Blueprint("api", __name__, url_prefix="/api")
admin = Blueprint("sim", __name__, url_prefix="/_sim")


def create_sim_app(data_dir, registry_csv=None, *, app_id=None, app_secret=None, verdict_delay=None):
    """The simulator app; its state lives in ``data_dir/platform_sim.sqlite3``.

    The registry is seeded from ``registry_csv`` (default ``platform_sim/data/personnel.csv``) the
    first time the file is created. Credentials default to PLATFORM_SIM_APP_ID /
    PLATFORM_SIM_APP_SECRET from the environment, else sx-dev / sx-dev-secret.
    """
    data_dir = Path(data_dir)
    app = Flask(__name__)
    app.config.update(
        SIM_DATA_DIR=str(data_dir),
        SIM_REGISTRY_CSV=str(registry_csv) if registry_csv else None,
        SIM_APP_ID=app_id or os.environ.get("PLATFORM_SIM_APP_ID") or DEFAULT_APP_ID,
        SIM_APP_SECRET=app_secret or os.environ.get("PLATFORM_SIM_APP_SECRET") or DEFAULT_APP_SECRET,
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
    )
    app.json.ensure_ascii = False
    store.initialise(data_dir, registry_csv)
    if verdict_delay is not None:
        conn = store.connect(data_dir)
        try:
            merged, _ = store.validate_switches({"verdict_delay": verdict_delay}, store.get_switches(conn))
            store.put_switches(conn, merged)
        finally:
            conn.close()
    app.register_blueprint(api)
    app.register_blueprint(admin)
    app.teardown_appcontext(_close_db)
    app.register_error_handler(404, lambda e: _error(404, "not_found", "接口不存在"))
    app.register_error_handler(405, lambda e: _error(405, "method_not_allowed", "请求方法不允许"))
    app.register_error_handler(413, lambda e: _error(413, "too_large", "请求体过大"))
    return app


def _db():
    if "sim_db" not in g:
        g.sim_db = store.connect(current_app.config["SIM_DATA_DIR"])
    return g.sim_db


def _close_db(exc=None):
    conn = g.pop("sim_db", None)
    if conn is not None:
        conn.close()


def _error(status, code, message):
    response = jsonify(error=code, message=message)
    response.status_code = status
    return response


def _drop_connection():
    """Close the client's socket without an answer (the dev server then drops the request quietly)."""
    sock = request.environ.get("werkzeug.socket")
    if sock is None:  # not under the Werkzeug server: the nearest thing is a gateway timeout
        return _error(504, "gateway_timeout", "网关超时")
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    return Response(b"", status=200)


def _huge_body(size):
    head = b'{"found": true, "SuccessData": [], "padding": "'
    tail = b'"}'

    def generate():
        yield head
        left = max(size - len(head) - len(tail), 0)
        chunk = b"x" * 65536
        while left > 0:
            yield chunk[:left]
            left -= len(chunk)
        yield tail

    return Response(generate(), status=200, mimetype="application/json")


# --- API: faults and auth -------------------------------------------------------------------------

_SHORT_NAMES = {"api.token": "token", "api.personnel_query": "query", "api.cert_accept": "accept",
                "api.cert_status": "status"}


@api.before_request
def apply_switches():
    """Count the request and inflict the fault mode currently switched on."""
    endpoint = _SHORT_NAMES.get(request.endpoint)
    if endpoint is None:
        return None
    mode, switches = store.take_fault(_db(), endpoint)
    g.sim_mode, g.sim_switches = mode, switches
    if mode == "slow":
        time.sleep(switches["delay_seconds"])
    elif mode == "error500":
        return _error(500, "internal_error", "服务器内部错误")
    elif mode == "refuse":
        return _drop_connection()
    elif mode == "malformed":
        return Response('{"found": true, "person": {"name": "', status=200, mimetype="application/json")
    elif mode == "huge":
        return _huge_body(switches["huge_bytes"])
    if endpoint != "token":
        token = request.headers.get("Authorization", "")
        scheme, _, value = token.partition(" ")
        app_id = store.token_app_id(_db(), value.strip()) if scheme.lower() == "bearer" else None
        if app_id is None:
            response = _error(401, "invalid_token", "访问令牌无效或已过期")
            response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            return response
        g.sim_app_id = app_id
    return None


@api.after_request
def lose_answer(response):
    """'lose_answer': the work is done and committed, but the answer never reaches the client."""
    if g.get("sim_mode") == "lose_answer":
        if g.sim_switches["lose_how"] == "504":
            return _error(504, "gateway_timeout", "网关超时")
        return _drop_connection()
    return response


@api.post("/auth/token")
def token():
    """Exchange appId / appSecret for a bearer token."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        body = request.form.to_dict()
    app_id, app_secret = body.get("appId"), body.get("appSecret")
    if not isinstance(app_id, str) or not isinstance(app_secret, str) or not app_id or not app_secret:
        return _error(400, "invalid_request", "缺少 appId 或 appSecret")
    ok_id = hmac.compare_digest(app_id.encode(), current_app.config["SIM_APP_ID"].encode())
    ok_secret = hmac.compare_digest(app_secret.encode(), current_app.config["SIM_APP_SECRET"].encode())
    if not (ok_id and ok_secret):
        return _error(401, "invalid_client", "appId 或 appSecret 错误")
    ttl = g.sim_switches["token_ttl"]
    value = secrets.token_urlsafe(32)
    store.store_token(_db(), value, app_id, ttl)
    return jsonify(access_token=value, token_type="Bearer", expires_in=ttl)


# --- API: personnel -------------------------------------------------------------------------------

@api.post("/personnel/query")
def personnel_query():
    """Is this special-operation worker (name + ID number [+ certificate, type]) registered?"""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error(400, "invalid_request", "请求体必须是 JSON 对象")
    values = {k: body.get(k) or "" for k in ("name", "idNumber", "certNum", "typeCode")}
    if not all(isinstance(v, str) for v in values.values()):
        return _error(400, "invalid_request", "查询条件必须是字符串")
    if not normalise_name(values["name"]) or not normalise_code(values["idNumber"]):
        return _error(400, "invalid_request", "姓名和身份证号码不能为空")
    rows = store.find_persons(_db(), values["name"], values["idNumber"], values["certNum"],
                              values["typeCode"])
    if not rows:
        return jsonify(found=False)
    person = rows[0]
    types = store.load_person_types()
    return jsonify(found=True, person={
        "name": person["name"],
        "idNumber": mask_id_number(person["id_number"]),
        "certNum": person["cert_no"],
        "typeCode": person["type_code"],
        "typeName": types.get(person["type_code"], ""),
        "operation": person["operation"],
        "company": person["company"],
        "issuedOn": person["issued_on"],
        "validUntil": person["valid_until"],
        "status": person["status"],
    })


# --- API: certificate reports ---------------------------------------------------------------------

def _request_hash(payload):
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@api.post("/cert/accept")
def cert_accept():
    """Receive AcceptData; answer SuccessData / WarnData / ErrorData; replay a known Idempotency-Key."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key or len(key) > 200:
        return _error(400, "invalid_request", "缺少 Idempotency-Key 请求头（1–200 个字符）")
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict) or not isinstance(payload.get("AcceptData"), list):
        return _error(400, "invalid_request", "请求体必须是 {\"AcceptData\": [...]}")
    records = payload["AcceptData"]
    if not records:
        return _error(400, "invalid_request", "AcceptData 不能为空")
    if len(records) > MAX_RECORDS:
        return _error(413, "too_many_records", f"一次最多上报 {MAX_RECORDS} 条记录")
    conn, app_id, digest, now = _db(), g.sim_app_id, _request_hash(payload), time.time()
    conn.execute("BEGIN IMMEDIATE")
    try:
        known = conn.execute(
            "SELECT * FROM reports WHERE app_id = ? AND idempotency_key = ?", (app_id, key)
        ).fetchone()
        if known is not None:
            if known["request_hash"] != digest:
                conn.execute("ROLLBACK")
                return _error(422, "idempotency_conflict", "该 Idempotency-Key 已用于内容不同的请求")
            conn.execute("UPDATE reports SET replays = replays + 1 WHERE id = ?", (known["id"],))
            conn.execute("COMMIT")
            response = current_app.response_class(known["answer"], mimetype="application/json")
            response.headers["Idempotent-Replayed"] = "true"
            return response
        answer, rows = _sort_records(conn, records, g.sim_switches, now)
        answer_text = json.dumps(answer, ensure_ascii=False)
        report_id = conn.execute(
            "INSERT INTO reports (app_id, idempotency_key, request_hash, received_at, answer)"
            " VALUES (?, ?, ?, ?, ?)",
            (app_id, key, digest, now, answer_text),
        ).lastrowid
        conn.executemany(
            "INSERT INTO records (report_id, ecert_id, cert_num, operate_type, outcome, reasons,"
            " verdict_state, verdict_reasons, record, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(report_id, *row, now) for row in rows],
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return current_app.response_class(answer_text, mimetype="application/json")


def _sort_records(conn, records, switches, now):
    answer = {"SuccessData": [], "WarnData": [], "ErrorData": []}
    rows, seen = [], set()
    for record in records:
        outcome, ecert_id, reasons = rec.sort_record(record, seen)
        cert_num = record.get("certNum", "") if isinstance(record, dict) else ""
        cert_num = cert_num if isinstance(cert_num, str) else ""
        operate_type = record.get("operateType", "") if isinstance(record, dict) else ""
        operate_type = operate_type if isinstance(operate_type, str) else ""
        verdict, verdict_reasons = None, []
        if outcome == "error":
            answer["ErrorData"].append({"eCertID": ecert_id, "reason": "；".join(reasons)})
        else:
            previous = store.latest_accepted(conn, ecert_id)
            if previous is not None and previous["operate_type"] == operate_type:
                reasons.append("重复上报，以本次数据为准")
                outcome = "warn"
            verdict, verdict_reasons = rec.judge_record(conn, record, switches)
            if outcome == "warn":
                answer["WarnData"].append(
                    {"eCertID": ecert_id, "certNum": cert_num, "reason": "；".join(reasons)})
            else:
                answer["SuccessData"].append({"eCertID": ecert_id, "certNum": cert_num})
        rows.append((
            ecert_id, cert_num, operate_type, outcome, json.dumps(reasons, ensure_ascii=False),
            verdict, json.dumps(verdict_reasons, ensure_ascii=False),
            json.dumps(record, ensure_ascii=False),
        ))
    return answer, rows


@api.get("/cert/status/<ecert_id>")
def cert_status(ecert_id):
    """accepted until the verdict delay has passed since receipt, then collected / rejected."""
    row = store.latest_accepted(_db(), ecert_id)
    if row is None:
        return _error(404, "not_found", "未找到该证照的上报记录")
    delay = g.sim_switches["verdict_delay"]
    body = {"eCertID": row["ecert_id"], "certNum": row["cert_num"], "operateType": row["operate_type"],
            "receivedAt": store._iso(row["received_at"]), "state": "accepted", "reasons": []}
    if time.time() >= row["received_at"] + delay:
        body["state"] = row["verdict_state"]
        body["reasons"] = json.loads(row["verdict_reasons"])
    return jsonify(body)


# --- admin / test endpoints (loopback only, no auth) ----------------------------------------------

@admin.before_request
def loopback_only():
    if request.remote_addr not in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
        return _error(403, "forbidden", "模拟器管理接口只接受本机访问")
    return None


@admin.get("/reports")
def sim_reports():
    """Every received report with its records; counts of records per eCertID."""
    return jsonify(store.list_reports(_db()))


@admin.get("/switches")
def sim_get_switches():
    return jsonify(store.get_switches(_db()))


@admin.post("/switches")
def sim_switches():
    """Merge the given switches (mode, delay_seconds, times, endpoints, verdict_delay, ...)."""
    changes = request.get_json(silent=True)
    if not isinstance(changes, dict):
        return _error(400, "invalid_request", "body must be a JSON object")
    conn = _db()
    conn.execute("BEGIN IMMEDIATE")
    merged, problem = store.validate_switches(changes, store.get_switches(conn))
    if problem:
        conn.execute("ROLLBACK")
        return _error(400, "invalid_switch", problem)
    store.put_switches(conn, merged)
    conn.execute("COMMIT")
    return jsonify(merged)


@admin.post("/reset")
def sim_reset():
    """Back to a first start: seeded registry, no tokens, reports, counters, default switches."""
    store.reset(_db(), current_app.config["SIM_REGISTRY_CSV"])
    return jsonify(ok=True)


@admin.post("/tokens/revoke")
def sim_revoke_tokens():
    """Invalidate every issued token (as if they had expired)."""
    store.revoke_tokens(_db())
    return jsonify(ok=True)


@admin.get("/stats")
def sim_stats():
    """Number of API requests per endpoint (token, query, accept, status)."""
    return jsonify(store.stats(_db()))


@admin.get("/persons")
def sim_list_persons():
    return jsonify(persons=store.list_persons(_db()))


@admin.post("/persons")
def sim_add_person():
    """Register one person: {name, idNumber, certNum, typeCode[, company, operation, validUntil]}."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error(400, "invalid_request", "body must be a JSON object")
    row, problem = person_row(body)
    if problem:
        return _error(400, "invalid_person", problem)
    conn = _db()
    try:
        person_id = store.insert_person(conn, row)
    except store.sqlite3.IntegrityError:
        return _error(409, "duplicate", "该证书编号已登记")
    row["id"] = person_id
    return jsonify(row), 201


@admin.post("/verdicts/<ecert_id>")
def sim_set_verdict(ecert_id):
    """Decide the verdict of the latest accepted record of an eCertID: {state, reasons}."""
    body = request.get_json(silent=True) or {}
    if body.get("state") not in ("collected", "rejected"):
        return _error(400, "invalid_request", "state must be 'collected' or 'rejected'")
    row = store.latest_accepted(_db(), ecert_id)
    if row is None:
        return _error(404, "not_found", "未找到该证照的上报记录")
    reasons = body.get("reasons") or ([] if body["state"] == "collected" else ["校验失败"])
    _db().execute("UPDATE records SET verdict_state = ?, verdict_reasons = ? WHERE id = ?",
                  (body["state"], json.dumps(reasons, ensure_ascii=False), row["id"]))
    return jsonify(ok=True)


def person_row(body):
    """A registry row from API/CLI input (camelCase or snake_case keys); (row, problem)."""
    def pick(*keys):
        for key in keys:
            if body.get(key):
                return str(body[key]).strip()
        return ""

    row = {
        "name": pick("name"),
        "id_number": normalise_code(pick("idNumber", "id_number")),
        "cert_no": normalise_code(pick("certNum", "cert_no", "certificate_no")),
        "type_code": pick("typeCode", "type_code", "type"),
        "operation": pick("operation"),
        "company": pick("company"),
        "issued_on": pick("issuedOn", "issued_on"),
        "valid_until": pick("validUntil", "valid_until"),
        "status": pick("status") or "有效",
    }
    types = store.load_person_types()
    if not normalise_name(row["name"]):
        return None, "姓名不能为空"
    if not id_number_is_valid(row["id_number"]):
        return None, "身份证号码无效（应为 18 位，校验位与出生日期正确）"
    if not row["cert_no"]:
        return None, "证书编号不能为空"
    if row["type_code"] not in types:
        return None, "人员类型代码无效（应为 1101–1113）"
    row["operation"] = row["operation"] or types[row["type_code"]]
    return row, None
