"""Numbers stay unique and consecutive per authority-year when many issue at once (R1)."""
import threading

import pytest

from portal.auth.models import User
from portal.certificates.issuing import IssueOptions, issue_certificate
from portal.certificates.models import Certificate
from portal.extensions import db
from tests.conftest import TEST_DATABASE_URL, need_service
from tests.factories import issuable_certificate, issuable_persons

THREADS, EACH = 4, 5


def _issue_concurrently(app):
    errors, barrier = [], threading.Barrier(THREADS)

    def worker(index):
        with app.app_context():
            clerk = db.session.scalar(db.select(User).filter_by(username="clerk"))
            barrier.wait()
            try:
                for k in range(EACH):
                    n = 1 + index * EACH + k
                    issue_certificate(clerk, issuable_certificate(n), issuable_persons(),
                                      options=IssueOptions(seal_now=False, enqueue_seal=False, dispatch=False))
            except Exception as exc:  # the assertion below shows it
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def _assert_unique_and_consecutive(app, expected):
    with app.app_context():
        serials = db.session.scalars(db.select(Certificate.serial).order_by(Certificate.serial)).all()
        numbers = db.session.scalars(db.select(Certificate.number)).all()
    assert serials == list(range(1, expected + 1))
    assert len(set(numbers)) == expected


def test_threads_issuing_at_once_get_unique_consecutive_numbers(shared_app):
    assert _issue_concurrently(shared_app) == []
    _assert_unique_and_consecutive(shared_app, THREADS * EACH)


def test_on_postgresql_threads_issuing_at_once_get_unique_consecutive_numbers(shared_app):
    need_service("PostgreSQL", bool(TEST_DATABASE_URL and TEST_DATABASE_URL.startswith("postgresql")),
                 "set DATABASE_URL=postgresql+psycopg2://…")
    assert _issue_concurrently(shared_app) == []
    _assert_unique_and_consecutive(shared_app, THREADS * EACH)


@pytest.mark.parametrize("imports", [2])
def test_two_imports_at_once_for_one_authority_get_unique_consecutive_numbers(shared_app, imports):
    from portal.imports.services import run_import, start_import
    from tests.imports.helpers import import_zip, valid_rows
    with shared_app.app_context():
        clerk = db.session.scalar(db.select(User).filter_by(username="clerk"))
        task_ids = [start_import(clerk, f"导入{i}.zip", import_zip(valid_rows(first=1 + i * 6, count=6)),
                                 enqueue=False).id for i in range(imports)]
    errors, barrier = [], threading.Barrier(imports)

    def worker(task_id):
        with shared_app.app_context():
            barrier.wait()
            try:
                result = run_import(task_id)
                assert (result.succeeded, result.failed) == (6, 0), result
            except Exception as exc:
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(task_id,)) for task_id in task_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    _assert_unique_and_consecutive(shared_app, imports * 6)
