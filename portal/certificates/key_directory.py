"""What both development PKIs (the ECDSA one for PDFs, the SM2 one for OFD seals) share: a directory of
keys that web and worker processes use at once, one sub-directory per authority, and a passphrase that is
never printed or pickled. Plain paths and bytes: no Flask, no database."""

from __future__ import annotations

import fcntl
import os
import re
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path

from .signing import PkiError

_USCC_RE = re.compile(r"^[0-9A-HJ-NP-RTUW-Y]{18}$")


def write_private_file(path: Path, data: bytes) -> None:
    """Write *data* atomically to *path* with mode 0600."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_public_file(path: Path, data: bytes) -> None:
    """Write *data* atomically to *path* (a certificate: readable by anyone)."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class KeyDirectory:
    """A PKI directory *root_dir* with ``root-ca.pem`` and ``authorities/<USCC>/``, guarded by a thread lock
    and an advisory file lock; subclasses read the passphrase as ``self._passphrase``."""

    def __init__(self, root_dir: str | os.PathLike, passphrase: bytes | str):
        if isinstance(passphrase, str):
            passphrase = passphrase.encode("utf-8")
        if not passphrase:
            raise PkiError("a non-empty passphrase is required")
        self.root_dir = Path(root_dir)
        self.__passphrase = bytes(passphrase)
        self._lock = threading.RLock()

    @property
    def _passphrase(self) -> bytes:
        return self.__passphrase

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {str(self.root_dir)!r}>"

    __str__ = __repr__

    def __reduce__(self):
        raise TypeError(f"{type(self).__name__} holds a passphrase and cannot be pickled")

    @property
    def root_cert_path(self) -> Path:
        return self.root_dir / "root-ca.pem"

    def authority_dir(self, uscc: str) -> Path:
        if not isinstance(uscc, str) or not _USCC_RE.match(uscc):
            raise PkiError(f"not a unified social credit code: {uscc!r}")
        return self.root_dir / "authorities" / uscc

    @contextmanager
    def _locked(self):
        """Thread lock + advisory file lock (web and worker processes share the directory)."""
        with self._lock:
            self.root_dir.mkdir(parents=True, exist_ok=True)
            try:
                os.chmod(self.root_dir, 0o700)
            except OSError:  # pragma: no cover - not our directory
                pass
            fd = os.open(self.root_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
