"""A database every thread and process can share: PostgreSQL when configured, else a SQLite file."""
import os
import shutil

import pytest
import redis

from portal import create_app
from portal.extensions import db
from tests.conftest import TEST_DATABASE_URL, _reset_database, _test_config, need_service


@pytest.fixture
def shared_app(tmp_path, platform_config):
    """An app on a shared database (not in-memory) with the demo seeded, the simulator as platform."""
    yield from _shared_app(tmp_path, platform_config, TEST_DATABASE_URL)


def _shared_app(tmp_path, platform_config, database_url):
    """The shared_app on this database (PostgreSQL URL), or on a SQLite file when None."""
    from portal.cli import seed_demo
    config = _test_config(tmp_path, **platform_config)
    config.SQLALCHEMY_DATABASE_URI = database_url or f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    # pre_ping as in production (portal/config.py): a connection the server cut is replaced, not handed out
    config.SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 10, "pool_pre_ping": True} if database_url else {}
    app = create_app(config)
    with app.app_context():
        _reset_database()
        seed_demo()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def real_redis_url():
    url = os.environ.get("REDIS_URL")
    reachable = False
    if url:
        try:
            reachable = redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        except redis.RedisError:
            reachable = False
    need_service("Redis", reachable, "set REDIS_URL to a running Redis")
    need_service("rq", shutil.which("rq") or os.path.exists(os.path.join(os.path.dirname(os.sys.executable), "rq")))
    return url


def pytest_terminal_summary(terminalreporter):
    """The fault drills' table (tests/jobs/drills.py): the end state per drill against a run without faults,
    and the time to recover."""
    from tests.jobs.drills import results_table
    lines = results_table()
    if lines:
        terminalreporter.write_line("")
    for line in lines:
        terminalreporter.write_line(line)
