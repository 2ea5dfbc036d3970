"""The simulator's state in one SQLite file: registry, tokens, reports, switches, counters.

Plain ``sqlite3`` with one connection per request (or per CLI command), autocommit mode and
explicit ``BEGIN IMMEDIATE`` around read-modify-write steps, so several threads and processes
(the embedded simulator beside every portal worker, the CLI) can share the file.
"""
import csv
import json
import sqlite3
import time
from functools import cache
from pathlib import Path

from platform_sim.normalize import normalise_code, normalise_name

DB_NAME = "platform_sim.sqlite3"
DATA_DIR = Path(__file__).with_name("data")
DEFAULT_REGISTRY_CSV = DATA_DIR / "personnel.csv"

MODES = ("normal", "slow", "error500", "refuse", "malformed", "huge", "lose_answer")
ENDPOINTS = ("token", "query", "accept", "status")

DEFAULT_SWITCHES = {
    "mode": "normal",
    # seconds a 'slow' answer waits
    "delay_seconds": 5.0,
    # the mode applies to this many API requests, then the simulator is 'normal' again (None: forever)
    "times": None,
    # the mode applies to these endpoints only (None: all of ENDPOINTS)
    "endpoints": None,
    # 'lose_answer': 'drop' the connection or answer '504'
    "lose_how": "drop",
    # size of a 'huge' body
    "huge_bytes": 5_000_000,
    # seconds between acceptance and the ministry's verdict
    "verdict_delay": 3.0,
    # 'auto' judges the record; 'collected' / 'rejected' force the verdict of records accepted now
    "verdict": "auto",
    "reject_reasons": ["模拟校验失败：数据与备案信息不一致"],
    "token_ttl": 7200,
}

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS persons (
    id INTEGER PRIMARY KEY,
    type_code TEXT NOT NULL,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    id_number TEXT NOT NULL,
    cert_no TEXT NOT NULL,
    cert_key TEXT NOT NULL,
    operation TEXT NOT NULL DEFAULT '',
    company TEXT NOT NULL DEFAULT '',
    issued_on TEXT NOT NULL DEFAULT '',
    valid_until TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT '有效',
    source TEXT NOT NULL DEFAULT 'seed',
    UNIQUE (cert_key, type_code)
);
CREATE INDEX IF NOT EXISTS ix_persons_id_number ON persons (id_number);
CREATE TABLE IF NOT EXISTS tokens (token TEXT PRIMARY KEY, app_id TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS reports (
    id INTEGER PRIMARY KEY,
    app_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    received_at REAL NOT NULL,
    replays INTEGER NOT NULL DEFAULT 0,
    answer TEXT NOT NULL,
    UNIQUE (app_id, idempotency_key)
);
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY,
    report_id INTEGER NOT NULL REFERENCES reports (id),
    ecert_id TEXT NOT NULL,
    cert_num TEXT NOT NULL DEFAULT '',
    operate_type TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL,
    reasons TEXT NOT NULL DEFAULT '[]',
    verdict_state TEXT,
    verdict_reasons TEXT NOT NULL DEFAULT '[]',
    received_at REAL NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_records_ecert_id ON records (ecert_id);
CREATE TABLE IF NOT EXISTS stats (endpoint TEXT PRIMARY KEY, count INTEGER NOT NULL);
"""


def db_path(data_dir):
    return Path(data_dir) / DB_NAME


def connect(data_dir):
    """A new connection in autocommit mode; the caller closes it."""
    conn = sqlite3.connect(db_path(data_dir), timeout=30, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn


def initialise(data_dir, registry_csv=None):
    """Create the file and schema; seed the registry the first time only."""
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    conn = connect(data_dir)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(SCHEMA)
        conn.execute("BEGIN IMMEDIATE")
        seeded = conn.execute("SELECT value FROM meta WHERE key = 'seeded'").fetchone()
        if seeded is None:
            _seed(conn, registry_csv or DEFAULT_REGISTRY_CSV)
            conn.execute("INSERT INTO meta (key, value) VALUES ('seeded', ?)", (str(registry_csv or ""),))
        conn.execute("COMMIT")
    finally:
        conn.close()


def reset(conn, registry_csv=None):
    """Back to the state of a first start: seed registry, no tokens, reports, counters or switches."""
    conn.execute("BEGIN IMMEDIATE")
    for table in ("records", "reports", "tokens", "stats", "persons"):
        conn.execute(f"DELETE FROM {table}")
    conn.execute("DELETE FROM meta WHERE key = 'switches'")
    _seed(conn, registry_csv or DEFAULT_REGISTRY_CSV)
    conn.execute("COMMIT")


def _seed(conn, registry_csv):
    with open(registry_csv, encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            insert_person(conn, row, source="seed")


@cache
def load_person_types():
    """{'1101': '总监理工程师', ...}: the 人员类型 code table, read once."""
    with open(DATA_DIR / "person_types.csv", encoding="utf-8", newline="") as fh:
        return {row["code"]: row["name"] for row in csv.DictReader(fh)}


def insert_person(conn, row, source="admin"):
    """Insert one registry row (keys as in personnel.csv); returns its id."""
    cur = conn.execute(
        "INSERT INTO persons (type_code, name, name_key, id_number, cert_no, cert_key, operation, company,"
        " issued_on, valid_until, status, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            row["type_code"].strip(),
            row["name"].strip(),
            normalise_name(row["name"]),
            normalise_code(row["id_number"]),
            row["cert_no"].strip(),
            normalise_code(row["cert_no"]),
            row.get("operation") or "",
            row.get("company") or "",
            row.get("issued_on") or "",
            row.get("valid_until") or "",
            row.get("status") or "有效",
            source,
        ),
    )
    return cur.lastrowid


def find_persons(conn, name, id_number, cert_no="", type_code=""):
    """Registry rows of exactly this person (and certificate / type when given)."""
    rows = conn.execute(
        "SELECT * FROM persons WHERE id_number = ? AND name_key = ? ORDER BY id",
        (normalise_code(id_number), normalise_name(name)),
    ).fetchall()
    cert_key = normalise_code(cert_no)
    type_code = (type_code or "").strip()
    return [
        r for r in rows
        if (not cert_key or r["cert_key"] == cert_key) and (not type_code or r["type_code"] == type_code)
    ]


def list_persons(conn):
    return [dict(r) for r in conn.execute("SELECT * FROM persons ORDER BY id")]


# --- switches -------------------------------------------------------------------------------------

def get_switches(conn):
    row = conn.execute("SELECT value FROM meta WHERE key = 'switches'").fetchone()
    switches = dict(DEFAULT_SWITCHES)
    if row is not None:
        switches.update(json.loads(row["value"]))
    return switches


def put_switches(conn, switches):
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('switches', ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (json.dumps(switches, ensure_ascii=False),),
    )


def validate_switches(changes, current):
    """Merge ``changes`` into ``current``; returns (merged, error message or None)."""
    merged = dict(current)
    unknown = sorted(set(changes) - set(DEFAULT_SWITCHES))
    if unknown:
        return None, f"unknown switch(es): {', '.join(unknown)}"
    merged.update(changes)
    if merged["mode"] not in MODES:
        return None, f"mode must be one of {', '.join(MODES)}"
    try:
        for key in ("delay_seconds", "verdict_delay"):
            merged[key] = float(merged[key])
            if merged[key] < 0:
                return None, f"{key} must be >= 0"
        merged["huge_bytes"] = int(merged["huge_bytes"])
        merged["token_ttl"] = int(merged["token_ttl"])
        if merged["times"] is not None:
            merged["times"] = int(merged["times"])
    except (TypeError, ValueError):
        return None, "numeric switch with a non-numeric value"
    if merged["endpoints"] is not None:
        if isinstance(merged["endpoints"], str):
            merged["endpoints"] = [merged["endpoints"]]
        if not set(merged["endpoints"]) <= set(ENDPOINTS):
            return None, f"endpoints must be among {', '.join(ENDPOINTS)}"
    if merged["lose_how"] not in ("drop", "504"):
        return None, "lose_how must be 'drop' or '504'"
    if merged["verdict"] not in ("auto", "collected", "rejected"):
        return None, "verdict must be 'auto', 'collected' or 'rejected'"
    if not isinstance(merged["reject_reasons"], list):
        merged["reject_reasons"] = [str(merged["reject_reasons"])]
    return merged, None


def take_fault(conn, endpoint):
    """The fault mode this request suffers ('normal' if none), counting down ``times``."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "INSERT INTO stats (endpoint, count) VALUES (?, 1)"
            " ON CONFLICT (endpoint) DO UPDATE SET count = count + 1",
            (endpoint,),
        )
        switches = get_switches(conn)
        mode = switches["mode"]
        if mode == "normal" or (switches["endpoints"] and endpoint not in switches["endpoints"]):
            conn.execute("COMMIT")
            return "normal", switches
        if switches["times"] is not None:
            remaining = switches["times"] - 1
            stored = dict(switches, times=remaining)
            if remaining <= 0:
                stored.update(mode="normal", times=None, endpoints=None)
            put_switches(conn, stored)
        conn.execute("COMMIT")
        return mode, switches
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def stats(conn):
    counts = {name: 0 for name in ENDPOINTS}
    counts.update({r["endpoint"]: r["count"] for r in conn.execute("SELECT * FROM stats")})
    return counts


