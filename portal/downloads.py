"""Sending files with personal data (signed PDFs, attachments, failure reports): never cached by the
browser or a proxy, never sniffed as another type."""
import zipfile
from io import BytesIO, RawIOBase
from urllib.parse import quote

from flask import Response, abort, send_file

from portal import storage, xlsx_export
from portal.certificates.documents import read_signed_pdf


def private_file(data, mimetype, download_name, as_attachment=True):
    """A download of bytes (or of a stored file, given its path; or of an open binary file, closed after
    sending) only its user may see."""
    source = BytesIO(data) if isinstance(data, bytes) else data
    response = send_file(source, mimetype=mimetype, as_attachment=as_attachment, download_name=download_name,
                         max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def private_xlsx(sheets, download_name):
    """A workbook of (title, header, rows) sheets, written row by row to a temporary file and sent from it."""
    return private_file(xlsx_export.write_workbook(sheets), xlsx_export.XLSX, download_name)


def signed_pdf(cert):
    """The sealed PDF shown inline in the browser, or None while it is not signed."""
    data = read_signed_pdf(cert)
    if data is None:
        return None
    return private_file(data, "application/pdf", f"{cert.number}.pdf", as_attachment=False)


def attachment(cert, attachment_id):
    """One of this certificate's scans as a download; 404 for another certificate's id or a lost file."""
    found = next((a for a in cert.attachments if a.id == attachment_id), None)
    if found is None:
        abort(404)
    try:
        data = storage.read_bytes(f"attachments/{found.sha256[:2]}/{found.sha256}")
    except (FileNotFoundError, ValueError):
        abort(404)
    return private_file(data, found.content_type, found.filename)


class _Chunks(RawIOBase):
    """A write-only stream that keeps what was written until taken: zipfile writes an archive into it."""

    def __init__(self):
        self.chunks = []

    def writable(self):
        return True

    def write(self, data):
        self.chunks.append(bytes(data))
        return len(data)

    def take(self):
        data, self.chunks = b"".join(self.chunks), []
        return data


def _zip_stream(members, chunk_size=1 << 16):
    """The bytes of a zip of (name in the archive, path on disk), produced a chunk at a time.

    PDFs are compressed already: members are stored. Memory stays at one chunk whatever the total."""
    sink = _Chunks()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, path in members:
            with open(path, "rb") as source, archive.open(name, "w", force_zip64=True) as target:
                while block := source.read(chunk_size):
                    target.write(block)
                    yield sink.take()
    yield sink.take()


def private_zip(members, download_name):
    """A zip of stored files streamed as it is written (no copy on disk or in memory), never cached."""
    response = Response(_zip_stream(members), mimetype="application/zip")
    response.headers["Content-Disposition"] = _attachment_header(download_name)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _attachment_header(download_name):
    return f"attachment; filename=export.zip; filename*=UTF-8''{quote(download_name)}"
