"""RQ job: the reconciler (portal/background/reconcile.py), enqueued by the embedded ticker."""
from jobs._runtime import app_context
from portal.background.reconcile import reconcile as reconcile_pass


def reconcile():
    """One reconciler pass; returns its summary."""
    with app_context():
        return reconcile_pass().summary()