# --- tokens ---------------------------------------------------------------------------------------

def store_token(conn, token, app_id, ttl):
    now = time.time()
    conn.execute("DELETE FROM tokens WHERE expires_at < ?", (now,))
    conn.execute("INSERT INTO tokens (token, app_id, expires_at) VALUES (?, ?, ?)",
                 (token, app_id, now + ttl))


def token_app_id(conn, token):
    row = conn.execute("SELECT app_id, expires_at FROM tokens WHERE token = ?", (token,)).fetchone()
    if row is None or row["expires_at"] < time.time():
        return None
    return row["app_id"]


def revoke_tokens(conn):
    conn.execute("DELETE FROM tokens")


# --- reports --------------------------------------------------------------------------------------

def list_reports(conn):
    """Every stored report with its records, oldest first, and the count of records per eCertID."""
    reports = []
    counts = {}
    records_by_report = {}
    for r in conn.execute("SELECT * FROM records ORDER BY id"):
        item = {
            "eCertID": r["ecert_id"],
            "certNum": r["cert_num"],
            "operateType": r["operate_type"],
            "outcome": r["outcome"],
            "reasons": json.loads(r["reasons"]),
            "verdict": r["verdict_state"],
            "verdictReasons": json.loads(r["verdict_reasons"]),
            "record": json.loads(r["record"]),
        }
        records_by_report.setdefault(r["report_id"], []).append(item)
        counts[r["ecert_id"]] = counts.get(r["ecert_id"], 0) + 1
    for r in conn.execute("SELECT * FROM reports ORDER BY id"):
        reports.append({
            "id": r["id"],
            "appId": r["app_id"],
            "idempotencyKey": r["idempotency_key"],
            "receivedAt": _iso(r["received_at"]),
            "replays": r["replays"],
            "answer": json.loads(r["answer"]),
            "records": records_by_report.get(r["id"], []),
        })
    return {"reports": reports, "counts": counts}


def latest_accepted(conn, ecert_id):
    return conn.execute(
        "SELECT * FROM records WHERE ecert_id = ? COLLATE NOCASE AND outcome IN ('success', 'warn')"
        " ORDER BY id DESC LIMIT 1",
        (ecert_id,),
    ).fetchone()


def _iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(ts))
