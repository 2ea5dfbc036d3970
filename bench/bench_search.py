"""证照维护 search at scale: 1,000,000 certificates in PostgreSQL, timed through the real service and page.

    DATABASE_URL=postgresql+psycopg2://postgres@127.0.0.1:55433/postgres python bench/bench_search.py

Builds the schema in a scratch schema (`bench_search`, dropped at the end unless --keep), fills it with
generate_series SQL, ANALYZEs, then times search_certificates() in an app context and the list page
through the test client (logged in through the real SMS flow): median and p95 over --runs runs each.
Target: p95 < 100 ms for 证书编号 (whole or any part), 使用单位 / 工程名称 (any part of three characters or
more: pg_trgm GIN indexes) and the 上报状态 filter. A two-character fragment cannot use trigrams: it is
printed for information. Without PostgreSQL it skips (exit 0).
"""
import argparse
import itertools
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SCHEMA = "bench_search"
TARGET_MS = 100.0
TARGETED = ("number", "number, any part (7 digits)", "number, ASCII parentheses part", "holder_name prefix (1 unit)",
            "holder_name contains (1 unit)", "project_name contains", "report_state 上报失败",
            "crane_type S + holder_name contains")


def _percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def _fill_sql(rows):
    """One INSERT … SELECT generate_series: 80 % Taiyuan (authority 1), 20 % Datong (2), 10 % cancelled."""
    return f"""
    INSERT INTO certificates (
        ecert_id, number, verify_token, authority_id, year, serial, status, holder_name, holder_uscc,
        authority_name, authority_uscc, issue_date, valid_until, crane_type, model, record_number, manufacturer,
        serial_number, manufacture_date, owner_name, owner_uscc, installer_name, installer_uscc, supervision_name,
        supervision_uscc, contractor_name, contractor_uscc, project_name, project_address, project_division,
        location, permit_number, business, pdf_state, report_state, created_at, cancelled_at, cancel_reason,
        license_id, ofd_state)
    SELECT
        upper(md5('e' || i)), d.division || t.letter || '（' || extract(year FROM d.issued)::int || '）' || lpad(i::text, 7, '0'),
        md5('v' || i) || lpad(i::text, 8, '0'), d.authority_id, extract(year FROM d.issued)::int, i,
        CASE WHEN i % 10 = 0 THEN 'cancelled' ELSE 'issued' END,
        '山西' || lpad((i % 50000)::text, 5, '0') || '建筑工程有限公司', '91140105MA' || lpad((i % 50000)::text, 8, '0'),
        d.authority_name, d.authority_uscc, d.issued, NULL, t.letter, 'QTZ80', d.prefix || '-' || t.letter ||
        lpad((i / 30)::text, 5, '0') || chr(65 + i % 26), '测试建筑机械有限公司', 'SN' || i, d.issued - 400,
        '租赁公司', '91140105MA0CRAN02', '安装公司', '91140105MA0CRAN03', '监理公司', '91140105MA0CRAN04', '', '',
        '测试工程' || lpad((i % 100000)::text, 6, '0') || '号楼', '山西省测试路 1 号', d.division, '112.5492,37.8570',
        d.division || '202501150101', '{{}}'::json, 'signed', CASE WHEN i % 997 = 0 THEN 'failed' ELSE 'collected' END, d.issued + time '09:00',
        CASE WHEN i % 10 = 0 THEN d.issued + 30 END, CASE WHEN i % 10 = 0 THEN '设备已拆除' END,
        -- the GB/T 36904 identifier's shape, unique (its check digit not computed: nothing here reads it)
        '1.2.156.3005.2.JZQZJXSYDJZ.' || d.authority_uscc || '.' || d.division || t.letter ||
        extract(year FROM d.issued)::int || lpad(i::text, 7, '0') || '.001.0', 'signed'
    FROM generate_series(1, {rows}) AS i
    CROSS JOIN LATERAL (SELECT CASE WHEN i % 5 = 0 THEN 2 ELSE 1 END AS authority_id,
                               CASE WHEN i % 5 = 0 THEN '140213' ELSE '140105' END AS division,
                               CASE WHEN i % 5 = 0 THEN '晋BU' ELSE '晋AA' END AS prefix,
                               CASE WHEN i % 5 = 0 THEN '大同市住房和城乡建设局' ELSE '太原市住房和城乡建设局' END AS authority_name,
                               CASE WHEN i % 5 = 0 THEN '11140200MB0000003U' ELSE '11140100MB0000002K' END AS authority_uscc,
                               date '2019-01-01' + (i * 7 / 3000) AS issued) AS d
    CROSS JOIN LATERAL (SELECT (ARRAY['T', 'S', 'W'])[1 + i % 3] AS letter) AS t
    """


