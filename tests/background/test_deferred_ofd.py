"""The OFD copies of a 'pdf' task's certificates: made by an 'ofd' task queued once the PDFs are signed, and
queued again by the reconciler when that task was lost (SQLite, inline jobs)."""
from portal.background.lifecycle import start_task
from portal.background.models import Task
from portal.background.reconcile import reconcile
from portal.certificates import documents
from portal.certificates.models import Certificate
from portal.certificates.ofd_verify import verify_ofd
from portal.certificates import seal_keys
from portal.extensions import db
from tests.background.test_reconcile import _age, _disk_full, _issue, _temp_files, app_config, clerk  # noqa: F401


def _states(ids):
    db.session.expire_all()
    return [(c.pdf_state, c.ofd_state) for c in (db.session.get(Certificate, i) for i in ids)]


def test_a_pdf_task_signs_the_pdfs_first_then_an_ofd_task_seals_their_ofds(clerk):
    ids = _issue(clerk, 3)
    documents.queue_seals(ids)  # inline jobs: the 'pdf' task runs, and the 'ofd' task it queues after it
    assert _states(ids) == [("signed", "signed")] * 3
    kinds = [(t.kind, t.state, t.total, t.succeeded) for t in db.session.scalars(db.select(Task).order_by(Task.id))]
    assert kinds == [("pdf", "done", 3, 3), ("ofd", "done", 3, 3)]
    cert = db.session.get(Certificate, ids[0])
    check = verify_ofd(documents.read_sealed_ofd(cert), seal_keys.seal_trust_roots())
    assert check.valid and check.doc_info["证书编号"] == cert.number


def test_a_certificate_sealed_without_its_ofd_gets_it_from_the_reconciler_once_overdue(clerk):
    ids = _issue(clerk, 2)
    for certificate_id in ids:  # as if the 'pdf' task died right after its PDFs, before queuing their OFDs
        assert documents.seal_certificate(certificate_id, with_ofd=False) == "signed"
    assert _states(ids) == [("signed", "pending")] * 2
    assert reconcile().lost_ofds == 0  # just sealed: the task that will seal them may still be on its way
    _age(ids)
    result = reconcile()
    assert result.lost_ofds == 2 and not result.errors and "补排 OFD 电子证照 2 张" in result.summary()
    assert _states(ids) == [("signed", "signed")] * 2
    assert reconcile().lost_ofds == 0  # idempotent


def test_ofds_held_by_a_waiting_task_are_left_to_it(clerk):
    ids = _issue(clerk, 2)
    for certificate_id in ids:
        documents.seal_certificate(certificate_id, with_ofd=False)
    _age(ids)
    start_task("ofd", title="生成 OFD 电子证照", total=2, params={"certificate_ids": ids})  # queued, not run here
    db.session.commit()
    assert reconcile().lost_ofds == 0 and _states(ids) == [("signed", "pending")] * 2


def test_an_authority_without_an_sm2_seal_is_not_queued_again_and_again(clerk, monkeypatch):
    [cert_id] = _issue(clerk, 1)

    def no_seal(uscc):
        raise seal_keys.CredentialsMissing(uscc)
    monkeypatch.setattr(seal_keys, "seal_signer_for", no_seal)
    documents.queue_seals([cert_id])
    assert _states([cert_id]) == [("signed", "failed")]  # the reason is kept; the admin's 补签 seals it later
    _age([cert_id])
    assert reconcile().lost_ofds == 0


def test_an_ofd_the_full_disk_refused_stays_pending_with_the_reason_and_is_sealed_once_space_returns(clerk,
                                                                                                   monkeypatch):
    [cert_id] = _issue(clerk, 1)
    assert documents.seal_certificate(cert_id, with_ofd=False) == "signed"
    _disk_full(monkeypatch)
    documents.queue_ofd_copies([cert_id])
    cert = db.session.get(Certificate, cert_id)
    assert (cert.pdf_state, cert.ofd_state) == ("signed", "pending")
    assert "存储空间不足" in cert.ofd_error and "系统将自动重试" in cert.ofd_error and _temp_files() == []
    monkeypatch.undo()  # space returns
    _age([cert_id])
    assert reconcile().lost_ofds == 1
    assert _states([cert_id]) == [("signed", "signed")] and db.session.get(Certificate, cert_id).ofd_error is None
