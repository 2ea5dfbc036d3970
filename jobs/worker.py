"""The production worker: `rq worker -w jobs.worker.PortalWorker default pdf reports`.

RQ runs every job in a freshly forked work horse. Forked from a cold process, each horse would build
the app, load the CJK font and parse the signing keys again (about a second a job); forked from this
warmed worker, it inherits all of that and starts signing at once.
"""
import logging

import rq

from jobs._runtime import app
from portal.certificates import keys
from portal.certificates.authorities import Authority
from portal.certificates.pdf import register_fonts
from portal.extensions import db

log = logging.getLogger(__name__)


def warm_up():
    """Build the app and load what every PDF job needs, then drop database connections before forking."""
    portal_app = app()
    with portal_app.app_context():
        register_fonts()
        for uscc in db.session.scalars(db.select(Authority.uscc)):
            try:
                keys.signer_for(uscc)
            except keys.CredentialsMissing:
                continue
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
