"""A zip archive produced a chunk at a time (bounded memory, first bytes at once): exports stream it."""
import zipfile

from portal.clock import now


class _Chunks:
    """A write-only, unseekable stream that keeps what was written until taken (zipfile writes into it)."""

    def __init__(self):
        self.chunks = []

    def write(self, data):
        self.chunks.append(bytes(data))
        return len(data)

    def flush(self):
        pass

    def take(self):
        data, self.chunks = b"".join(self.chunks), []
        return data


def zip_chunks(members):
    """The bytes of a zip, a chunk at a time, of (name, compress, parts) members: parts yields str or bytes.

    The archive goes to an unseekable sink: zipfile then writes each member's sizes after its data."""
    sink, stamp = _Chunks(), now().timetuple()[:6]  # members dated as people read the time (Beijing)
    with zipfile.ZipFile(sink, "w", allowZip64=True) as archive:
        for name, compress, parts in members:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
            with archive.open(info, "w", force_zip64=True) as target:
                for part in parts:
                    target.write(part.encode("utf-8") if isinstance(part, str) else part)
                    if len(sink.chunks) > 16:
                        yield sink.take()
            yield sink.take()
    yield sink.take()
