"""系统管理: users, issuing authorities, audit log."""
import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal.access import area_required
from portal.admin import bp
from portal.admin.forms import AuthorityForm, PasswordResetForm, UserEditForm, UserForm
from portal.admin.services import create_signing_key, create_user, reset_password, save_authority, \
    set_user_enabled, update_user
from portal import audit
from portal.audit import AuditEntry
from portal.auth.forms import EmptyForm
from portal.auth.models import User
from portal.certificates import keys, seal_keys
from portal.certificates.authorities import Authority
from portal.extensions import db
from portal.forms import FieldError, show_field_error
from portal.paging import page_arg, paginate

PAGE_SIZE = 50


def _authority_choices(form):
    form.authorities.choices = [(a.id, a.name) for a in db.session.scalars(db.select(Authority).order_by(Authority.id))]


@bp.route("/")
@area_required("admin")
def index():
    """系统管理 overview."""
    counts = {
        "users": db.session.scalar(db.select(db.func.count(User.id))),
        "authorities": db.session.scalar(db.select(db.func.count(Authority.id))),
    }
    return render_template("admin/index.html", counts=counts)


@bp.route("/users")
@area_required("admin")
def users():
    """User list."""
    users = db.session.scalars(db.select(User).order_by(User.id)).all()
    return render_template("admin/users.html", users=users, action_form=EmptyForm())


@bp.route("/users/new", methods=["GET", "POST"])
@area_required("admin")
def user_new():
    """Create a user."""
    form = UserForm()
    _authority_choices(form)
    if form.validate_on_submit():
        try:
            user = create_user(current_user, form.username.data, form.password.data, form.role.data,
                               form.phone.data, form.display_name.data, form.authorities.data, form.can_sign.data)
        except FieldError as exc:
            show_field_error(form, exc)
        else:
            flash(f"已创建用户 {user.username}", "success")
            return redirect(url_for("admin.users"), 303)
    return render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@area_required("admin")
def user_edit(user_id):
    """Edit a user's role, phone, authorities and 签章权限."""
    user = db.get_or_404(User, user_id)
    form = UserEditForm(obj=user if request.method == "GET" else None)
    _authority_choices(form)
    if request.method == "GET":
        form.authorities.data = [a.id for a in user.authorities]
    if form.validate_on_submit():
        try:
            update_user(current_user, user, form.role.data, form.phone.data, form.display_name.data,
                        form.authorities.data, form.can_sign.data)
        except FieldError as exc:
            show_field_error(form, exc)
        else:
            flash(f"已保存用户 {user.username}", "success")
            return redirect(url_for("admin.users"), 303)
    return render_template("admin/user_form.html", form=form, user=user, reset_form=PasswordResetForm(),
                           action_form=EmptyForm())


@bp.route("/users/<int:user_id>/enabled", methods=["POST"])
@area_required("admin")
def user_enabled(user_id):
    """Enable (enabled=1) or disable (enabled=0) a user."""
    user = db.get_or_404(User, user_id)
    form = EmptyForm()
    if form.validate_on_submit():
        enabled = request.form.get("enabled") == "1"
        try:
            set_user_enabled(current_user, user, enabled)
        except FieldError as exc:
            flash(str(exc), "danger")
        else:
            flash(f"已{'启用' if enabled else '停用'}用户 {user.username}", "success")
    return redirect(url_for("admin.users"), 303)


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@area_required("admin")
def user_password(user_id):
    """Reset a user's password."""
    user = db.get_or_404(User, user_id)
    form = PasswordResetForm()
    if form.validate_on_submit():
        try:
            reset_password(current_user, user, form.password.data)
        except FieldError as exc:
            flash(str(exc), "danger")
        else:
            flash(f"已重置用户 {user.username} 的密码", "success")
    else:
        for errors in form.errors.values():
            flash("；".join(errors), "danger")
    return redirect(url_for("admin.user_edit", user_id=user.id), 303)


@bp.route("/authorities")
@area_required("admin")
def authorities():
    """Issuing authorities."""
    items = db.session.scalars(db.select(Authority).order_by(Authority.id)).all()
    return render_template("admin/authorities.html", authorities=items, action_form=EmptyForm(),
                           has_key={a.id: keys.has_key(a.uscc) for a in items},
                           has_seal_key={a.id: seal_keys.has_seal_key(a.uscc) for a in items})


@bp.route("/authorities/new", methods=["GET", "POST"], defaults={"authority_id": None})
@bp.route("/authorities/<int:authority_id>", methods=["GET", "POST"])
@area_required("admin")
def authority_edit(authority_id):
    """Create or edit an issuing authority."""
    authority = db.get_or_404(Authority, authority_id) if authority_id else None
    form = AuthorityForm(obj=authority if request.method == "GET" else None)
    if request.method == "GET" and authority:
        form.jurisdiction.data = " ".join(sorted(authority.jurisdiction))
    if form.validate_on_submit():
        try:
            saved = save_authority(current_user, authority, form.name.data, form.uscc.data,
                                   form.division_code.data, form.jurisdiction.data)
        except FieldError as exc:
            show_field_error(form, exc)
        else:
            flash(f"已保存发证机关 {saved.name}", "success")
            return redirect(url_for("admin.authorities"), 303)
    return render_template("admin/authority_form.html", form=form, authority=authority)


@bp.route("/audit")
@area_required("admin")
def audit_log():
    """Audit log, newest first, filterable by action and user."""
    query = db.select(AuditEntry).order_by(AuditEntry.id.desc())
    action = request.args.get("action", "").strip()
    actor = request.args.get("actor", "").strip()
    if action:  # a code of the table; «login» also finds its login.* steps
        query = query.where(sa.or_(AuditEntry.action == action, AuditEntry.action.startswith(action + ".")))
    if actor:
        query = query.where(AuditEntry.actor_name == actor.lower())
    page = paginate(query, page_arg(request.args), PAGE_SIZE)
    return render_template("admin/audit.html", page=page, action=action, actor=actor,
                           action_names=audit.action_names(), action_name=audit.action_name)


@bp.route("/authorities/<int:authority_id>/key", methods=["POST"])
@area_required("admin")
def authority_key(authority_id):
    """签章密钥: create the authority's key pair and certificate (development PKI) unless it has one."""
    authority = db.get_or_404(Authority, authority_id)
    if EmptyForm().validate_on_submit():
        try:
            backfill = create_signing_key(current_user, authority, replace=request.form.get("replace") == "1")
        except FieldError as exc:
            flash(str(exc), "danger")
        else:
            flash(f"已为 {authority.name} 生成电子签章密钥和证书" +
                  (f"；{backfill} 份证书的 OFD 电子证照正在后台补签" if backfill else ""), "success")
    return redirect(url_for("admin.authorities"), 303)
