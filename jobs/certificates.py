"""RQ jobs: rendering and sealing certificate PDFs (any number of workers in parallel)."""
from jobs._runtime import app_context


def seal_certificates(certificate_ids):
    """Render and sign each certificate's PDF (idempotent: a signed one is skipped)."""
    with app_context():
        from portal.certificates.documents import seal_certificate
        for certificate_id in certificate_ids:
            seal_certificate(certificate_id)


def purge_stale_drafts():
    """Delete draft attachments of 单个录入 older than a day; returns how many."""
    with app_context():
        from portal.certificates.drafts import purge_stale_drafts as purge
        return purge()
