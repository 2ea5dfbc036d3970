"""Issue 17's «done when», end to end from a fresh database: a certificate issued through the product has
a GB/T 36904 identifier with a valid check character, a sealed OFD that an independent reader opens and
whose SM2 seal verifies (and fails after a one-byte change), and a report record that the strict
simulator accepts over HTTP."""
import io
import zipfile

import pytest

from platform_sim.normalize import license_id_is_valid
from portal.auth.models import User
from portal.certificates.documents import ofd_relative_path, read_sealed_ofd
from portal.certificates.issuing import IssueOptions, issue_certificate
from portal.certificates.ofd_documents import verify_ofd_bytes
from portal.clock import utcnow
from portal.extensions import db
from portal.platform.models import ReportOutbox
from portal.platform.reporting import send_due_reports
from portal.standard.license_id import LicenseId
from tests.certificates.ofd_helpers import unzip
from tests.factories import issuable_certificate, issuable_persons


@pytest.fixture
def app_config(platform_config):
    return dict(platform_config, RQ_ASYNC=False)


@pytest.fixture
def issued(demo, monkeypatch):
    """A certificate issued and sealed as the 单个录入 page does it; reports left for an explicit sweep."""
    monkeypatch.setattr("portal.platform.reporting.dispatch", lambda: None)
    clerk = db.session.scalar(db.select(User).filter_by(username="clerk"))
    cert = issue_certificate(clerk, issuable_certificate(7, valid_until="2030-12-31"), issuable_persons(),
                             options=IssueOptions(seal_now=True))
    assert (cert.pdf_state, cert.ofd_state) == ("signed", "signed"), (cert.pdf_error, cert.ofd_error)
    return cert


def _rezip_changed(data, name, position):
    """The package with one byte of file `name` changed (the archive itself rebuilt intact)."""
    files = unzip(data)
    content = bytearray(files[name])
    content[position] ^= 0x01
    files[name] = bytes(content)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for file_name, file_data in files.items():
            archive.writestr(file_name, file_data)
    return out.getvalue()


def test_the_identifier_has_a_valid_check_character_and_names_the_certificate(issued):
    parsed = LicenseId.parse(issued.license_id)
    assert license_id_is_valid(issued.license_id)  # the simulator's own MOD 37,36 implementation agrees
    assert parsed.authority_uscc == issued.authority_uscc == "11140100MB0000002K"
    assert parsed.serial == issued.number.replace("（", "").replace("）", "") and parsed.version == 1


def test_the_identifier_is_printed_on_the_pdf_face(issued, tmp_path):
    import subprocess
    from portal.certificates.documents import read_signed_pdf
    (tmp_path / "face.pdf").write_bytes(read_signed_pdf(issued))
    text = subprocess.run(["pdftotext", str(tmp_path / "face.pdf"), "-"], capture_output=True, text=True).stdout
    assert f"电子证照标识：{issued.license_id}" in text.replace("\n", "")


def test_the_sealed_ofd_opens_in_an_independent_reader_with_the_face_values(issued, tmp_path, monkeypatch):
    from easyofd.ofd import OFD
    data = read_sealed_ofd(issued)
    assert issued.ofd_path == ofd_relative_path(issued) == f"ofd/{issued.year}/{issued.ecert_id}.ofd"
    monkeypatch.chdir(tmp_path)  # easyofd unpacks into the working directory
    reader = OFD()
    reader.read(data, fmt="binary")
    document = reader.data[0]
    text = "".join(t["text"] for page in document["page_info"].values() for t in page["text_list"])
    for value in (issued.number, issued.license_id, issued.holder_name, issued.record_number, issued.authority_name,
                  "建筑起重机械使用登记证书"):
        assert value in text, value
    assert document["signatures_page_id"][0][0]["SignedValue"]


def test_the_seal_verifies_and_fails_after_one_changed_byte(issued):
    data = read_sealed_ofd(issued)
    verdict = verify_ofd_bytes(data)
    assert verdict.signature_valid and verdict.unmodified and verdict.certificate.id == issued.id, verdict.problems
    assert not verdict.problems and f"电子证照标识：{issued.license_id}" in "\n".join(verdict.lines())
    files = unzip(data)
    content = next(name for name in files if name.endswith("Content.xml"))
    for name, position in ((content, len(files[content]) // 2), ("OFD.xml", 10)):
        altered = verify_ofd_bytes(_rezip_changed(data, name, position))
        assert not (altered.signature_valid and altered.unmodified), name
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x01
    assert not verify_ofd_bytes(bytes(flipped)).signature_valid  # a clear verdict, no exception


def test_the_strict_simulator_accepts_the_record_with_the_identifier(issued, platform_sim):
    platform_sim.set_switches(verdict_delay=0)
    send_due_reports()
    db.session.execute(db.update(ReportOutbox).values(verdict_check_at=utcnow()))
    db.session.commit()
    send_due_reports()
    db.session.refresh(issued)
    assert issued.report_state == "collected", issued.report_message
    received = [record for report in platform_sim.reports()["reports"] for record in report["records"]]
    [record] = [r for r in received if r["eCertID"] == issued.ecert_id]
    assert (record["outcome"], record["reasons"], record["verdict"]) == ("success", [], "collected"), record
    assert record["record"]["zzeCertID"] == issued.license_id
