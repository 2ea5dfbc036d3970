"""证照委托授权: the delegate's pages, and 委托授权管理 (grant, change, revoke) for admins and supervisors."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal import downloads
from portal.access import area_required, may, roles_required
from portal.auth.forms import EmptyForm
from portal.certificates.documents import page_facts
from portal.delegation import bp
from portal.delegation.forms import GrantChangeForm, GrantForm
from portal.delegation.services import MANAGERS, DelegationForbidden, active_grant, \
    active_grants, can_manage, change_delegation, get_managed_grant, grant_delegation, granted_certificate, \
    grantee_choices, list_grants, manageable_authorities, parse_codes, revoke_delegation, scope_words, \
    search_granted
from portal.clock import now, today
from portal.forms import FieldError, show_field_error
from portal.htmx import render_view
from portal.paging import page_arg
from portal.standard import codes
from portal.standard.rules import NO_CHANGE


# ---------------------------------------------------------------------------------------------------
# 委托授权管理 (admins: every authority; supervisors: their own authority only)

@bp.route("/grants")
@roles_required(*MANAGERS)
def grants():
    """委托授权管理: the grants this user manages, with state and actions."""
    return render_template("delegation/grants.html", grants=list_grants(current_user), today=today(),
                           scope_words=scope_words, action_form=EmptyForm())


def _grant_form_choices(form):
    form.grantee.choices = [("", "请选择")] + [(str(u.id), f"{u.display_name}（{u.username}）") for u in grantee_choices()]
    form.authorities.choices = [(str(a.id), a.name) for a in manageable_authorities(current_user)]


@bp.route("/grants/new", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def grant_new():
    """新建委托授权: grantee, type, scope, operations, validity; refused input keeps what was typed."""
    form = GrantForm()
    _grant_form_choices(form)
    if request.method == "GET":
        form.start_date.data = today().isoformat()
    if form.validate_on_submit():
        try:
            grant = grant_delegation(current_user, form.grantee.data, form.cert_type.data, form.authorities.data,
                                     parse_codes(form.division_codes.data), form.operations.data, form.start_date.data,
                                     form.end_date.data, form.note.data)
        except DelegationForbidden:
            abort(403)
        except FieldError as exc:
            show_field_error(form, exc)
        else:
            flash(f"已授权 {grant.grantee.username} 查看{grant.cert_type_name}（{scope_words(grant)}），"
                  f"有效期 {grant.start_date.isoformat()} 至 {grant.end_date.isoformat()}", "success")
            return redirect(url_for("delegation.grants"), 303)
    jurisdiction = {a.id: sorted(a.jurisdiction) for a in manageable_authorities(current_user)}
    status = 200 if request.method == "GET" or not form.errors else 422
    return render_template("delegation/grant_form.html", form=form, change_refused=NO_CHANGE,
                           jurisdiction=jurisdiction, division=codes.division), status


@bp.route("/grants/<int:grant_id>", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def grant_edit(grant_id):
    """修改委托授权: end date and note; a grant outside the user's authority is 404."""
    grant = get_managed_grant(current_user, grant_id)
    if grant is None:
        abort(404)
    form = GrantChangeForm()
    if request.method == "GET":
        form.end_date.data, form.note.data = grant.end_date.isoformat(), grant.note
    if form.validate_on_submit():
        try:
            change_delegation(current_user, grant, form.end_date.data, form.note.data)
        except FieldError as exc:
            show_field_error(form, exc)
        else:
            flash(f"已修改授权编号 {grant.id}：有效期至 {grant.end_date.isoformat()}", "success")
            return redirect(url_for("delegation.grants"), 303)
    status = 200 if request.method == "GET" or not form.errors else 422
    return render_template("delegation/grant_edit.html", grant=grant, form=form, scope_words=scope_words,
                           today=today()), status


@bp.route("/grants/<int:grant_id>/revoke", methods=["POST"])
@roles_required(*MANAGERS)
def grant_revoke(grant_id):
    """撤销委托授权: effective on the grantee's next request; a grant outside the user's authority is 404."""
    grant = get_managed_grant(current_user, grant_id)
    if grant is None:
        abort(404)
    if EmptyForm().validate_on_submit():
        try:
            revoke_delegation(current_user, grant)
        except FieldError as exc:
            flash(str(exc), "warning")
        else:
            flash(f"已撤销授权编号 {grant.id}（{grant.grantee.username}），即时生效", "success")
    return redirect(url_for("delegation.grants"), 303)


