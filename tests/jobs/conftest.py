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
    from portal.cli import seed_demo
    config = _test_config(tmp_path, **platform_config)
    if not TEST_DATABASE_URL:
        config.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    config.SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 10} if TEST_DATABASE_URL else {}
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
    """The fault drills' table (tests/jobs/drills.py): expected vs observed end state, time to recover."""
    from tests.jobs.drills import RESULTS, ROWS
    if not RESULTS:
        return
    write = terminalreporter.write_line
    write("")
    write(f"Fault drills, {ROWS}-row import — end state expected vs observed, seconds from fault to that state")
    for name, expected, observed, seconds in RESULTS:
        verdict = "OK " if expected == observed else "BAD"
        write(f"{verdict} {name:<48} {seconds:7.1f} s")
        write(f"      expected {expected}")
        if expected != observed:
            write(f"      observed {observed}")
