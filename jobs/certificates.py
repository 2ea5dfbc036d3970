"""RQ jobs: rendering and sealing certificate PDFs (any number of workers in parallel)."""
from jobs._runtime import app_context
from portal.certificates.documents import run_seal_task
from portal.certificates.drafts import purge_stale_drafts as purge_drafts
from portal.certificates.ofd_documents import run_ofd_task


def seal_certificates(task_id):
    """Run 'pdf' task `task_id`: render and sign its certificates' PDFs (idempotent: a signed one is skipped)."""
    with app_context():
        run_seal_task(task_id)


def seal_missing_ofds(task_id):
    """Run 'ofd' task `task_id`: seal the OFD of each of its certificates that has none yet (idempotent)."""
    with app_context():
        run_ofd_task(task_id)


def purge_stale_drafts():
    """Delete draft attachments of 单个录入 older than a day; returns how many."""
    with app_context():
        return purge_drafts()
