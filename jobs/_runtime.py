"""What every job needs: one app per worker process, an app context around the job."""
import threading
from contextlib import contextmanager

from flask import current_app, has_app_context

from portal import create_app
from portal.extensions import db

_app = None
_lock = threading.Lock()


def app():
    """The app of this worker: the current one (embedded worker, tests) or one built once."""
    global _app
    if has_app_context():
        return current_app._get_current_object()
    with _lock:
        if _app is None:
            _app = create_app()
    return _app


@contextmanager
def app_context():
    """Run the job inside an app context, releasing the session afterwards."""
    if has_app_context():
        yield app()
        return
    with app().app_context():
        try:
            yield _app
        finally:
            db.session.remove()
