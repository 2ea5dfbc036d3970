"""The access matrix: every route of the app × every role, with the exact expected answer.

Each role gets a fresh database holding objects of authority A (太原) and authority B (大同):
certificates with a sealed PDF and an attachment, tasks, delegation grants, users. Every rule of
``app.url_map`` is requested with its URL parameters filled by A's objects and by B's objects.

Adding a route = adding one line to EXPECTATIONS (the first test fails until you do). Columns:

    R(admin, clerk, datong, supervisor, delegate, lapsed, anonymous=LOGIN)

  admin       系统管理员
  clerk       录证人员 of A (太原)            datong   录证人员 of B (大同)
  supervisor  主管 of A (太原)
  delegate    被授权用户 with an active grant over A's certificates
  lapsed      被授权用户 whose only grant (over B) has expired
  anonymous   not logged in

A cell is a status code, LOGIN (302 to the login page), or ab(for A's objects, for B's objects).
Use {"GET": R(...), "POST": R(...)} when a GET/POST route answers the two methods differently.
POST routes are POSTed (empty form, CSRF off in tests); a POST answered with an error or a
redirect to login must leave the database exactly as it was.
"""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db

LOGIN = "login"
ROLES = ("admin", "clerk", "datong", "supervisor", "delegate", "lapsed", "anonymous")


def ab(a, b):
    """Different answers for A's objects and B's objects."""
    return {"A": a, "B": b}


def R(admin, clerk, datong, supervisor, delegate, lapsed, anonymous=LOGIN):
    return dict(zip(ROLES, (admin, clerk, datong, supervisor, delegate, lapsed, anonymous)))


ALL = lambda status: R(*(status,) * 7)  # noqa: E731
OWN_CERT = dict(clerk=ab(200, 404), datong=ab(404, 200), supervisor=ab(200, 404))
DELEGATE_ONLY = R(404, 403, 403, 403, ab(200, 404), 404)  # admin opens the area, has no grant: 404

