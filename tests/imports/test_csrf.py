"""The upload is a POST like any other: refused without the page's CSRF token."""
import io
import re

from portal.background.models import Task
from portal.extensions import db
from tests.imports.helpers import import_zip, valid_rows


def test_upload_needs_the_csrf_token_of_the_page(login_as, app):
    client = login_as("clerk")
    app.config["WTF_CSRF_ENABLED"] = True  # logged in with it off (as the other tests); the upload with it on
    page = client.get("/entry/crane/import/").get_data(as_text=True)
    data = import_zip(valid_rows(count=1))
    response = client.post("/entry/crane/import/", data={"file": (io.BytesIO(data), "a.zip")},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert db.session.scalar(db.select(db.func.count(Task.id)).where(Task.kind == "import")) == 0
    assert re.search(r'name="csrf_token" type="hidden" value="[^"]+"', page)  # the form carries the token
