"""Draft attachments: the scans uploaded in 单个录入 before the certificate is issued.

Kept so that an error elsewhere in the form loses no upload, but only for a user who may issue
(签章权限), within DRAFT_QUOTA_MB per user, and never for long: the drafts of a certificate are deleted
once it is issued, and every draft after DRAFT_MAX_AGE_HOURS (`flask certs purge-drafts`, run by the
embedded ticker; from cron in production).
"""
import logging
import secrets
from datetime import timedelta, timezone

import sqlalchemy as sa
from flask import current_app

from portal import storage
from portal.clock import utcnow
from portal.certificates.attachments import AttachmentRefused, AttachmentUpload, check_attachment, safe_filename
from portal.certificates.models import DraftAttachment
from portal.extensions import db

log = logging.getLogger(__name__)
FOLDER = "drafts"
NEED_SIGNING_RIGHT = "您没有签章权限，上传的附件未保存：只有具有签章权限的录证人员可以上传附件"


def may_keep_drafts(user):
    """Only a user who may issue keeps uploads: nobody else's could ever become an attachment."""
    return bool(user.can_sign and user.is_enabled)


def keep_drafts(operator, uploads, max_bytes):
    """Store this try's acceptable uploads as drafts of `operator`; returns (drafts, attachment errors).

    The user's row is locked while the quota is counted, so parallel uploads cannot overrun it together.
    """
    uploads = list(uploads)
    if not uploads:
        return [], []
    if not may_keep_drafts(operator):
        return [], [NEED_SIGNING_RIGHT]
    config = current_app.config
    quota = config["DRAFT_QUOTA_MB"] * 1024 * 1024
    # The user's row is the lock (by table, not model: the user model belongs to the auth area).
    users = db.metadata.tables["users"]
    db.session.execute(sa.select(users.c.id).where(users.c.id == operator.id).with_for_update())
    used = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(DraftAttachment.size), 0))
                             .where(DraftAttachment.user_id == operator.id))
    kept, errors = [], []
    for upload in uploads:
        name = safe_filename(upload.filename)
        try:
            check_attachment(upload, max_bytes)
        except AttachmentRefused as exc:
            errors.append(str(exc))
            continue
        if used + len(upload.data) > quota:
            errors.append(f"附件“{name}”未保存：尚未提交的附件合计不能超过 {config['DRAFT_QUOTA_MB']} MB"
                          f"（未提交的附件 {config['DRAFT_MAX_AGE_HOURS']} 小时后自动删除），请先提交本证照或减少附件")
            continue
        path = storage.write_bytes(f"{FOLDER}/{secrets.token_hex(16)}", upload.data)
        draft = DraftAttachment(user_id=operator.id, path=path, filename=name, size=len(upload.data))
        db.session.add(draft)
        kept.append(draft)
        used += draft.size
    db.session.commit()
    return kept, errors


def drafts_of(operator, draft_ids):
    """The operator's own drafts among `draft_ids`, in that order (others' and deleted ones are skipped)."""
    if not draft_ids:
        return []
    found = {d.id: d for d in db.session.scalars(sa.select(DraftAttachment).where(
        DraftAttachment.id.in_(draft_ids), DraftAttachment.user_id == operator.id))}
    return [found[i] for i in dict.fromkeys(draft_ids) if i in found]


def draft_uploads(drafts):
    """The drafts as uploads for the issuing service (a file gone missing is skipped)."""
    uploads = []
    for draft in drafts:
        try:
            uploads.append(AttachmentUpload(draft.filename, storage.read_bytes(draft.path)))
        except (FileNotFoundError, ValueError):
            continue
    return uploads


def _delete_file(relative):
    try:
        storage.path_of(relative).unlink(missing_ok=True)
    except (ValueError, OSError) as exc:  # an undeletable file is retried by the next purge
        log.warning("draft %s not deleted: %s", relative, exc)


def discard_drafts(drafts):
    """Delete these drafts (their certificate is issued)."""
    for draft in drafts:
        _delete_file(draft.path)
        db.session.delete(draft)
    db.session.commit()


def purge_stale_drafts(now=None):
    """Delete every draft older than DRAFT_MAX_AGE_HOURS, and draft files no row knows; returns how many."""
    cutoff = (now or utcnow()) - timedelta(hours=current_app.config["DRAFT_MAX_AGE_HOURS"])
    stale = db.session.scalars(sa.select(DraftAttachment).where(DraftAttachment.created_at < cutoff)).all()
    discard_drafts(stale)
    # Files without a row: left by a request that died before its commit, or stored before drafts had rows.
    folder, orphans = storage.path_of(FOLDER), 0
    if folder.is_dir():
        known = set(db.session.scalars(sa.select(DraftAttachment.path)))
        cutoff_ts = cutoff.replace(tzinfo=timezone.utc).timestamp()
        for file in folder.rglob("*"):
            relative = f"{FOLDER}/{file.relative_to(folder).as_posix()}"
            if file.is_file() and relative not in known and file.stat().st_mtime < cutoff_ts:
                _delete_file(relative)
                orphans += 1
    return len(stale) + orphans
