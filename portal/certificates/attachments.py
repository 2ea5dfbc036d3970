"""Attachment checks: PDF/JPG/PNG only, judged by content (a renamed .exe is refused), size-limited."""
from dataclasses import dataclass
from pathlib import PurePath

from portal import storage
from portal.standard.rules import RuleError, attachment_too_large

SIGNATURES = (
    (b"%PDF-", "application/pdf", {".pdf"}),
    (b"\x89PNG\r\n\x1a\n", "image/png", {".png"}),
    (b"\xff\xd8\xff", "image/jpeg", {".jpg", ".jpeg"}),
)


@dataclass(frozen=True)
class AttachmentUpload:
    """An attachment as received: its file name and bytes."""
    filename: str
    data: bytes


@dataclass(frozen=True)
class StoredAttachment:
    """An attachment already checked and stored by content hash: what a certificate row records of it.

    The import stores each distinct file as soon as it is read and keeps only this, so a batch of rows never
    holds attachment bytes."""
    filename: str
    content_type: str
    size: int
    sha256: str


class AttachmentRefused(ValueError):
    """The file is not an acceptable attachment; the message says why and what to do."""


def safe_filename(name):
    """The last path component, without control characters, at most 100 characters."""
    base = PurePath((name or "").replace("\\", "/")).name
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '<>:"|?*')
    return base[-100:] or "附件"


def check_attachment(upload, max_bytes):
    """Return the content type of an acceptable attachment, or raise AttachmentRefused."""
    name = safe_filename(upload.filename)
    if not upload.data:
        raise AttachmentRefused(f"附件“{name}”是空文件，请重新选择")
    if len(upload.data) > max_bytes:
        raise AttachmentRefused(attachment_too_large(name, len(upload.data), max_bytes))
    suffix = PurePath(name).suffix.lower()
    for magic, content_type, suffixes in SIGNATURES:
        if upload.data.startswith(magic):
            if suffix not in suffixes:
                raise AttachmentRefused(f"附件“{name}”的扩展名与文件内容（{content_type}）不一致，请使用正确的扩展名")
            return content_type
    raise AttachmentRefused(f"附件“{name}”不是 PDF、JPG 或 PNG 文件（按文件内容判断），请上传扫描件的 PDF 或图片")


def store_checked(upload, content_type):
    """Store an attachment that passed check_attachment by its content hash; returns its StoredAttachment."""
    _, digest = storage.store_content(upload.data)
    return StoredAttachment(safe_filename(upload.filename), content_type, len(upload.data), digest)


def store_attachment(upload, max_bytes):
    """Check an attachment (AttachmentRefused) and store it by content hash; returns its StoredAttachment."""
    return store_checked(upload, check_attachment(upload, max_bytes))


def attachment_error(filename, message):
    """A refused attachment as a rule error on the field 附件."""
    return RuleError("FORMAT", "attachments", "附件", safe_filename(filename), message)