# ---------------------------------------------------------------------------------------------------
# 证照委托授权: the delegate's own pages. Every view re-checks the grant (own, active today, covering).

def _grant_or_404(grant_id):
    grant = active_grant(current_user, grant_id)
    if grant is None:
        abort(404)
    return grant


def _certificate_or_404(grant, certificate_id):
    cert = granted_certificate(current_user, grant, certificate_id)
    if cert is None or not may(current_user, "view", cert):
        abort(404)
    return cert


@bp.route("/")
@area_required("delegation")
def index():
    """证照委托授权: the user's active grants (type, scope, validity, operations) with 进入."""
    return render_template("delegation/index.html", grants=active_grants(current_user), scope_words=scope_words,
                           can_manage=can_manage(current_user))


@bp.route("/<int:grant_id>/certificates")
@area_required("delegation")
def certificates(grant_id):
    """The certificates of one grant, searchable (any part of 证书编号 / 使用单位, 备案编号), paginated."""
    grant = _grant_or_404(grant_id)
    filters = {key: (request.args.get(key) or "").strip()[:200] for key in ("number", "holder_name", "record_number")}
    pagination = search_granted(current_user, grant, page=page_arg(request.args), **filters)
    return render_view("delegation/certificates.html", "delegation/_certificate_rows.html", grant=grant,
                       filters=filters, page_args={k: v for k, v in filters.items() if v}, pagination=pagination,
                       scope_words=scope_words, crane_type=codes.crane_type, change_refused=NO_CHANGE)


@bp.route("/<int:grant_id>/certificates/<int:certificate_id>")
@area_required("delegation")
def certificate_detail(grant_id, certificate_id):
    """查看: 照面信息, 业务信息, 相关人员 (masked ID numbers), 附件, the sealed PDF; 变更 disabled (R13)."""
    grant = _grant_or_404(grant_id)
    cert = _certificate_or_404(grant, certificate_id)
    return render_template("delegation/certificate_detail.html", grant=grant, change_refused=NO_CHANGE,
                           **page_facts(cert))


@bp.route("/<int:grant_id>/certificates/<int:certificate_id>/print")
@area_required("delegation")
def certificate_print(grant_id, certificate_id):
    """打印: the certificate's facts on a page made for paper, as the delegate may see them (no phones)."""
    grant = _grant_or_404(grant_id)
    cert = _certificate_or_404(grant, certificate_id)
    return render_template("certificates/print.html", show_phone=False, printed_at=now(), back_url=url_for(
        "delegation.certificate_detail", grant_id=grant.id, certificate_id=cert.id), **page_facts(cert))


@bp.route("/<int:grant_id>/certificates/<int:certificate_id>/pdf")
@area_required("delegation")
def certificate_pdf(grant_id, certificate_id):
    """电子证照: the sealed PDF inline (a cancelled certificate's carries its 已注销 mark), or why not (404)."""
    cert = _certificate_or_404(_grant_or_404(grant_id), certificate_id)
    if not may(current_user, "download", cert):
        abort(404)
    response, reason = downloads.copy_or_reason(downloads.signed_pdf, cert)
    return response or (
        render_template("delegation/pdf_missing.html", cert=cert, grant_id=grant_id, reason=reason), 404)


@bp.route("/<int:grant_id>/certificates/<int:certificate_id>/ofd")
@area_required("delegation")
def certificate_ofd(grant_id, certificate_id):
    """下载 OFD: the OFD under the SM2 electronic seal as a download, or why it is not there yet (404)."""
    cert = _certificate_or_404(_grant_or_404(grant_id), certificate_id)
    if not may(current_user, "download", cert):
        abort(404)
    response, reason = downloads.copy_or_reason(downloads.sealed_ofd, cert)
    return response or (render_template(
        "certificates/ofd_missing.html", cert=cert, show_reason=False, reason=reason,
        back_url=url_for("delegation.certificate_detail", grant_id=grant_id, certificate_id=cert.id)), 404)


@bp.route("/<int:grant_id>/certificates/<int:certificate_id>/attachments/<int:attachment_id>")
@area_required("delegation")
def certificate_attachment(grant_id, certificate_id, attachment_id):
    """附件: one scan of this certificate as a download; another certificate's attachment id is 404."""
    cert = _certificate_or_404(_grant_or_404(grant_id), certificate_id)
    if not may(current_user, "download", cert):
        abort(404)
    return downloads.attachment(cert, attachment_id)
