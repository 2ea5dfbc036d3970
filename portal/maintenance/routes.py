"""证照维护: the type card, the searchable list, 查看, the signed PDF and OFD, attachments, 注销 and 重新上报."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal import audit, clock, downloads
from portal.access import area_required, get_certificate_or_404, may
from portal.certificates.documents import page_facts, regenerate
from portal.certificates.issuing import IssueRefused, cancel_certificate
from portal.certificates.models import REPORT_STATE_NAMES, STATUS_NAMES
from portal.clock import now
from portal.extensions import db
from portal.htmx import render_view
from portal.maintenance import bp
from portal.maintenance.forms import CancelForm, parse_search_args
from portal.maintenance.services import COUNT_CAP, PDF_TAGS, REPORT_TAGS, event_rows, export_sheet, \
    search_certificates, visible_import_tasks
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
    return _list(filters, pagination, errors)


def _list(filters, pagination, errors, status=200):
    """The list page (or its rows for htmx) with everything the search form and the rows need."""
    task_links = visible_import_tasks(current_user, pagination.items) if pagination else set()
    return render_view("maintenance/crane_list.html", "maintenance/_rows.html", status=status, filters=filters,
                       pagination=pagination, errors=errors, statuses=STATUS_NAMES, crane_type=codes.crane_type,
                       report_states=REPORT_STATE_NAMES, crane_types=codes.crane_types(),
                       pdf_tags=PDF_TAGS, report_tags=REPORT_TAGS, count_cap=COUNT_CAP, task_links=task_links)


@bp.route("/crane/export")
@area_required("maintenance")
def crane_export():
    """导出: every certificate of the current search (all pages) that the user may see, as .xlsx."""
    filters, _, errors = parse_search_args(request.args)
    if errors:
        return _list(filters, None, errors, status=422)
    audit.record("certificate.export", actor=current_user, target="证照维护导出",
                 detail=" ".join(f"{k}={v}" for k, v in filters.query_args().items()))
    db.session.commit()
    return downloads.private_xlsx([export_sheet(current_user, filters)],
                                  f"建筑起重机械使用登记证书_{now().strftime('%Y%m%d%H%M')}.xlsx")


def _detail(cert, form=None, errors=(), status=200):
    """The 查看 page with everything its sections need (one context builder)."""
    context = dict(
        page_facts(cert), events=event_rows(cert), form=form or CancelForm(), errors=list(errors),
        change_disabled=NO_CHANGE,
        can_cancel=may(current_user, "cancel", cert), may_original=may(current_user, "download_original", cert),
        pdf_tags=PDF_TAGS, report_tags=REPORT_TAGS,
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
    """电子签章: the signed PDF inline (a cancelled certificate's carries its 已注销 mark), or why it is not there."""
    return _pdf(get_certificate_or_404(certificate_id, "download"))


@bp.route("/crane/<int:certificate_id>/pdf/original")
@area_required("maintenance")
def crane_pdf_original(certificate_id):
    """原始签章文件: the PDF first signed, without the 已注销 mark (admins only)."""
    return _pdf(get_certificate_or_404(certificate_id, "download_original"), original=True)


def _pdf(cert, original=False):
    response, reason = downloads.copy_or_reason(downloads.signed_pdf, cert, original=original)
    return response or (render_template("maintenance/pdf_missing.html", cert=cert, pdf_tags=PDF_TAGS,
                                        reason=reason), 404)


@bp.route("/crane/<int:certificate_id>/print")
@area_required("maintenance")
def crane_print(certificate_id):
    """打印: the certificate's facts on a page made for paper (no menu, no buttons)."""
    cert = get_certificate_or_404(certificate_id)
    return render_template("certificates/print.html", printed_at=clock.now(),
                           back_url=url_for("maintenance.crane_detail", certificate_id=cert.id), **page_facts(cert))


@bp.route("/crane/<int:certificate_id>/ofd")
@area_required("maintenance")
def crane_ofd(certificate_id):
    """下载 OFD: the OFD under the SM2 electronic seal as a download, or why it is not there (yet)."""
    cert = get_certificate_or_404(certificate_id, "download")
    response, reason = downloads.copy_or_reason(downloads.sealed_ofd, cert)
    return response or (render_template(
        "certificates/ofd_missing.html", cert=cert, show_reason=True, reason=reason,
        back_url=url_for("maintenance.crane_detail", certificate_id=cert.id)), 404)


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
