"""Sending files with personal data (signed PDFs, sealed OFDs, attachments, failure reports): never cached by
the browser or a proxy, never sniffed as another type."""
from io import BytesIO
from pathlib import Path
from urllib.parse import quote

from flask import Response, abort, send_file, stream_with_context

from portal import storage, xlsx_export
from portal.certificates.documents import CopyUnavailable, deliverable_ofd, deliverable_pdf, read_signed_pdf
from portal.zip_stream import zip_chunks

OFD_MIMETYPE = "application/ofd"


def private_file(data, mimetype, download_name, as_attachment=True):
    """A download of bytes (or of a stored file, given its path) only its user may see."""
    source = data if isinstance(data, Path) else BytesIO(data)
    response = send_file(source, mimetype=mimetype, as_attachment=as_attachment, download_name=download_name,
                         max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def signed_pdf(cert, original=False):
    """The sealed PDF shown inline in the browser, or None while it is not signed.

    A cancelled certificate's PDF is its 已注销 rendition; `original` (admins only: the caller checks)
    gives the file first signed instead. Raises documents.CopyUnavailable when the rendition cannot be made.
    """
    data = read_signed_pdf(cert) if original else deliverable_pdf(cert)
    if data is None:
        return None
    suffix = "（已注销）" if cert.status == "cancelled" and not original else ""
    return private_file(data, "application/pdf", f"{cert.number}{suffix}.pdf", as_attachment=False)


def sealed_ofd(cert):
    """The OFD under the SM2 electronic seal as a download (no browser shows OFD), or None while there is none.

    A cancelled certificate's OFD is its 已注销 rendition. Raises documents.CopyUnavailable when it cannot be made.
    """
    data = deliverable_ofd(cert)
    if data is None:
        return None
    suffix = "（已注销）" if cert.status == "cancelled" else ""
    return private_file(data, OFD_MIMETYPE, f"{cert.number}{suffix}.ofd")


def copy_or_reason(send, cert, **options):
    """(response, None) from send(cert) — signed_pdf or sealed_ofd — or (None, why in Chinese) when a cancelled
    certificate's 已注销 rendition cannot be sealed; (None, None) while there is no copy yet."""
    try:
        return send(cert, **options), None
    except CopyUnavailable as exc:
        return None, str(exc)


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


def _file_blocks(path, size=1 << 16):
    with open(path, "rb") as source:
        while block := source.read(size):
            yield block


def private_stream(chunks, mimetype, download_name):
    """A download produced while it is sent (an export of any size, in bounded memory), never cached.

    The request context stays open while it streams: the rows are read from the database as they go."""
    response = Response(stream_with_context(chunks), mimetype=mimetype)
    ascii_name = "export" + (Path(download_name).suffix or "")
    response.headers["Content-Disposition"] = (f"attachment; filename={ascii_name}; "
                                               f"filename*=UTF-8''{quote(download_name)}")
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def private_xlsx(sheets, download_name):
    """A workbook of (title, header, rows) sheets, written and sent as the rows are read."""
    return private_stream(xlsx_export.workbook_chunks(sheets), xlsx_export.XLSX, download_name)


def private_zip(files, download_name):
    """A zip of (name in the archive, path on disk) files, stored (PDFs are compressed already), streamed."""
    members = ((name, False, _file_blocks(path)) for name, path in files)
    return private_stream(zip_chunks(members), "application/zip", download_name)
