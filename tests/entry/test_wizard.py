"""单个录入: the two-step wizard, its HTMX fragments, errors next to fields, nothing lost."""
import io
import re

from portal.certificates.models import Certificate
from portal.extensions import db
from tests.factories import issuable_certificate, issuable_persons

STEP1 = ("holder_name", "holder_uscc", "authority_uscc", "issue_date", "valid_until")


def _form(values=None, persons=None, action="submit", **extra):
    values = values or issuable_certificate()
    persons = issuable_persons() if persons is None else persons
    data = {k: v for k, v in values.items() if k != "authority_name"}
    for i, person in enumerate(persons):
        for key, value in person.items():
            data[f"persons-{i}-{key}"] = value
    data["action"] = action
    data.update(extra)
    return data


def _count():
    return db.session.scalar(db.select(db.func.count(Certificate.id)))


def test_step1_shows_required_marks_and_the_operators_authority(login_as):
    page = login_as("clerk").get("/entry/crane/new").get_data(as_text=True)
    assert "第一步 基本信息" in page and '<span class="req">*</span>使用单位名称' in page
    assert "太原市住房和城乡建设局" in page and "11140100MB0000002K" in page
    assert 'name="action" value="next"' in page


def test_next_with_step1_errors_stays_on_step1_with_messages(login_as):
    client = login_as("clerk")
    values = issuable_certificate(holder_uscc="91350100M000100Y4Z", issue_date="")
    page = client.post("/entry/crane/new", data=_form(values, action="next")).get_data(as_text=True)
    assert "第一步 基本信息" in page and 'class="step current' in page
    assert "91350100M000100Y4Z" in page and "发证日期" in page and "必填" in page
    assert 'value="next"' in page  # still step 1


def test_next_moves_to_step2_keeping_everything_typed(login_as):
    client = login_as("clerk")
    page = client.post("/entry/crane/new", data=_form(action="next")).get_data(as_text=True)
    assert 'value="submit"' in page and "相关人员信息" in page
    assert 'value="山西测试建筑工程有限公司"' in page  # step-1 value carried as hidden input
    assert "王建国" in page and 'value="晋AA-T00001"' in page


def test_submit_issues_and_shows_the_success_popup(login_as):
    client = login_as("clerk")
    response = client.post("/entry/crane/new", data=_form())
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "提交成功" in page and "140105T（2025）0000001" in page
    cert = db.session.scalar(db.select(Certificate))
    assert cert.pdf_state == "signed" and len(cert.persons) == 10


def test_submit_errors_are_shown_by_field_and_person_and_nothing_is_lost(login_as):
    client = login_as("clerk")
    persons = issuable_persons()
    persons[1]["id_number"] = "140105198501010019"  # wrong check digit
    values = issuable_certificate(location="37.9017,117.4937", tower_jib_length="abc")
    response = client.post("/entry/crane/new", data=_form(values, persons))
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and _count() == 0
    assert "安装位置" in page and "37.9017,117.4937" in page
    assert "140105198501010019" in page and "身份证号码" in page
    assert 'value="abc"' in page and "王建国" in page


def test_step1_error_found_at_submit_shows_step1(login_as):
    client = login_as("clerk")
    page = client.post("/entry/crane/new", data=_form(issuable_certificate(holder_name=""))).get_data(as_text=True)
    assert 'value="next"' in page and "使用单位名称" in page and _count() == 0


def test_user_without_signing_right_can_fill_but_submit_is_refused(login_as):
    client = login_as("clerk2")
    assert client.post("/entry/crane/new", data=_form(action="next")).status_code == 200
    response = client.post("/entry/crane/new", data=_form())
    assert response.status_code == 403
    body = response.get_data(as_text=True)
    assert "您没有签章权限，无法生成电子证照" in body and _count() == 0
    # who grants it, and no «fix the fields» for a right the clerk cannot give themselves
    assert "签章权限由系统管理员" in body and "处需要修改" not in body


def test_changing_crane_type_swaps_the_business_block(login_as):
    client = login_as("clerk")
    response = client.get("/entry/crane/business?crane_type=S", headers={"HX-Request": "true"})
    page = response.get_data(as_text=True)
    assert "<html" not in page and 'id="business-block"' in page
    assert "施工升降机额定载重量" in page and "塔式起重机起重臂长度" not in page and "物料提升机" not in page
    assert "HX-Request" in response.headers["Vary"]


