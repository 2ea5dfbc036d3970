"""Files under STORAGE_DIR (signed PDFs, attachments, failure reports), shared by web and workers."""
import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

from flask import current_app


def root():
    return Path(current_app.config["STORAGE_DIR"])


def path_of(relative):
    """Absolute path of a stored file; refuses anything that would leave the storage folder."""
    base = root().resolve()
    target = (base / relative).resolve()
    if base not in target.parents:
        raise ValueError("invalid storage path")
    return target


def write_bytes(relative, data):
    """Write atomically (temp file + rename) so a reader never sees half a file; on any failure (a full
    disk: OSError ENOSPC) the temp file is removed and the error raised, leaving no trace."""
    target = path_of(relative)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return relative


def read_bytes(relative):
    return path_of(relative).read_bytes()


def store_content(data, folder="attachments"):
    """Store bytes by their SHA-256; returns (relative path, digest)."""
    digest = hashlib.sha256(data).hexdigest()
    relative = f"{folder}/{digest[:2]}/{digest}"
    if not path_of(relative).exists():
        write_bytes(relative, data)
    return relative, digest
