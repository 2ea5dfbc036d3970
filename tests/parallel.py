"""Requests at once against the running portal (a live server on a free port) on PostgreSQL.

The parallel tests fail under REQUIRE_SERVICES=1 (CI) without PostgreSQL and skip elsewhere: SQLite
serialises writers on its own, so only PostgreSQL shows whether the row locks and atomic updates hold.
"""
import threading

import pytest
import requests

from portal.extensions import db
from tests.conftest import TEST_DATABASE_URL, last_code, need_service
from tests.e2e.conftest import serve_live_app


@pytest.fixture
def live_postgres_app(tmp_path, app_config):
    """The portal served on a loopback port over PostgreSQL (its own database), demo seeded."""
    need_service("PostgreSQL", bool(TEST_DATABASE_URL and TEST_DATABASE_URL.startswith("postgresql")),
                 "set TEST_DATABASE_URL=postgresql+psycopg2://…")
    with serve_live_app(tmp_path, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 25, "max_overflow": 10},
                        **app_config) as app:
        yield app


def browser_with_cookie(app, cookie):
    """A requests session carrying this session cookie (one per thread: sessions are not thread-safe)."""
    session = requests.Session()
    session.cookies.set("session", cookie, domain="127.0.0.1", path="/")
    return session


def password_step(app, username, password):
    """A requests session that has passed the password step for `username`."""
    from portal.auth.models import User
    session = requests.Session()
    response = session.post(app.config["LIVE_URL"] + "/auth/login", data={"username": username, "password": password},
                            allow_redirects=False)
    assert response.status_code == 303, response.text
    with app.app_context():
        phone = db.session.scalar(db.select(User.phone).filter_by(username=username))
    return session, phone


def http_login(app, username):
    """A requests session logged in as the demo user, through password and SMS code."""
    from portal.cli import demo_password
    session, phone = password_step(app, username, demo_password(username))
    assert session.post(app.config["LIVE_URL"] + "/auth/send-code").status_code == 200
    response = session.post(app.config["LIVE_URL"] + "/auth/verify", data={"code": last_code(app, phone)},
                            allow_redirects=False)
    assert response.status_code == 303, response.text
    return session


def at_once(count, request):
    """Run request(index) in `count` threads released together; returns their results in index order."""
    barrier, results, errors = threading.Barrier(count), [None] * count, []

    def run(index):
        barrier.wait()
        try:
            results[index] = request(index)
        except Exception as exc:  # noqa: BLE001  (reported below, with the others)
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results
