"""Fixtures: a fresh database per test, a client, a CLI runner, and login through the real SMS flow.

Services (PostgreSQL, Redis, Chromium) are used when configured; without them their tests skip,
except under REQUIRE_SERVICES=1 (CI), where a missing service is a failure.
"""
import json
import os
import re
import shutil
import urllib.parse

import pytest
import sqlalchemy as sa

import portal.auth.models
from portal import create_app
from portal.config import TestConfig
from portal.extensions import db

portal.auth.models.PASSWORD_METHOD = "scrypt:1024:8:1"  # same KDF, cheaper cost: tests hash a lot
pytest_plugins = ["tests.platform_fixtures", "tests.parallel"]
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def _per_worker_services():
    """Under pytest-xdist every worker gets its own PostgreSQL database and Redis db index (tests truncate
    tables and empty queues); the database is created on first use. Returns the test database URL."""
    url = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1, …
    if not worker:
        return url
    index = int(worker.removeprefix("gw"))
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        parts = urllib.parse.urlsplit(redis_url)
        base = int(parts.path.strip("/") or 0)
        os.environ["REDIS_URL"] = parts._replace(path=f"/{base + 1 + index}").geturl()
    if not url or not url.startswith("postgresql"):
        return url
    base_url = sa.engine.make_url(url)
    worker_url = base_url.set(database=f"{base_url.database}_{worker}")
    engine = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                       {"name": worker_url.database})
            if not exists:
                connection.execute(sa.text(f'CREATE DATABASE "{worker_url.database}"'))
    except sa.exc.OperationalError:  # no server: the tests that need it skip (or fail under REQUIRE_SERVICES)
        return url
    finally:
        engine.dispose()
    worker_url = worker_url.render_as_string(hide_password=False)
    for key in ("TEST_DATABASE_URL", "DATABASE_URL"):
        if os.environ.get(key):
            os.environ[key] = worker_url
    return worker_url


TEST_DATABASE_URL = _per_worker_services()


def need_service(name, available, why=""):
    """Skip without the service locally; fail in CI (REQUIRE_SERVICES=1)."""
    if available:
        return
    message = f"{name} is not available{': ' + why if why else ''}"
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {message}")
    pytest.skip(message)


def _test_config(tmp_path, **extra):
    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = TEST_DATABASE_URL or "sqlite://"
        SMS_OUTBOX_PATH = str(tmp_path / "sms_outbox.jsonl")
        PKI_DIR = str(tmp_path / "pki")
        STORAGE_DIR = str(tmp_path / "storage")
        PLATFORM_SIM_DATA_DIR = str(tmp_path / "platform_sim")
        RQ_ASYNC = False
    for key, value in extra.items():
        setattr(Config, key, value)
    return Config


def _reset_database():
    if db.engine.dialect.name == "postgresql":
        # Faster than drop/create per test; identities restart so ids are predictable.
        db.create_all()
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        with db.engine.begin() as connection:
            connection.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    else:
        db.create_all()


@pytest.fixture
def app_config(tmp_path):
    """Extra configuration for the app fixture; override in a test module to change it."""
    return {}


def _user_from_each_requests_cookie(app):
    """Requests in a test share the test's app context, hence `g`, where Flask-Login keeps the loaded user:
    drop it, so that each request sees only the user its own session cookie names (as in production)."""
    from flask import g

    @app.before_request
    def forget_the_previous_requests_user():
        g.pop("_login_user", None)


@pytest.fixture
def app(tmp_path, app_config):
    app = create_app(_test_config(tmp_path, **app_config))
    _user_from_each_requests_cookie(app)
    with app.app_context():
        _reset_database()
        yield app
        db.session.remove()
        if db.engine.dialect.name != "postgresql":
            db.drop_all()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def demo(app):
    """The demo authorities and users (seed-demo)."""
    from portal.cli import seed_demo
    seed_demo()
    return app


def read_outbox(app):
    path = app.config["SMS_OUTBOX_PATH"]
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as outbox:
        return [json.loads(line) for line in outbox if line.strip()]


def last_code(app, phone):
    for message in reversed(read_outbox(app)):
        if message["phone"] == phone:
            return re.search(r"\b(\d{6})\b", message["text"]).group(1)
    raise AssertionError(f"no SMS sent to {phone}")


class Auth:
    """Logs in through the real flow: password, 发送短信验证码, the code from the outbox."""

    def __init__(self, app, client):
        self.app, self.client = app, client

    def login(self, username, password=None):
        from portal.auth.models import User
        from portal.cli import demo_password
        password = password or demo_password(username)
        response = self.client.post("/auth/login", data={"username": username, "password": password})
        assert response.status_code == 303, response.get_data(as_text=True)
        response = self.client.post("/auth/send-code")
        assert response.status_code == 200, response.get_data(as_text=True)
        phone = db.session.scalar(db.select(User.phone).filter_by(username=username))
        response = self.client.post("/auth/verify", data={"code": last_code(self.app, phone)})
        assert response.status_code == 303, response.get_data(as_text=True)
        return response

    def logout(self):
        return self.client.post("/auth/logout")


@pytest.fixture
def auth(app, client):
    return Auth(app, client)


@pytest.fixture
def login_as(demo, auth):
    """login_as('clerk') logs the demo user in through the SMS flow."""
    def login(username):
        auth.login(username)
        return auth.client
    return login


@pytest.fixture(scope="session")
def chromium_path():
    path = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
    need_service("Chromium", os.path.exists(path), "apt-get install chromium")
    return path
