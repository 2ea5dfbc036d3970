"""Fixtures of the import tests: the demo users as objects, an import run to its end."""
import pytest

from portal.auth.models import User
from portal.extensions import db


@pytest.fixture
def user(demo):
    """user('clerk') → the demo User."""
    def get(username):
        return db.session.scalar(db.select(User).filter_by(username=username))
    return get


@pytest.fixture
def run(user):
    """run(zip bytes, username='clerk') → the finished Task (RQ_ASYNC=False runs the job inside start_import)."""
    from portal.imports.services import start_import
    from portal.background.models import Task

    def go(data, username="clerk", filename="导入.zip"):
        task = start_import(user(username), filename, data)
        db.session.expire_all()
        return db.session.get(Task, task.id)
    return go