def _time(label, function, runs):
    function()  # warm the plan and the buffers once
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000)
    median, p95 = statistics.median(samples), _percentile(samples, 0.95)
    print(f"  {label:<44} median {median:7.1f} ms   p95 {p95:7.1f} ms")
    return p95


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--keep", action="store_true", help="keep the scratch schema (and reuse it next time)")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        print("bench_search: skipped — set DATABASE_URL to a PostgreSQL database "
              "(e.g. postgresql+psycopg2://postgres@127.0.0.1:55433/postgres)")
        return 0

    import sqlalchemy as sa
    admin_engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as connection:
        exists = connection.scalar(sa.text("SELECT count(*) FROM information_schema.schemata WHERE schema_name = :s"),
                                   {"s": SCHEMA})
        if exists and not args.keep:
            connection.execute(sa.text(f"DROP SCHEMA {SCHEMA} CASCADE"))
            exists = 0
        if not exists:
            connection.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))

    work = Path(tempfile.mkdtemp(prefix="bench-search-"))
    from portal import create_app
    from portal.config import TestConfig

    class BenchConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = url
        SQLALCHEMY_ENGINE_OPTIONS = {"connect_args": {"options": f"-csearch_path={SCHEMA},public"}}
        SMS_OUTBOX_PATH = str(work / "sms.jsonl")
        PKI_DIR = str(work / "pki")
        STORAGE_DIR = str(work / "storage")
        PLATFORM_SIM_DATA_DIR = str(work / "sim")
        RQ_ASYNC = False
        SMS_RESEND_SECONDS = 0  # a re-run with --keep logs in again at once

    app = create_app(BenchConfig)
    try:
        with app.app_context():
            return _run(app, args)
    finally:
        if not args.keep:
            with admin_engine.connect() as connection:
                connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        admin_engine.dispose()
        shutil.rmtree(work, ignore_errors=True)


