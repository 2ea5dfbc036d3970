"""证照录入: type cards, the 单个录入 wizard and its HTMX fragments."""
import secrets

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user

from portal import clock
from portal.access import area_required, may
from portal.auth.forms import EmptyForm
from portal.certificates.attachments import AttachmentUpload
from portal.certificates.drafts import NEED_SIGNING_RIGHT, may_keep_drafts
from portal.certificates.issuing import NO_SIGNING_RIGHT, SIGNING_RIGHT_GRANTED_BY, IssueRefused
from portal.certificates.models import Certificate
from portal.entry import bp
from portal.entry.forms import STEP1_KEYS, read_draft_ids, read_persons, read_values
from portal.entry.services import carry_attachments, check_step1, submit_certificate
from portal.extensions import db
from portal.htmx import render_view
from portal.paging import int_arg
from portal.standard import codes
from portal.standard.fields import FIELD_BY_KEY, FIELDS, PERSON_FIELDS


@bp.route("/")
@area_required("entry")
def index():
    """证照录入: the certificate-type cards."""
    return render_template("entry/index.html", signing_right_granted_by=SIGNING_RIGHT_GRANTED_BY)


def _default_persons():
    return [{"type_code": code, "name": "", "id_number": "", "cert_no": "", "phone": ""}
            for code in codes.required_personnel_codes()]


def _jurisdiction_choices():
    codes_seen = set()
    for authority in current_user.authorities:
        codes_seen |= authority.jurisdiction
    divisions = [codes.division(code) for code in sorted(codes_seen)]
    return [d for d in divisions if d is not None]


def _wizard_context(step, values, persons, errors=(), drafts=(), submission_token=None, general=(), refusal=None):
    """Everything wizard.html and its fragments need (one context builder for the page)."""
    field_errors, person_errors, block_errors = {}, {}, {"persons": [], "attachments": [], "certificate": []}
    person_error_keys = {}  # person index → the fields its errors are about (marked aria-invalid)
    for error in errors:
        if error.person_index is not None:
            person_errors.setdefault(error.person_index, []).append(error.message)
            person_error_keys.setdefault(error.person_index, set()).add(error.key)
        elif error.key in block_errors:
            block_errors[error.key].append(error.message)
        elif error.key in FIELD_BY_KEY:
            field_errors.setdefault(error.key, []).append(error.message)
        else:
            block_errors["certificate"].append(error.message)
    block_errors["certificate"] += list(general)
    return dict(step=step, values=values, persons=persons, fields=FIELDS, field_by_key=FIELD_BY_KEY,
                person_fields=PERSON_FIELDS, field_errors=field_errors, person_errors=person_errors,
                person_error_keys=person_error_keys,
                block_errors=block_errors, drafts=list(drafts), crane_types=codes.crane_types(),
                personnel_types=codes.personnel_types(), authorities=current_user.authorities,
                divisions=_jurisdiction_choices(), submission_token=submission_token or secrets.token_urlsafe(16),
                step1_keys=STEP1_KEYS, can_sign=current_user.can_sign, form=EmptyForm(),
                error_count=len(errors) + len(general), refusal=refusal, signing_right_granted_by=SIGNING_RIGHT_GRANTED_BY)


