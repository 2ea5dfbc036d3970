"""The production worker: `rq worker -w jobs.worker.PortalWorker default pdf reports`.

RQ runs every job in a freshly forked work horse. Forked from a cold process, each horse would build
the app, load the CJK font, parse the signing keys and import pyHanko again (about a second a job);
forked from this warmed worker, which has sealed a sample for every authority, it starts signing at once.
"""
import logging

import rq

from jobs._runtime import app
from portal.certificates.authorities import Authority
from portal.certificates.documents import warm_up_sealing
from portal.extensions import db

log = logging.getLogger(__name__)


def warm_up():
    """Build the app and load what every PDF job needs, then drop database connections before forking."""
    portal_app = app()
    with portal_app.app_context():
        warm_up_sealing(db.session.execute(db.select(Authority.uscc, Authority.name)).all())
        db.session.remove()
        db.engine.dispose()  # a connection opened here must not be shared with the forked horses
    return portal_app


class PortalWorker(rq.Worker):
    """rq.Worker whose work horses are forked from a warmed-up process."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        try:
            warm_up()
        except Exception:  # a cold start is slower, not wrong
            log.exception("worker warm-up failed; jobs will start cold")