def _run(app, args):
    import sqlalchemy as sa

    import portal.auth.models
    from portal.auth.models import User
    from portal.certificates.models import Certificate
    from portal.cli import seed_demo
    from portal.extensions import db
    from portal.maintenance.services import SearchFilters, search_certificates
    from tests.conftest import Auth

    portal.auth.models.PASSWORD_METHOD = "scrypt:1024:8:1"
    db.create_all()
    seed_demo()
    have = db.session.scalar(sa.select(sa.func.count(Certificate.id)))
    if have != args.rows:
        db.session.execute(sa.text("TRUNCATE certificates RESTART IDENTITY CASCADE"))
        db.session.commit()
        start = time.perf_counter()
        # Building a GIN index once is far cheaper than growing it row by row: drop, fill, build.
        trigram = [index for index in Certificate.__table__.indexes if index.name.endswith("_trgm")]
        for index in trigram:
            index.drop(db.session.connection())
        db.session.execute(sa.text(_fill_sql(args.rows)))
        for index in trigram:
            index.create(db.session.connection())
        db.session.commit()
        filled = time.perf_counter() - start
        start = time.perf_counter()
        db.session.execute(sa.text("ANALYZE certificates"))
        db.session.commit()
        print(f"bench_search: inserted {args.rows:,} certificates in {filled:.1f} s, ANALYZE {time.perf_counter() - start:.1f} s")
    else:
        print(f"bench_search: reusing {have:,} certificates in schema {SCHEMA}")

    clerk = db.session.scalar(sa.select(User).filter_by(username="clerk"))
    admin = db.session.scalar(sa.select(User).filter_by(username="admin"))
    rng = random.Random(7)
    numbers = db.session.scalars(sa.select(Certificate.number).where(Certificate.authority_id == 1)
                                 .order_by(sa.func.random()).limit(args.runs + 1)).all()
    records = db.session.scalars(sa.select(Certificate.record_number).where(Certificate.authority_id == 1)
                                 .order_by(sa.func.random()).limit(args.runs + 1)).all()

    def cycle(values):
        iterator = itertools.cycle(values)
        return lambda: next(iterator)

    next_number, next_record = cycle(numbers), cycle(records)

    def name_prefix():  # '山西01234建筑' → one company, 20 certificates
        return f"山西{rng.randrange(50000):05d}建筑"

    def broad_prefix():  # '山西0123' → ten companies, ~200 certificates
        return f"山西{rng.randrange(5000):04d}"

    def project_prefix():
        return f"测试工程{rng.randrange(100000):06d}"

    def serial_fragment():  # 7 digits out of the middle of a number: one or two certificates
        return next_number()[-9:-2]

    def name_middle():  # a fragment inside the name: one company, 20 certificates
        return f"{rng.randrange(50000):05d}建筑"

    def project_middle():
        return f"{rng.randrange(100000):06d}号楼"

    scenarios = [
        ("number", lambda: SearchFilters(number=next_number())),
        ("number, any part (7 digits)", lambda: SearchFilters(number=serial_fragment())),
        ("number, ASCII parentheses part", lambda: SearchFilters(number=f"T({rng.randrange(2019, 2026)})00{rng.randrange(10000):04d}")),
        ("holder_name contains (1 unit)", lambda: SearchFilters(holder_name=name_middle())),
        ("project_name contains", lambda: SearchFilters(project_name=project_middle())),
        ("report_state 上报失败", lambda: SearchFilters(report_state="failed")),
        ("crane_type S + holder_name contains", lambda: SearchFilters(crane_type="S", holder_name=name_middle())),
        ("holder_name 2 chars, no match (info)", lambda: SearchFilters(holder_name="建投")),
        ("holder_name prefix (1 unit)", lambda: SearchFilters(holder_name=name_prefix())),
        ("holder_name prefix (10 units)", lambda: SearchFilters(holder_name=broad_prefix())),
        ("record_number", lambda: SearchFilters(record_number=next_record())),
        ("project_name prefix", lambda: SearchFilters(project_name=project_prefix())),
        ("unfiltered first page", lambda: SearchFilters()),
        ("status + issue-date range", lambda: SearchFilters(status="cancelled", issued_from=_date(2024, 1, 1),
                                                            issued_to=_date(2024, 3, 31))),
    ]
    failures = []
    for user in (clerk, admin):
        print(f"\nsearch_certificates() as {user.username} ({args.runs} runs each)")
        for label, make in scenarios:
            p95 = _time(label, lambda: _page(search_certificates(user, make())), args.runs)
            if label in TARGETED and p95 > TARGET_MS:
                failures.append(f"{user.username}: {label} p95 {p95:.1f} ms")

    print("\nquery plans (clerk):")
    for label, make in scenarios:
        print(f"  {label}: {_plan(clerk, make())}")

    client = app.test_client()
    Auth(app, client).login("clerk")
    print(f"\nGET /maintenance/crane as clerk through the test client ({args.runs} runs each)")
    pages = [
        ("?number=…", lambda: {"number": next_number()}),
        ("?holder_name=… (1 unit)", lambda: {"holder_name": name_prefix()}),
        ("?holder_name=…建筑 (contains)", lambda: {"holder_name": name_middle()}),
        ("?record_number=…", lambda: {"record_number": next_record()}),
        ("unfiltered first page", lambda: {}),
        ("unfiltered first page, HX-Request fragment", lambda: {}),
    ]
    for label, make in pages:
        headers = {"HX-Request": "true"} if "HX-Request" in label else {}
        p95 = _time(label, lambda: _get(client, make(), headers), args.runs)
        if label.startswith(("?number", "?holder_name")) and p95 > TARGET_MS:
            failures.append(f"page {label} p95 {p95:.1f} ms")

    print()
    if failures:
        print("bench_search: TARGET MISSED (p95 < 100 ms): " + "; ".join(failures))
        return 1
    print("bench_search: number, contains and filter searches meet p95 < 100 ms")
    return 0


def _date(*parts):
    from datetime import date
    return date(*parts)


def _page(pagination):
    assert pagination.total is not None
    return list(pagination.items)


def _get(client, query, headers):
    response = client.get("/maintenance/crane", query_string=query, headers=headers)
    assert response.status_code == 200, response.status_code
    return response


def _plan(user, filters):
    """The index (or scan) PostgreSQL uses for the page query, on one line."""
    import sqlalchemy as sa
    from portal.certificates.models import Certificate
    from portal.extensions import db
    from portal.maintenance.services import search_query
    query = search_query(user, filters).with_only_columns(Certificate.id).limit(20)
    compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
    lines = db.session.execute(sa.text(f"EXPLAIN {compiled}")).scalars().all()
    return " / ".join(line.strip() for line in lines if "Scan" in line or "Sort" in line)[:300]


if __name__ == "__main__":
    sys.exit(main())
