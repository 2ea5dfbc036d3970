"""Sending files with personal data (signed PDFs, sealed OFDs, attachments, failure reports): never cached by
the browser or a proxy, never sniffed as another type."""
from io import BytesIO
from pathlib import Path

from flask import abort, send_file

from portal import storage
from portal.certificates.documents import deliverable_ofd, deliverable_pdf, read_signed_pdf

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