def test_person_row_fragment_offers_every_personnel_type(login_as):
    page = login_as("clerk").get("/entry/crane/person-row?index=12", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in page and 'name="persons-12-name"' in page
    assert all(f"11{n:02d}" in page for n in range(1, 14)) and "建筑起重机械司机" in page


def test_tampered_authority_is_refused(login_as):
    client = login_as("clerk")
    response = client.post("/entry/crane/new", data=_form(issuable_certificate(authority_uscc="11140200MB0000003U")))
    assert response.status_code == 422 and "不是您所属的发证机关" in response.get_data(as_text=True)
    assert _count() == 0


def test_double_submit_issues_one_certificate(login_as):
    client = login_as("clerk")
    data = _form(submission_token="same-token")
    first = client.post("/entry/crane/new", data=data)
    second = client.post("/entry/crane/new", data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"] and _count() == 1


def test_script_in_a_field_is_shown_escaped(login_as):
    client = login_as("clerk")
    values = issuable_certificate(holder_name="<script>alert(1)</script>", holder_uscc="bad")
    page = client.post("/entry/crane/new", data=_form(values, action="next")).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_attachment_disguised_as_pdf_is_refused_and_a_real_one_kept(login_as):
    client = login_as("clerk")
    data = _form(issuable_certificate(holder_name=""))
    data["attachments"] = [(io.BytesIO(b"MZ\x90\x00 not a pdf"), "setup.pdf"), (io.BytesIO(b"%PDF-1.4 scan"), "申请表.pdf")]
    page = client.post("/entry/crane/new", data=data, content_type="multipart/form-data").get_data(as_text=True)
    assert "setup.pdf" in page and "不是 PDF、JPG 或 PNG" in page and _count() == 0
    draft = re.search(r'name="draft_attachment" value="([^"]+)"', page).group(1)
    data = _form(draft_attachment=draft)
    response = client.post("/entry/crane/new", data=data)
    assert response.status_code == 303
    cert = db.session.scalar(db.select(Certificate))
    assert [a.filename for a in cert.attachments] == ["申请表.pdf"]


def test_forged_draft_reference_is_ignored(login_as):
    client = login_as("clerk")
    response = client.post("/entry/crane/new", data=_form(draft_attachment="forged.token"))
    assert response.status_code == 303
    assert db.session.scalar(db.select(Certificate)).attachments == []


def test_business_fields_and_the_certificate_numbers_that_are_required_carry_their_mark(login_as):
    client = login_as("clerk")
    block = client.get("/entry/crane/business?crane_type=S", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert re.search(r'<span class="req">\*</span>施工升降机额定载重量', block) and 'aria-required="true"' in block
    page = client.post("/entry/crane/new", data=_form(action="next")).get_data(as_text=True)
    assert "1108、1109、1113 必填" in page
    rows = re.findall(r'<tr class="person-row.*?</tr>', page, re.S)
    marked = {re.search(r'<option value="(11\d\d)"[^>]*selected', r).group(1):
              not re.search(r'\shidden[\s>]', re.search(r'<span class="req cert-no-mark"[^>]*>', r).group(0))
              for r in rows}
    assert len(marked) >= 10 and {code for code, shown in marked.items() if shown} == {"1108", "1109", "1113"}


def test_a_bad_person_input_is_marked_invalid_and_described(login_as):
    persons = issuable_persons()
    persons[0]["id_number"] = "123"
    page = login_as("clerk").post("/entry/crane/new", data=_form(persons=persons)).get_data(as_text=True)
    row = re.search(r'<tr class="person-row has-error.*?</tr>', page, re.S).group(0)
    bad = re.search(r'<input name="persons-0-id_number"[^>]*>', row).group(0)
    assert 'aria-invalid="true"' in bad and 'aria-describedby="person-0-errors"' in bad
    assert 'aria-invalid="true"' not in re.search(r'<input name="persons-0-name"[^>]*>', row).group(0)
    assert 'id="person-0-errors"' in page and ">操作</th>" in page