@bp.route("/crane/new", methods=["GET", "POST"])
@area_required("entry")
def new_certificate():
    """单个录入: step 1 基本信息 → 下一步 → step 2 照面信息 → 提交."""
    if request.method == "GET":
        values = {f.key: "" for f in FIELDS}
        if current_user.authorities:
            values["authority_uscc"] = current_user.authorities[0].uscc
            values["authority_name"] = current_user.authorities[0].name
        values["crane_type"] = "T"
        values["issue_date"] = clock.today().isoformat()  # most certificates are issued the day they are typed
        issued = _issued_certificate(int_arg(request.args, "issued"))
        return render_template("entry/wizard.html", issued=issued, **_wizard_context(1, values, _default_persons()))

    EmptyForm().validate_on_submit() or abort(400, description="CSRF token missing")
    action = request.form.get("action", "next")
    values = read_values(request.form, current_user.authorities)
    persons = read_persons(request.form)
    max_bytes = current_app.config["ATTACHMENT_MAX_MB"] * 1024 * 1024
    uploads, refused = _uploads()
    drafts, upload_errors = carry_attachments(current_user, read_draft_ids(request.form), uploads, max_bytes)
    upload_errors = refused + upload_errors
    token = request.form.get("submission_token") or None
    context = dict(values=values, persons=persons, drafts=drafts, submission_token=token)

    if action == "back":
        return render_template("entry/wizard.html", **_wizard_context(1, **context))
    if action == "next":
        errors = check_step1(current_user, values)
        step = 1 if errors else 2
        return render_template("entry/wizard.html", **_wizard_context(step, errors=errors, **context))
    # 提交
    if not current_user.can_sign:
        # not a field to fix: the page says who grants the right, and keeps what was typed
        return render_template("entry/wizard.html", **_wizard_context(2, refusal=NO_SIGNING_RIGHT, **context)), 403
    if upload_errors:
        return render_template("entry/wizard.html", **_wizard_context(2, general=upload_errors, **context)), 422
    try:
        cert = submit_certificate(current_user, values, persons, drafts, token)
    except IssueRefused as refused:
        step = 1 if any(e.key in STEP1_KEYS for e in refused.errors) else 2
        return render_template("entry/wizard.html", **_wizard_context(step, errors=refused.errors, **context)), 422
    return redirect(url_for("entry.new_certificate", issued=cert.id), 303)


def _uploads():
    """This try's chosen files, read only for a user who may keep them; returns (uploads, refusals)."""
    files = [f for f in request.files.getlist("attachments") if f and f.filename]
    if files and not may_keep_drafts(current_user):
        return [], [NEED_SIGNING_RIGHT]
    return [AttachmentUpload(f.filename, f.read()) for f in files], []


def _issued_certificate(certificate_id):
    if not certificate_id:
        return None
    cert = db.session.get(Certificate, certificate_id)
    return cert if cert is not None and may(current_user, "view", cert) else None


@bp.route("/crane/business")
@area_required("entry")
def business_block():
    """业务信息 for the chosen 设备类别 (HTMX swap when the type changes)."""
    values = {f.key: (request.args.get(f.key) or "").strip() for f in FIELDS}
    if codes.crane_type(values["crane_type"]) is None:
        values["crane_type"] = "T"
    return render_view("entry/wizard.html", "entry/partials/_business.html",
                       **_wizard_context(2, values, read_persons(request.args)))


@bp.route("/crane/person-row")
@area_required("entry")
def person_row():
    """One empty personnel row (HTMX 添加人员)."""
    index = int_arg(request.args, "index", low=0, high=999)
    if index is None:
        abort(400)
    person = {"type_code": request.args.get("type_code", ""), "name": "", "id_number": "", "cert_no": "", "phone": ""}
    context = _wizard_context(2, {f.key: "" for f in FIELDS}, [])
    return render_view("entry/wizard.html", "entry/partials/_person_row.html", index=index, person=person,
                       row_errors=[], **context)


@bp.route("/crane/person-row/remove")
@area_required("entry")
def remove_person_row():
    """删除 a personnel row: htmx removes the row (hx-swap="delete"); nothing is stored until 提交."""
    return "", 200


@bp.route("/crane/authority-code")
@area_required("entry")
def authority_code():
    """发证机关代码 of the chosen authority (filled from it, HTMX)."""
    uscc = request.args.get("authority_uscc", "")
    authority = next((a for a in current_user.authorities if a.uscc == uscc), None)
    values = {f.key: "" for f in FIELDS}
    values.update(authority_uscc=authority.uscc if authority else "", crane_type="T")
    return render_view("entry/wizard.html", "entry/partials/_authority_code.html",
                       code=values["authority_uscc"], **_wizard_context(1, values, _default_persons()))

