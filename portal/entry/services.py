"""Single entry: step checks, the drafts of its attachments, and the submit that calls the issuing service."""
from portal.certificates.drafts import discard_drafts, draft_uploads, drafts_of, keep_drafts
from portal.certificates.issuing import IssueOptions, check_for_issue, issue_certificate
from portal.entry.forms import STEP1_KEYS
from portal.platform.service import person_finder


def check_step1(operator, values):
    """Errors of the 基本信息 step only (the rest is checked at 提交)."""
    return [e for e in check_for_issue(operator, values, []) if e.key in STEP1_KEYS]


def carry_attachments(operator, draft_ids, uploads, max_bytes):
    """The drafts carried from earlier tries plus this try's acceptable uploads, stored as drafts so that
    an error elsewhere loses none of them; returns (drafts, attachment errors)."""
    kept, errors = keep_drafts(operator, uploads, max_bytes)
    return drafts_of(operator, draft_ids) + kept, errors


def submit_certificate(operator, values, persons, drafts, submission_token):
    """提交: issue through the one issuing service, sealing the PDF now; then the drafts are deleted."""
    cert = issue_certificate(operator, values, persons, draft_uploads(drafts), find_person=person_finder(),
                             options=IssueOptions(seal_now=True, submission_token=submission_token or None))
    discard_drafts(drafts)
    return cert
