"""证照管理系统 — 建筑起重机械使用登记证书: the Flask application factory."""
import hashlib
import logging

from flask import Flask
from flask_login import current_user

from portal import clock
from portal.config import BASE_DIR, INSTANCE_DIR, Config, _dev_secret_key
from portal.extensions import csrf, db, htmx_ext, login_manager, migrate


def create_app(config_class=Config, **overrides):
    """Build the app: configuration, extensions, blueprints, CLI."""
    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    app.config.from_object(config_class)
    app.config.update(overrides)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _dev_secret_key()
    if not app.config.get("PKI_PASSPHRASE"):
        # Derived, not stored: the encrypted keys on disk are useless without the app's secret.
        app.config["PKI_PASSPHRASE"] = hashlib.sha256(b"pki:" + app.config["SECRET_KEY"].encode()).hexdigest()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"))
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录"
    login_manager.login_message_category = "warning"
    login_manager.session_protection = "strong"
    csrf.init_app(app)
    htmx_ext.init_app(app)
    clock.set_timezone(app.config["BUSINESS_TIMEZONE"])
    app.add_template_filter(clock.format_time, "local_time")  # every stored time on a page: business time

    # The factory imports the floors above the ground here, not at the top: this package's __init__ runs at
    # every import of portal.*, and the pure standard and the core must not load (or cycle through) the areas.
    from portal import security
    from portal.background import queues
    queues.init_app(app)
    security.init_app(app)  # before the blueprints: their <int:…> routes use its bounded converter

    from portal import admin, auth, delegation, entry, imports, main, maintenance, public, statistics, tasks
    for area in (main, auth, admin, entry, imports, maintenance, tasks, statistics, delegation, public):
        app.register_blueprint(area.bp)

    from portal import cli
    cli.init_app(app)

    from portal.access import menu_for

    @app.context_processor
    def shell_context():
        return {"menu": menu_for(current_user)}

    from portal import models  # noqa: F401  (every table registered on the metadata)
    return app


@login_manager.user_loader
def load_user(user_id):
    """Sessions hold "id:session_version"; a bumped version (logout, new login, disable, reset) ends them."""
    from portal.auth.models import User  # at call time: see create_app
    try:
        raw_id, version = user_id.split(":")
        user = db.session.get(User, int(raw_id))
    except (ValueError, AttributeError):
        return None
    if user is None or str(user.session_version) != version or not user.is_enabled:
        return None
    return user
