"""Draft attachments of 单个录入: kept only for a user who may issue, within a quota, never for long."""
import io
import os
import time
from datetime import timedelta

import pytest

from portal import storage
from portal.clock import utcnow
from portal.auth.models import User
from portal.certificates.models import Certificate, DraftAttachment
from portal.extensions import db
from tests.entry.test_wizard import _form
from tests.parallel import at_once, browser_with_cookie, http_login

KB = 1024


@pytest.fixture
def app_config():
    return {"DRAFT_QUOTA_MB": 1}


def _scan(name, size=300 * KB):
    return io.BytesIO(b"%PDF-1.4 " + b"0" * (size - 9)), name


def _post(client, *files, action="back", **extra):
    data = _form(action=action, **extra)
    data["attachments"] = list(files)
    return client.post("/entry/crane/new", data=data, content_type="multipart/form-data")


def _draft_files():
    folder = storage.path_of("drafts")
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []


def _drafts():
    return db.session.scalars(db.select(DraftAttachment).order_by(DraftAttachment.id)).all()


def test_a_user_without_signing_right_stores_nothing_whatever_they_upload(login_as, demo):
    client = login_as("clerk2")
    response = _post(client, *[_scan(f"扫描{n}.pdf") for n in range(5)])
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and _drafts() == [] and _draft_files() == []
    assert 'name="draft_attachment"' not in page and 'type="file"' not in page
    submitted = _post(client, _scan("扫描.pdf"), action="submit")
    assert submitted.status_code == 403 and "签章权限" in submitted.get_data(as_text=True)
    assert _drafts() == [] and _draft_files() == []


def test_drafts_count_against_the_users_quota(login_as, demo):
    client = login_as("clerk")
    page = _post(client, _scan("一.pdf"), _scan("二.pdf"), _scan("三.pdf"), _scan("四.pdf")).get_data(as_text=True)
    assert [d.filename for d in _drafts()] == ["一.pdf", "二.pdf", "三.pdf"]
    assert sum(d.size for d in _drafts()) <= 1024 * KB and len(_draft_files()) == 3
    assert page.count('name="draft_attachment"') == 3
    # Another try of the form (or another tab) counts against the same quota.
    _post(client, _scan("五.pdf"))
    assert len(_drafts()) == 3
    refused = _post(client, _scan("六.pdf"), action="submit").get_data(as_text=True)
    assert "不能超过 1 MB" in refused and "“六.pdf”未保存" in refused
    assert db.session.scalar(db.select(db.func.count(Certificate.id))) == 0


def test_drafts_are_deleted_once_the_certificate_is_issued(login_as, demo):
    client = login_as("clerk")
    page = _post(client, _scan("申请表.pdf"), _scan("合同.pdf")).get_data(as_text=True)
    ids = [str(d.id) for d in _drafts()]
    assert all(f'name="draft_attachment" value="{i}"' in page for i in ids)
    response = client.post("/entry/crane/new", data=_form(draft_attachment=ids))
    assert response.status_code == 303
    cert = db.session.scalar(db.select(Certificate))
    assert sorted(a.filename for a in cert.attachments) == ["合同.pdf", "申请表.pdf"]
    assert _drafts() == [] and _draft_files() == []


def test_another_users_draft_cannot_be_attached(login_as, demo):
    clerk = db.session.scalar(db.select(User).filter_by(username="datong"))
    path = storage.write_bytes("drafts/someone-elses", b"%PDF-1.4 not yours")
    theirs = DraftAttachment(user_id=clerk.id, path=path, filename="别人的.pdf", size=18)
    db.session.add(theirs)
    db.session.commit()
    client = login_as("clerk")
    assert client.post("/entry/crane/new", data=_form(draft_attachment=str(theirs.id))).status_code == 303
    assert db.session.scalar(db.select(Certificate)).attachments == []
    assert db.session.get(DraftAttachment, theirs.id) is not None


def _age(relative, hours):
    then = time.time() - hours * 3600
    os.utime(storage.path_of(relative), (then, then))


def test_drafts_older_than_a_day_and_unknown_draft_files_are_purged_by_the_cli(demo, runner):
    clerk = db.session.scalar(db.select(User).filter_by(username="clerk"))
    old = DraftAttachment(user_id=clerk.id, path=storage.write_bytes("drafts/old", b"x"), filename="旧.pdf", size=1,
                          created_at=utcnow() - timedelta(hours=25))
    fresh = DraftAttachment(user_id=clerk.id, path=storage.write_bytes("drafts/fresh", b"x"), filename="新.pdf",
                            size=1, created_at=utcnow() - timedelta(hours=23))
    db.session.add_all([old, fresh])
    db.session.commit()
    storage.write_bytes("drafts/left-by-a-crash", b"x")
    _age("drafts/left-by-a-crash", 25)
    storage.write_bytes("drafts/being-uploaded-now", b"x")  # no row yet, but young: kept
    result = runner.invoke(args=["certs", "purge-drafts"])
    assert result.exit_code == 0 and "2 个" in result.output
    assert [d.filename for d in _drafts()] == ["新.pdf"]
    assert _draft_files() == ["being-uploaded-now", "fresh"]


def test_the_embedded_ticker_runs_the_purge_job(demo):
    from importlib import import_module

    from portal.background.queues import TICK_JOBS
    assert ("jobs.certificates.purge_stale_drafts", "default") in TICK_JOBS
    for dotted, _queue in TICK_JOBS:
        module, name = dotted.rsplit(".", 1)
        assert callable(getattr(import_module(module), name)), dotted
    clerk = db.session.scalar(db.select(User).filter_by(username="clerk"))
    db.session.add(DraftAttachment(user_id=clerk.id, path=storage.write_bytes("drafts/old", b"x"), filename="旧.pdf",
                                   size=1, created_at=utcnow() - timedelta(days=2)))
    db.session.commit()
    from jobs.certificates import purge_stale_drafts
    assert purge_stale_drafts() == 1 and _drafts() == []


@pytest.mark.postgres
def test_parallel_uploads_of_one_user_stay_within_the_quota(live_postgres_app):
    app = live_postgres_app
    cookie = http_login(app, "clerk").cookies.get("session")

    def upload(n):
        name, data = f"扫描{n}.pdf", b"%PDF-1.4 " + b"0" * (300 * KB)
        return browser_with_cookie(app, cookie).post(app.config["LIVE_URL"] + "/entry/crane/new", data=_form(action="back"),
                            files=[("attachments", (name, data, "application/pdf"))]).status_code

    assert at_once(12, upload) == [200] * 12
    with app.app_context():
        sizes = db.session.scalars(db.select(DraftAttachment.size)).all()
    assert len(sizes) == 3 and sum(sizes) <= 1024 * KB