EXPECTATIONS = {
    #                                       admin  clerk        datong       superv.      delegate     lapsed  anon
    "admin.audit_log":                    R(200,   403,         403,         403,         403,         403),
    "admin.authorities":                  R(200,   403,         403,         403,         403,         403),
    "admin.authority_edit":               R(200,   403,         403,         403,         403,         403),
    "admin.authority_key":                R(303,   403,         403,         403,         403,         403),
    "admin.index":                        R(200,   403,         403,         403,         403,         403),
    "admin.user_edit":                    R(200,   403,         403,         403,         403,         403),
    "admin.user_enabled":                 R(303,   403,         403,         403,         403,         403),
    "admin.user_new":                     R(200,   403,         403,         403,         403,         403),
    "admin.user_password":                R(303,   403,         403,         403,         403,         403),
    "admin.users":                        R(200,   403,         403,         403,         403,         403),
    "auth.login":                         R(302,   302,         302,         302,         302,         302,    200),
    "auth.logout":                        R(303,   303,         303,         303,         303,         303),
    "auth.send_code":                     ALL(400),
    "auth.verify":                        ALL(LOGIN),
    "delegation.certificate_attachment":  DELEGATE_ONLY,
    "delegation.certificate_detail":      DELEGATE_ONLY,
    "delegation.certificate_ofd":         DELEGATE_ONLY,
    "delegation.certificate_pdf":         DELEGATE_ONLY,
    "delegation.certificate_print":       DELEGATE_ONLY,
    "delegation.certificates":            DELEGATE_ONLY,
    "delegation.grant_edit":              {"GET": R(200, 403, 403, ab(200, 404), 403, 403),
                                           "POST": R(422, 403, 403, ab(422, 404), 403, 403)},
    "delegation.grant_new":               {"GET": R(200, 403, 403, 200, 403, 403),
                                           "POST": R(422, 403, 403, 422, 403, 403)},
    "delegation.grant_revoke":            R(303,   403,         403,         ab(303, 404), 403,        403),
    "delegation.grants":                  R(200,   403,         403,         200,         403,         403),
    "delegation.index":                   R(200,   403,         403,         403,         200,         200),
    # A plain GET (no HX-Request) renders the wizard page without its context: 500 until entry fixes it.
    "entry.authority_code":               R(403,   200,         200,         403,         403,         403),
    "entry.business_block":               R(403,   200,         200,         403,         403,         403),
    "entry.index":                        R(403,   200,         200,         403,         403,         403),
    "entry.new_certificate":              R(403,   200,         200,         403,         403,         403),
    # Without ?index= the row cannot be built: 400 after the access check passed.
    "entry.person_row":                   R(403,   400,         400,         403,         403,         403),
    "entry.remove_person_row":            R(403,   200,         200,         403,         403,         403),
    "imports.index":                      R(403,   200,         200,         403,         403,         403),
    "imports.template":                   R(403,   200,         200,         403,         403,         403),
    "imports.upload":                     R(403,   422,         422,         403,         403,         403),
    "main.index":                         R(200,   200,         200,         200,         200,         200),
    "maintenance.crane_attachment":       R(200,   ab(200, 404), ab(404, 200), ab(200, 404), 403,       403),
    "maintenance.crane_cancel":           R(403,   ab(422, 404), ab(404, 422), ab(403, 404), 403,       403),
    "maintenance.crane_detail":           R(200,   ab(200, 404), ab(404, 200), ab(200, 404), 403,       403),
    "maintenance.crane_export":           R(200,   200,         200,         200,         403,         403),
    "maintenance.crane_list":             R(200,   200,         200,         200,         403,         403),
    "maintenance.crane_ofd":              R(200,   ab(200, 404), ab(404, 200), ab(200, 404), 403,       403),
    "maintenance.crane_pdf":              R(200,   ab(200, 404), ab(404, 200), ab(200, 404), 403,       403),
    "maintenance.crane_pdf_original":     R(200,   ab(403, 404), ab(404, 403), ab(403, 404), 403,       403),
    "maintenance.crane_print":            R(200,   ab(200, 404), ab(404, 200), ab(200, 404), 403,       403),
    "maintenance.crane_regenerate_pdf":   R(409,   ab(403, 404), ab(404, 403), ab(403, 404), 403,       403),
    "maintenance.crane_resend_report":    R(409,   ab(403, 404), ab(404, 403), ab(409, 404), 403,       403),
    "maintenance.index":                  R(200,   200,         200,         200,         403,         403),
    "public.index":                       ALL(200),
    "public.verify":                      ALL(200),
    "public.verify_file":                 {"GET": ALL(200), "POST": ALL(422)},  # POST without a file
    "public.verify_ofd":                  ALL(200),
    "public.verify_pdf":                  ALL(200),
    "static":                             ALL(200),
    "statistics.export":                  R(200,   403,         403,         200,         403,         403),
    "statistics.index":                   R(200,   403,         403,         200,         403,         403),
    "tasks.detail":                       R(200,   ab(200, 404), ab(404, 200), ab(200, 404), 403,       403),
    "tasks.failure_report":               R(200,   ab(200, 404), ab(404, 200), ab(200, 404), 403,       403),
    "tasks.issued_numbers":               R(200,   ab(200, 404), ab(404, 200), ab(200, 404), 403,       403),
    "tasks.signed_pdfs":                  R(200,   ab(200, 404), ab(404, 200), ab(200, 404), 403,       403),
    "tasks.index":                        R(200,   200,         200,         200,         403,         403),
    "tasks.status":                       R(200,   ab(200, 404), ab(404, 200), ab(200, 404), 403,       403),
}


# ---------------------------------------------------------------------------------------------------
# The world: objects of A and B, and how URL parameters are filled from them.

def _build_world():
    from portal import storage
    from portal.certificates.authorities import Authority
    from portal.certificates.models import Attachment
    from portal.clock import today
    from portal.background.models import Task
    from tests.delegation.helpers import DATONG_USCC, TAIYUAN_USCC, backdate, datong_certificate, grant, \
        make_delegate, taiyuan_certificate, user

    lapsed = make_delegate("lapsed")
    certs = {"A": taiyuan_certificate(1, seal=True), "B": datong_certificate(1, seal=True)}
    _, digest = storage.store_content(b"%PDF-1.4 matrix scan")
    for cert in certs.values():
        cert.attachments.append(Attachment(filename="扫描件.pdf", content_type="application/pdf", size=20,
                                           sha256=digest))
    authorities = {key: db.session.scalar(sa.select(Authority).filter_by(uscc=uscc))
                   for key, uscc in (("A", TAIYUAN_USCC), ("B", DATONG_USCC))}
    tasks = {key: Task(kind="import", title=f"导入{key}", file_name=f"{key}.zip", operator=user(name),
                       authority=authorities[key], state="done", total=1, done=1, failed=1,
                       result_path=storage.write_bytes(f"reports/matrix-{key}.xlsx", b"PK\x03\x04 report"))
             for key, name in (("A", "clerk"), ("B", "datong"))}
    db.session.add_all(tasks.values())
    db.session.commit()
    grants = {"A": grant(grantee="delegate", authorities=(TAIYUAN_USCC,)),
              "B": grant(grantee=lapsed, authorities=(DATONG_USCC,))}
    backdate(grants["B"], 60, 1)
    assert grants["B"].end_date == today() - timedelta(days=1)
    users = {"A": user("clerk2"), "B": user("datong")}
    return {
        "certificate_id": {k: c.id for k, c in certs.items()},
        "attachment_id": {k: c.attachments[0].id for k, c in certs.items()},
        "token": {k: c.verify_token for k, c in certs.items()},
        "authority_id": {k: a.id for k, a in authorities.items()},
        "user_id": {k: u.id for k, u in users.items()},
        "task_id": {k: t.id for k, t in tasks.items()},
        "grant_id": {k: g.id for k, g in grants.items()},
        "filename": {"A": "css/portal.css", "B": "css/portal.css"},
    }


