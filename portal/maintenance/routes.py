"""证照维护: the type card, the searchable list, 查看, the signed PDF, attachments, 注销 and 重新上报."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal import downloads
from portal.access import area_required, get_certificate_or_404, may
from portal.certificates.documents import business_rows, face_rows, person_rows, regenerate
from portal.certificates.issuing import IssueRefused, cancel_certificate
from portal.certificates.models import STATUS_NAMES
from portal.clock import local_time
from portal.display import mask_id_number
from portal.htmx import render_view
from portal.maintenance import bp
from portal.maintenance.forms import CancelForm, parse_search_args
from portal.maintenance.services import COUNT_CAP, PDF_TAGS, REPORT_TAGS, event_rows, search_certificates
from portal.platform import reporting
from portal.platform.service import person_finder
from portal.standard import codes
from portal.standard.rules import NO_CHANGE

@bp.route("/")
@area_required("maintenance")
def index():
    """证照维护: the certificate-type cards."""
    return render_template("maintenance/index.html")


@bp.route("/crane")
@area_required("maintenance")
def crane_list():
    """The certificates the user may see, searchable and paginated; an htmx search gets the rows only."""
    filters, page, errors = parse_search_args(request.args)
    pagination = None if errors else search_certificates(current_user, filters, page)
    return render_view("maintenance/crane_list.html", "maintenance/_rows.html", filters=filters,
                       pagination=pagination, errors=errors, statuses=STATUS_NAMES, crane_type=codes.crane_type,
                       pdf_tags=PDF_TAGS, report_tags=REPORT_TAGS, count_cap=COUNT_CAP)


def _detail(cert, form=None, errors=(), status=200):
    """The 查看 page with everything its sections need (one context builder)."""
    persons = [dict(p, id_number=mask_id_number(p["id_number"])) for p in person_rows(cert)]
    context = dict(
        cert=cert, crane=codes.crane_type(cert.crane_type), face=face_rows(cert), business=business_rows(cert),
        persons=persons, events=event_rows(cert), cancelled_at=local_time(cert.cancelled_at),
        form=form or CancelForm(), errors=list(errors), change_disabled=NO_CHANGE,
        can_cancel=may(current_user, "cancel", cert), pdf_tags=PDF_TAGS, report_tags=REPORT_TAGS,
        can_resend=may(current_user, "resend", cert) and cert.report_state in reporting.RESENDABLE_STATES,
        can_regenerate=may(current_user, "regenerate", cert) and cert.pdf_state == "failed")
    return render_template("maintenance/crane_detail.html", **context), status


@bp.route("/crane/<int:certificate_id>")
@area_required("maintenance")
def crane_detail(certificate_id):
    """查看: basic and face information, personnel (masked IDs), attachments, report state, history."""
    return _detail(get_certificate_or_404(certificate_id))


@bp.route("/crane/<int:certificate_id>/pdf")
@area_required("maintenance")
def crane_pdf(certificate_id):
    """电子签章: the signed PDF inline in the browser, or why it is not there yet."""
    cert = get_certificate_or_404(certificate_id, "download")
    return downloads.signed_pdf(cert) or (
        render_template("maintenance/pdf_missing.html", cert=cert, pdf_tags=PDF_TAGS), 404)


@bp.route("/crane/<int:certificate_id>/attachments/<int:attachment_id>")
@area_required("maintenance")
def crane_attachment(certificate_id, attachment_id):
    """附件: one of this certificate's scans, as a download under its stored name."""
    return downloads.attachment(get_certificate_or_404(certificate_id, "download"), attachment_id)


@bp.route("/crane/<int:certificate_id>/cancel", methods=["POST"])
@area_required("maintenance")
def crane_cancel(certificate_id):
    """注销: with a required reason; refusals (R9, already cancelled) are shown on the 查看 page."""
    cert = get_certificate_or_404(certificate_id)
    if cert.status != "issued":
        return _detail(cert, errors=[f"证书 {cert.number} 已注销，不能重复注销"], status=409)
    if not may(current_user, "cancel", cert):
        abort(403)
    form = CancelForm()
    if not form.validate_on_submit():
        messages = [m for field_errors in form.errors.values() for m in field_errors]
        return _detail(cert, form=form, errors=messages, status=422)
    try:
        cancel_certificate(current_user, cert, form.reason.data, find_person=person_finder())
    except IssueRefused as refused:
        return _detail(cert, form=form, errors=[e.message for e in refused.errors], status=422)
    flash(f"证书 {cert.number} 已注销，注销信息将自动上报住建部", "success")
    return redirect(url_for("maintenance.crane_detail", certificate_id=cert.id), 303)


@bp.route("/crane/<int:certificate_id>/regenerate-pdf", methods=["POST"])
@area_required("maintenance")
def crane_regenerate_pdf(certificate_id):
    """重新生成: an admin queues a failed PDF again (after mending its cause: a key, the disk)."""
    cert = get_certificate_or_404(certificate_id, "regenerate")
    if not regenerate(current_user, cert):
        return _detail(cert, status=409, errors=[
            f"电子证照状态为“{cert.pdf_state_name}”，只有生成失败的电子证照可以重新生成"])
    flash(f"证书 {cert.number} 的电子证照已重新排队生成，请稍后查看", "success")
    return redirect(url_for("maintenance.crane_detail", certificate_id=cert.id), 303)


@bp.route("/crane/<int:certificate_id>/resend-report", methods=["POST"])
@area_required("maintenance")
def crane_resend_report(certificate_id):
    """重新上报: a failed or rejected report is built again from the certificate and queued."""
    cert = get_certificate_or_404(certificate_id, "resend")
    if cert.report_state not in reporting.RESENDABLE_STATES:
        return _detail(cert, status=409, errors=[
            f"上报状态为“{cert.report_state_name}”，只有上报失败或校验失败的证书可以重新上报"])
    count = reporting.resend(current_user, cert)
    flash(f"已重新提交上报（{count} 条），请稍后查看上报状态", "success")
    return redirect(url_for("maintenance.crane_detail", certificate_id=cert.id), 303)
