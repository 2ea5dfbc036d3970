"""Issue 12: the sealed certificate carries ID numbers masked and no phone numbers; the database, the
authorised detail page and the report to 住建部 keep the full values."""
import json
import re
import subprocess

from portal.auth.models import User
from portal.certificates.documents import build_document, read_signed_pdf
from portal.certificates.issuing import issue_certificate
from portal.display import mask_id_number
from portal.extensions import db
from portal.platform.models import ReportOutbox
from tests.factories import issuable_certificate, issuable_persons


def _issued():
    clerk = db.session.scalar(db.select(User).filter_by(username="clerk"))
    persons = issuable_persons()
    for i, person in enumerate(persons):
        person["phone"] = f"1390000{i:04d}"
    return issue_certificate(clerk, issuable_certificate(), persons), persons


def _text(pdf, tmp_path):
    path = tmp_path / "sealed.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", "-raw", str(path), "-"], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    return re.sub(r"\s+", "", out)


def test_sealed_pdf_masks_id_numbers_and_prints_no_phone(demo, tmp_path):
    cert, persons = _issued()
    text = _text(read_signed_pdf(db.session.get(type(cert), cert.id)), tmp_path)
    for person in persons:
        assert mask_id_number(person["id_number"]) in text
        assert person["id_number"] not in text and person["phone"] not in text
    assert "联系电话" not in text
    assert all("phone" not in p for p in build_document(cert).persons)  # the face is not even given them


def test_database_detail_page_and_ministry_report_keep_the_full_values(demo, login_as):
    cert, persons = _issued()
    stored = {p.id_number: p.phone for p in cert.persons}
    assert stored == {p["id_number"]: p["phone"] for p in persons}
    page = login_as("clerk").get(f"/maintenance/crane/{cert.id}").get_data(as_text=True)
    assert all(p["phone"] in page for p in persons)  # the clerk's own detail page lists the phones
    report = db.session.scalar(db.select(ReportOutbox).filter_by(certificate_id=cert.id))
    sent = json.dumps(report.payload, ensure_ascii=False)
    assert all(f'"idNumber": "{p["id_number"].upper()}"' in sent for p in persons)


def test_worker_warm_up_seals_a_sample_per_keyed_authority_and_keeps_nothing(demo):
    """jobs.worker warms forked work horses this way: every authority's key and seal are loaded, one
    without a key is passed over, and no certificate, event or file is left behind."""
    from pathlib import Path

    from portal.certificates.authorities import Authority
    from portal.certificates import keys
    from portal.certificates.documents import warm_up_sealing
    from portal.certificates.models import Certificate, CertificateEvent

    authorities = db.session.execute(db.select(Authority.uscc, Authority.name)).all()
    assert any(keys.has_key(uscc) for uscc, _ in authorities)
    storage_dir = Path(demo.config["STORAGE_DIR"])
    before = sorted(storage_dir.rglob("*")) if storage_dir.exists() else []
    warm_up_sealing([*authorities, ("11149900MB0000009X", "无密钥的发证机关")])
    assert db.session.scalar(db.select(db.func.count()).select_from(Certificate)) == 0
    assert db.session.scalar(db.select(db.func.count()).select_from(CertificateEvent)) == 0
    assert (sorted(storage_dir.rglob("*")) if storage_dir.exists() else []) == before
