"""Configuration read from the environment, with safe development defaults.

The embedded default (no environment set) is SQLite under instance/, an in-process RQ worker
over fakeredis, the SMS development outbox and the national-platform simulator on loopback.
Production sets DATABASE_URL, REDIS_URL, SECRET_KEY and the SMS / platform settings.
"""
import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("PORTAL_INSTANCE_PATH", BASE_DIR / "instance"))


def _bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _dev_secret_key():
    """A random key kept in instance/ so development sessions survive restarts.

    Production must set SECRET_KEY; a key in the repository would let anyone forge sessions.
    """
    path = INSTANCE_DIR / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        key = os.urandom(32).hex()
        path.write_text(key)
        path.chmod(0o600)
        return key


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY") or None  # filled lazily by create_app
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'portal.sqlite3'}"
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    REDIS_URL = os.environ.get("REDIS_URL") or None  # None → in-process worker over fakeredis
    RQ_QUEUES = ("default", "pdf", "reports")
    RUN_EMBEDDED_WORKER = _bool("RUN_EMBEDDED_WORKER", True)

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = timedelta(hours=8)
    PREFERRED_URL_SCHEME = os.environ.get("PREFERRED_URL_SCHEME", "http")
    # Reverse proxies in front of the app whose X-Forwarded-For is trusted (0: use the peer address)
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_UPLOAD_MB", "200")) * 1024 * 1024
    # 上传核验 (public): the largest certificate file checked, and checks per PUBLIC_LOOKUP_WINDOW per client IP.
    # A certificate PDF or OFD of this system is well under 1 MB; the bound keeps strangers' uploads cheap.
    PUBLIC_VERIFY_MAX_MB = int(os.environ.get("PUBLIC_VERIFY_MAX_MB", "5"))
    PUBLIC_VERIFY_LIMIT = int(os.environ.get("PUBLIC_VERIFY_LIMIT", "10"))
    WTF_CSRF_TIME_LIMIT = None  # tied to the session instead; a clerk may keep a form open all morning

    # The business clock (portal.clock): every «today», number year and time shown. Stored times are UTC.
    BUSINESS_TIMEZONE = os.environ.get("BUSINESS_TIMEZONE") or "Asia/Shanghai"

    # Login (manual §一): password → SMS code
    SMS_BACKEND = os.environ.get("SMS_BACKEND", "outbox")  # outbox | http
    SMS_OUTBOX_PATH = os.environ.get("SMS_OUTBOX_PATH") or str(INSTANCE_DIR / "sms_outbox.jsonl")
    SMS_GATEWAY_URL = os.environ.get("SMS_GATEWAY_URL")
    SMS_GATEWAY_TOKEN = os.environ.get("SMS_GATEWAY_TOKEN")
    SMS_CODE_TTL_SECONDS = 300
    SMS_RESEND_SECONDS = 60
    SMS_MAX_ATTEMPTS = 5
    LOGIN_MAX_FAILURES = int(os.environ.get("LOGIN_MAX_FAILURES", "5"))
    LOGIN_LOCK_MINUTES = int(os.environ.get("LOGIN_LOCK_MINUTES", "15"))

    # National platform (全国工程质量安全监管信息平台)
    PLATFORM_URL = os.environ.get("PLATFORM_URL")  # None → embedded simulator on loopback
    PLATFORM_APP_ID = os.environ.get("PLATFORM_APP_ID", "sx-dev")
    PLATFORM_APP_SECRET = os.environ.get("PLATFORM_APP_SECRET", "sx-dev-secret")
    PLATFORM_TIMEOUT = float(os.environ.get("PLATFORM_TIMEOUT", "10"))
    PLATFORM_SIM_DATA_DIR = os.environ.get("PLATFORM_SIM_DATA_DIR") or str(INSTANCE_DIR / "platform_sim")
    PLATFORM_SIM_PORT = int(os.environ.get("PLATFORM_SIM_PORT", "5100"))

    # Signing keys: development PKI under instance/pki, encrypted with this passphrase
    PKI_DIR = os.environ.get("PKI_DIR") or str(INSTANCE_DIR / "pki")
    PKI_PASSPHRASE = os.environ.get("PKI_PASSPHRASE")  # defaults to a key derived from SECRET_KEY
    STORAGE_DIR = os.environ.get("STORAGE_DIR") or str(INSTANCE_DIR / "storage")
    ATTACHMENT_MAX_MB = int(os.environ.get("ATTACHMENT_MAX_MB", "10"))
    # Attachments of a certificate still being entered (单个录入): per-user quota, deleted after a day
    DRAFT_QUOTA_MB = int(os.environ.get("DRAFT_QUOTA_MB", "50"))
    DRAFT_MAX_AGE_HOURS = int(os.environ.get("DRAFT_MAX_AGE_HOURS", "24"))

    # 电子证照标识 (GB/T 36904): 1.2.156.3005.2.<证照类型代码>.… PROVISIONAL default: no official 证照类型代码
    # for the 建筑起重机械使用登记证书 has been published (the initials of 建筑起重机械使用登记证); set the
    # official code here once the ministry assigns one — identifiers already issued keep their old code.
    LICENSE_TYPE_CODE = os.environ.get("LICENSE_TYPE_CODE", "JZQZJXSYDJZ")
    # Who applies the SM2 electronic seal (GB/T 38540) to the OFD copy: "local" = the authority's SM2 key in
    # the development PKI (PKI_DIR/sm2). A province's external 签章服务 plugs in here as another value.
    SEAL_SIGNER = os.environ.get("SEAL_SIGNER", "local")

    # 批量导入: what one uploaded zip may hold (portal.standard.workbook.ImportLimits)
    # Background upkeep (portal/background): a running task beats every TASK_HEARTBEAT_SECONDS and is judged
    # dead after TASK_STALE_SECONDS without; a PDF pending PDF_PENDING_SECONDS in no task was lost; a PDF whose
    # sealing failed for a transient cause is retried after SEAL_RETRY_SECONDS × 2^(attempt−1); a task whose
    # run the database, Redis or storage cut short runs again after TASK_RETRY_SECONDS × 2^(attempt−1).
    TASK_HEARTBEAT_SECONDS = float(os.environ.get("TASK_HEARTBEAT_SECONDS", "10"))
    TASK_STALE_SECONDS = float(os.environ.get("TASK_STALE_SECONDS", "45"))
    PDF_PENDING_SECONDS = float(os.environ.get("PDF_PENDING_SECONDS", "120"))
    SEAL_RETRY_SECONDS = float(os.environ.get("SEAL_RETRY_SECONDS", "60"))
    TASK_RETRY_SECONDS = float(os.environ.get("TASK_RETRY_SECONDS", "30"))
    REPORT_CLAIM_SECONDS = float(os.environ.get("REPORT_CLAIM_SECONDS", "120"))  # a dead sweep's rows are due again

    IMPORT_MAX_ZIP_BYTES = int(os.environ.get("IMPORT_MAX_ZIP_MB", "50")) * 1024 * 1024
    IMPORT_MAX_UNPACKED_BYTES = int(os.environ.get("IMPORT_MAX_UNPACKED_MB", "200")) * 1024 * 1024
    IMPORT_MAX_ROWS = int(os.environ.get("IMPORT_MAX_ROWS", "10000"))  # certificates a file
    IMPORT_MAX_PERSON_ROWS = int(os.environ.get("IMPORT_MAX_PERSON_ROWS", "0"))  # 0: in proportion to rows
    # the workbook is read in a child process limited to this much memory and time (a file beyond dies there)
    IMPORT_READER_MEMORY_MB = int(os.environ.get("IMPORT_READER_MEMORY_MB", "900"))
    IMPORT_READER_TIMEOUT = float(os.environ.get("IMPORT_READER_TIMEOUT", "120"))
    # rows an import issues a transaction (0: 250); on PostgreSQL each batch is written on a thread of its own
    # while the next ones are checked (IMPORT_OVERLAP_WRITES=0: in turn)
    IMPORT_BATCH_ROWS = int(os.environ.get("IMPORT_BATCH_ROWS", "0"))
    IMPORT_OVERLAP_WRITES = os.environ.get("IMPORT_OVERLAP_WRITES", "1") != "0"


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret-key"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL") or "sqlite://"
    SQLALCHEMY_ENGINE_OPTIONS = {}
    WTF_CSRF_ENABLED = False
    RUN_EMBEDDED_WORKER = False
    REDIS_URL = None
    PLATFORM_URL = None
    LOGIN_LOCK_MINUTES = 15
    PKI_KDF_ITERATIONS = 1_000  # the SM2 dev PKI's key encryption: every test makes a PKI of its own