_SKIP_TABLES = {"sms_codes", "login_failures"}  # the login itself writes these


def _snapshot():
    """Every row of every table that a request could change "where it matters"."""
    tables = [t for t in db.metadata.sorted_tables if t.name not in _SKIP_TABLES]
    db.session.expire_all()
    with db.engine.connect() as connection:
        return {t.name: sorted(map(tuple, connection.execute(sa.select(t)).all()), key=repr) for t in tables}


def _requests(app, world):
    """(endpoint, method, variant, url) for every rule, GETs first, POSTs next, logout last."""
    found = []
    for rule in app.url_map.iter_rules():
        params = sorted(rule.arguments - set(rule.defaults or {}))
        missing = [p for p in params if p not in world]
        assert not missing, f"{rule.rule}: add a filler for URL parameter(s) {missing} in _build_world()"
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        variants = ("A", "B") if params else (None,)
        for method in methods:
            for variant in variants:
                url = rule.build({p: world[p][variant] for p in params})[1]
                found.append((rule.endpoint, method, variant, url))
    last = {"auth.logout"}
    return sorted(found, key=lambda r: (r[0] in last, r[1] != "GET", r[0], r[3]))


def _expected(endpoint, method, role, variant):
    entry = EXPECTATIONS[endpoint]
    if "GET" in entry or "POST" in entry:
        entry = entry[method]
    cell = entry[role]
    if isinstance(cell, dict):
        assert variant is not None, f"{endpoint}: ab() given but the route has no object parameter"
        return cell[variant]
    return cell


def _outcome(response):
    location = response.headers.get("Location", "")
    if response.status_code == 302 and "/auth/login" in location:
        return LOGIN
    return response.status_code


def test_every_route_is_in_the_table(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    missing = sorted(endpoints - set(EXPECTATIONS))
    assert not missing, f"routes without an access expectation — add a line to EXPECTATIONS: {missing}"
    stale = sorted(set(EXPECTATIONS) - endpoints)
    assert not stale, f"EXPECTATIONS names routes that no longer exist: {stale}"
    for endpoint, entry in EXPECTATIONS.items():
        for row in (entry.values() if "GET" in entry else [entry]):
            assert set(row) == set(ROLES), endpoint


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_the_expected_answer_on_every_route(demo, auth, client, role):
    world = _build_world()
    if role != "anonymous":
        auth.login(role)
    wrong = []
    for endpoint, method, variant, url in _requests(demo, world):
        if endpoint not in EXPECTATIONS:
            continue  # reported by test_every_route_is_in_the_table
        expected = _expected(endpoint, method, role, variant)
        before = _snapshot() if method != "GET" else None
        try:
            response = client.open(url, method=method, data={} if method != "GET" else None)
        except Exception as exc:  # noqa: BLE001  (TESTING propagates errors: report them with the rest)
            wrong.append(f"{method} {url} ({endpoint}): raised {exc!r}")
            db.session.rollback()
            continue
        got = _outcome(response)
        if got != expected:
            wrong.append(f"{method} {url} ({endpoint}, {variant or '-'}): expected {expected}, got {got}")
        refused = got == LOGIN or (isinstance(got, int) and got >= 400)
        if before is not None and refused and _snapshot() != before:
            wrong.append(f"{method} {url} ({endpoint}) was refused with {got} but changed the database")
    assert not wrong, f"{role}:\n" + "\n".join(wrong)


def test_a_wrong_method_is_405_for_everyone(demo, client):
    from werkzeug.exceptions import MethodNotAllowed
    adapter = demo.url_map.bind("localhost")
    for rule in demo.url_map.iter_rules():
        url = rule.build({p: "x" if p in ("filename", "token") else 1 for p in rule.arguments})[1]
        for other in {"GET", "POST"} - rule.methods:
            try:
                adapter.match(url, method=other)
            except MethodNotAllowed:
                assert client.open(url, method=other).status_code == 405, (other, url)
            # else: another rule serves this URL with that method (e.g. imports.index / imports.upload)
