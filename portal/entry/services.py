"""Single entry: step checks and the submit that calls the issuing service."""
import secrets

from portal import storage
from portal.certificates.attachments import AttachmentRefused, AttachmentUpload, check_attachment, safe_filename
from portal.certificates.issuing import IssueOptions, check_for_issue, issue_certificate
from portal.entry.forms import STEP1_KEYS, sign_draft
from portal.platform.service import person_finder


def check_step1(operator, values):
    """Errors of the 基本信息 step only (the rest is checked at 提交)."""
    return [e for e in check_for_issue(operator, values, []) if e.key in STEP1_KEYS]


def keep_uploads(uploads, max_bytes):
    """Store this try's acceptable uploads as drafts so an error elsewhere loses none of them.

    Returns (signed draft references, attachment errors).
    """
    kept, errors = [], []
    for upload in uploads:
        try:
            check_attachment(upload, max_bytes)
        except AttachmentRefused as exc:
            errors.append(str(exc))
            continue
        path = storage.write_bytes(f"drafts/{secrets.token_hex(16)}", upload.data)
        kept.append({"token": sign_draft(path, safe_filename(upload.filename)),
                     "name": safe_filename(upload.filename), "size": len(upload.data)})
    return kept, errors


def load_drafts(drafts):
    """Draft references back into uploads (missing files are skipped)."""
    uploads = []
    for path, name in drafts:
        try:
            uploads.append(AttachmentUpload(name, storage.read_bytes(path)))
        except (FileNotFoundError, ValueError):
            continue
    return uploads


def submit_certificate(operator, values, persons, uploads, submission_token):
    """提交: issue through the one issuing service, sealing the PDF now."""
    return issue_certificate(operator, values, persons, uploads, find_person=person_finder(),
                             options=IssueOptions(seal_now=True, submission_token=submission_token or None))
