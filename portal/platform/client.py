"""HTTP client of 全国工程质量安全监管信息平台: personnel lookup (R9) and certificate reports.

Plain values in and out, no Flask: the web form, the import job and the reporting outbox all call
it. Any failure to get a trustworthy answer raises ``PlatformUnavailable`` (or
``PlatformAuthError``), so an unreachable platform can never be mistaken for «查无此人». A person's
answer is the standard's ``PersonLookup`` (status + message), the very value rule R9 reads.
"""
import json
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Mapping
from urllib.parse import quote

import requests
import urllib3

from portal.standard.rules import PersonLookup, PersonStatus  # noqa: F401 (callers take PersonStatus from here too)

PLATFORM_NAME = "全国工程质量安全监管信息平台"

MSG_CONNECT = f"{PLATFORM_NAME}无法连接，请稍后重试；如持续出现请联系系统管理员"
MSG_DISCONNECTED = f"{PLATFORM_NAME}无法连接（连接被中断，未收到应答），请稍后重试"
MSG_TIMEOUT = f"{PLATFORM_NAME}响应超时，请稍后重试"
MSG_SERVER = f"{PLATFORM_NAME}暂时无法提供服务（HTTP {{status}}），请稍后重试"
MSG_BAD_RESPONSE = f"{PLATFORM_NAME}返回了无法识别的数据，请稍后重试或联系系统管理员"
MSG_TOO_LARGE = f"{PLATFORM_NAME}返回了无法识别的数据（应答超过 {{limit}} 字节，已拒收），请联系系统管理员"
MSG_AUTH = "平台认证失败，请检查接口账号配置"
MSG_REFUSED = f"{PLATFORM_NAME}拒绝了请求（HTTP {{status}}）：{{detail}}"


class PlatformError(Exception):
    """The platform gave no usable answer. ``message`` is Chinese and fit for the user."""

    kind = "error"

    def __init__(self, message, *, kind=None, status_code=None):
        super().__init__(message)
        self.message = message
        self.kind = kind or self.kind
        self.status_code = status_code


class PlatformUnavailable(PlatformError):
    """Not reachable, too slow, 5xx, or an answer that cannot be trusted (retry later).

    ``kind``: 'connect', 'disconnected', 'timeout', 'server_error', 'bad_response', 'too_large'.
    """

    kind = "unavailable"


class PlatformAuthError(PlatformError):
    """The platform refused our credentials (configuration problem, retrying does not help)."""

    kind = "auth"


class PlatformRequestError(PlatformError):
    """The platform refused the request itself (4xx other than 401): a bug or a data problem."""

    kind = "refused"


# --- normalisation (kept identical to platform_sim.normalize; a test checks both) ----------------

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
_DOTS = str.maketrans({c: "\u00b7" for c in ".\u2022\u30fb\u2027\u2219\u22c5\uff65"})


@lru_cache(maxsize=4096)  # an import compares the same few dozen people thousands of times
def normalise_name(name):
    """NFKC, no whitespace of any width (incl. U+3000), one kind of middle dot (U+00B7)."""
    text = unicodedata.normalize("NFKC", name or "").translate(_INVISIBLE)
    return "".join(text.split()).translate(_DOTS)


@lru_cache(maxsize=4096)
def normalise_code(value):
    """ID and certificate numbers: NFKC (full-width digits), no whitespace, upper case."""
    text = unicodedata.normalize("NFKC", value or "").translate(_INVISIBLE)
    return "".join(text.split()).upper()


# --- results ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReportResult:
    """Answer of ``report_certificate``.

    ``accepted``: eCertIDs the platform took (SuccessData and WarnData); ``warnings``: (eCertID,
    reason) of WarnData; ``errors``: (eCertID, reason) of ErrorData (refused, fix and re-send);
    ``unanswered``: sent eCertIDs the answer does not mention (treat as not delivered, retry);
    ``replayed``: the platform replayed its stored answer for this Idempotency-Key.
    """

    accepted: list
    warnings: list
    errors: list
    unanswered: list = field(default_factory=list)
    replayed: bool = False
    raw: dict = field(default_factory=dict, repr=False)

    def outcome(self, ecert_id):
        """('accepted' | 'error' | 'unanswered', reason) for one eCertID."""
        key = ecert_id.upper()
        for eid, reason in self.errors:
            if eid.upper() == key:
                return "error", reason
        if key in {e.upper() for e in self.accepted}:
            reasons = [r for eid, r in self.warnings if eid.upper() == key]
            return "accepted", "；".join(reasons)
        return "unanswered", ""


VERDICT_STATES = ("accepted", "collected", "rejected")


@dataclass(frozen=True)
class VerdictResult:
    """The ministry's verdict: 'accepted' (pending), 'collected' (归集成功), 'rejected' (校验失败)
    with ``reasons``, or 'unknown' (the platform has no accepted record of this eCertID)."""

    ecert_id: str
    state: str
    reasons: tuple = ()
    raw: dict = field(default_factory=dict, repr=False)

    @property
    def is_final(self):
        return self.state in ("collected", "rejected")


# --- the client ---------------------------------------------------------------------------------

class _PersonStatusAnswers:
    """lookup_status() over the class's own find_person(), for the client and its cached wrapper."""

    def lookup_status(self, name, id_number, certificate_no, type_code) -> PersonLookup:
        """find_person(), with a platform that cannot answer as UNAVAILABLE (its message says why) instead
        of an exception: the answer R9 takes."""
        try:
            return self.find_person(name, id_number, certificate_no, type_code)
        except PlatformError as exc:
            who = _describe(*person_key(name, id_number, "", type_code))
            return PersonLookup(PersonStatus.UNAVAILABLE, f"暂时无法核验 {who}：{exc.message}")


class PlatformClient(_PersonStatusAnswers):
    """Speaks the platform's JSON API over HTTP(S) with a cached bearer token.

    ``timeout`` is requests' (connect, read) pair; the whole body must also arrive within
    connect + 2 × read seconds and stay under ``max_response_bytes``. Thread-safe: one
    ``requests.Session`` per thread, one token shared under a lock.
    """

    TOKEN_PATH = "/api/auth/token"
    QUERY_PATH = "/api/personnel/query"
    ACCEPT_PATH = "/api/cert/accept"
    STATUS_PATH = "/api/cert/status/"

    def __init__(self, base_url, app_id, app_secret, timeout=(3.05, 10), max_response_bytes=1_000_000):
        if not base_url:
            raise ValueError("base_url is required")
        self.base_url = base_url.rstrip("/")
        self.app_id = app_id
        self._app_secret = app_secret
        self.timeout = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        self.max_response_bytes = int(max_response_bytes)
        self._local = threading.local()
        self._token_lock = threading.Lock()
        self._token = None
        self._token_expires = 0.0

    @classmethod
    def from_config(cls, config: Mapping, base_url=None):
        """Build from the PLATFORM_* settings (a dict or Flask's app.config).

        PLATFORM_URL (or PLATFORM_BASE_URL), PLATFORM_APP_ID, PLATFORM_APP_SECRET, PLATFORM_TIMEOUT
        (read, s), PLATFORM_CONNECT_TIMEOUT (s), PLATFORM_MAX_RESPONSE_BYTES; ``base_url`` overrides
        the URL (e.g. the embedded simulator's).
        """
        return cls(
            base_url or config.get("PLATFORM_URL") or config.get("PLATFORM_BASE_URL"),
            config.get("PLATFORM_APP_ID") or "sx-dev",
            config.get("PLATFORM_APP_SECRET") or "sx-dev-secret",
            timeout=(float(config.get("PLATFORM_CONNECT_TIMEOUT") or 3.05),
                     float(config.get("PLATFORM_TIMEOUT") or 10)),
            max_response_bytes=int(config.get("PLATFORM_MAX_RESPONSE_BYTES") or 1_000_000),
        )

    def __repr__(self):
        return f"PlatformClient({self.base_url!r}, app_id={self.app_id!r})"

    # --- public calls

    def find_person(self, name, id_number, certificate_no, type_code) -> PersonLookup:
        """Is this person registered on the platform (FOUND / NOT_FOUND, the message naming them)? Raises
        PlatformError when it cannot tell."""
        key = person_key(name, id_number, certificate_no, type_code)
        n_name, n_id, n_cert, n_type = key
        if not n_name or not n_id:
            return _not_found(key)
        body = self._call("POST", self.QUERY_PATH,
                          {"name": n_name, "idNumber": n_id, "certNum": n_cert, "typeCode": n_type})
        found = body.get("found")
        if found is False:
            return _not_found(key)
        if found is not True or not isinstance(body.get("person"), dict):
            raise _bad_response()
        person = body["person"]
        # A "found" that describes someone else is no answer at all.
        if normalise_name(str(person.get("name", ""))) != n_name:
            raise _bad_response("人员信息与查询条件不一致")
        if n_cert and person.get("certNum") and normalise_code(str(person["certNum"])) != n_cert:
            raise _bad_response("人员信息与查询条件不一致")
        return PersonLookup(PersonStatus.FOUND, f"已在{PLATFORM_NAME}查询到 {_describe(*key)}", person)

    def report_certificate(self, records, idempotency_key) -> ReportResult:
        """POST {"AcceptData": records} once; re-sending with the same key is safe (no duplicate)."""
        if not isinstance(records, list) or not records or not all(isinstance(r, dict) for r in records):
            raise ValueError("records must be a non-empty list of dicts")
        if not isinstance(idempotency_key, str) or not idempotency_key.strip() or len(idempotency_key) > 200:
            raise ValueError("idempotency_key must be a non-empty string of at most 200 characters")
        body, headers = self._call("POST", self.ACCEPT_PATH, {"AcceptData": records},
                                   headers={"Idempotency-Key": idempotency_key}, with_headers=True)
        lists = {}
        for name in ("SuccessData", "WarnData", "ErrorData"):
            items = body.get(name, [])
            if not isinstance(items, list) or not all(
                isinstance(i, dict) and isinstance(i.get("eCertID"), str) for i in items
            ):
                raise _bad_response()
            lists[name] = items
        if not any(name in body for name in lists):
            raise _bad_response()
        accepted = [i["eCertID"] for i in lists["SuccessData"] + lists["WarnData"]]
        warnings = [(i["eCertID"], str(i.get("reason", ""))) for i in lists["WarnData"]]
        errors = [(i["eCertID"], str(i.get("reason", ""))) for i in lists["ErrorData"]]
        answered = {e.upper() for e in accepted} | {e.upper() for e, _ in errors}
        unanswered = [r.get("eCertID") for r in records
                      if isinstance(r.get("eCertID"), str) and r["eCertID"].upper() not in answered]
        return ReportResult(accepted, warnings, errors, unanswered,
                            replayed=headers.get("Idempotent-Replayed", "").lower() == "true", raw=body)

    def certificate_status(self, ecert_id) -> VerdictResult:
        """The ministry's verdict on the latest accepted report of ``ecert_id``."""
        try:
            body = self._call("GET", self.STATUS_PATH + quote(ecert_id, safe=""))
        except PlatformRequestError as exc:
            if exc.status_code == 404:
                return VerdictResult(ecert_id, "unknown")
            raise
        state, reasons = body.get("state"), body.get("reasons", [])
        if state not in VERDICT_STATES or not isinstance(reasons, list):
            raise _bad_response()
        return VerdictResult(ecert_id, state, tuple(str(r) for r in reasons), raw=body)

    def close(self):
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()
            self._local.session = None

    # --- plumbing

    def _session(self):
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.headers.update({"Accept": "application/json", "User-Agent": "crane-certificates-portal"})
        return session

    def _current_token(self, refresh=False):
        with self._token_lock:
            if refresh or self._token is None or time.monotonic() >= self._token_expires:
                status, body, _ = self._send("POST", self.TOKEN_PATH,
                                             {"appId": self.app_id, "appSecret": self._app_secret})
                if status in (400, 401, 403):
                    raise PlatformAuthError(MSG_AUTH, status_code=status)
                _raise_for_status(status, body)
                token, ttl = body.get("access_token"), body.get("expires_in", 0)
                if not isinstance(token, str) or not token or not isinstance(ttl, (int, float)) or ttl <= 0:
                    raise _bad_response()
                self._token = token
                self._token_expires = time.monotonic() + ttl - min(60.0, ttl * 0.1)
            return self._token

    def _call(self, method, path, payload=None, headers=None, with_headers=False):
        for attempt in (1, 2):
            token = self._current_token(refresh=attempt == 2)
            auth = {"Authorization": f"Bearer {token}", **(headers or {})}
            status, body, response_headers = self._send(method, path, payload, auth)
            if status != 401:
                break
            with self._token_lock:
                if self._token == token:
                    self._token = None
        if status == 401:
            raise PlatformAuthError(MSG_AUTH, status_code=401)
        _raise_for_status(status, body)
        return (body, response_headers) if with_headers else body

    def _send(self, method, path, payload=None, headers=None):
        """(status, parsed JSON object, headers); transport problems raise PlatformUnavailable."""
        connect_timeout, read_timeout = self.timeout
        deadline = time.monotonic() + connect_timeout + 2 * read_timeout
        try:
            response = self._session().request(
                method, self.base_url + path, json=payload, headers=headers, timeout=self.timeout,
                stream=True, allow_redirects=False,
            )
        except requests.exceptions.ReadTimeout as exc:
            raise PlatformUnavailable(MSG_TIMEOUT, kind="timeout") from exc
        except requests.exceptions.ConnectionError as exc:
            raise _connection_error(exc) from exc
        except requests.exceptions.RequestException as exc:
            raise PlatformUnavailable(MSG_CONNECT, kind="connect") from exc
        try:
            raw = self._read_capped(response, deadline)
        finally:
            response.close()
        if response.status_code >= 500 or response.status_code in (408, 429):
            raise PlatformUnavailable(MSG_SERVER.format(status=response.status_code),
                                      kind="server_error", status_code=response.status_code)
        if 300 <= response.status_code < 400:
            raise _bad_response(status_code=response.status_code)
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            if response.status_code >= 400:
                body = {}
            else:
                raise _bad_response(status_code=response.status_code) from None
        if not isinstance(body, dict):
            raise _bad_response(status_code=response.status_code)
        return response.status_code, body, response.headers

    def _read_capped(self, response, deadline):
        limit = self.max_response_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise PlatformUnavailable(MSG_TOO_LARGE.format(limit=limit), kind="too_large")
        buffer = bytearray()
        try:
            for chunk in response.iter_content(chunk_size=65536):
                buffer += chunk
                if len(buffer) > limit:
                    raise PlatformUnavailable(MSG_TOO_LARGE.format(limit=limit), kind="too_large")
                if time.monotonic() > deadline:
                    raise PlatformUnavailable(MSG_TIMEOUT, kind="timeout")
        except requests.exceptions.ConnectionError as exc:
            raise _connection_error(exc) from exc
        except requests.exceptions.RequestException as exc:  # ChunkedEncodingError, ContentDecodingError
            raise PlatformUnavailable(MSG_DISCONNECTED, kind="disconnected") from exc
        return bytes(buffer)


def _connection_error(exc):
    """Tell a timeout, a dropped connection and no connection at all apart."""
    reason = exc.args[0] if exc.args else None
    causes = (reason, getattr(reason, "reason", None))
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return PlatformUnavailable(MSG_CONNECT, kind="connect")
    if any(isinstance(c, urllib3.exceptions.ReadTimeoutError) for c in causes):
        return PlatformUnavailable(MSG_TIMEOUT, kind="timeout")
    if any(isinstance(c, urllib3.exceptions.ProtocolError) for c in causes):
        return PlatformUnavailable(MSG_DISCONNECTED, kind="disconnected")
    return PlatformUnavailable(MSG_CONNECT, kind="connect")


def _bad_response(detail="", status_code=None):
    message = MSG_BAD_RESPONSE if not detail else MSG_BAD_RESPONSE.replace("数据，", f"数据（{detail}），")
    return PlatformUnavailable(message, kind="bad_response", status_code=status_code)


def _raise_for_status(status, body):
    if status >= 400:
        detail = body.get("message") or body.get("error") or "未说明原因"
        raise PlatformRequestError(MSG_REFUSED.format(status=status, detail=detail), status_code=status)


# --- person lookups: the key they are cached by, their messages ----------------------------------

def person_key(name, id_number, certificate_no, type_code):
    """The normalised tuple a lookup is identified (and cached) by."""
    return (normalise_name(name), normalise_code(id_number), normalise_code(certificate_no),
            (type_code or "").strip())


def _describe(name, _id_number, certificate_no, type_code):
    """A person of a (normalised) lookup key in words: 张三（人员类型 1108，证书编号 晋A…）."""
    parts = [f"人员类型 {type_code}"] if type_code else []
    if certificate_no:
        parts.append(f"证书编号 {certificate_no}")
    label = name or "（未填姓名）"
    return f"{label}（{'，'.join(parts)}）" if parts else label


def _not_found(key):
    return PersonLookup(PersonStatus.NOT_FOUND, f"未在{PLATFORM_NAME}查询到 {_describe(*key)}，请核对姓名、身份证号码和"
                                                "证书编号，或确认该人员已在平台登记")


MSG_BREAKER = f"{PLATFORM_NAME}连续多次无法连接或响应超时，暂停查询 {{seconds}} 秒后自动恢复：{{reason}}"


class CachedPersonLookup(_PersonStatusAnswers):
    """``find_person`` / ``lookup_status`` with a per-person cache, a negative cache and a circuit breaker.

    One import of 10,000 rows names the same few dozen workers again and again: each distinct
    (name, ID, certificate, type) costs one call per ``ttl_seconds``. Concurrent askers of the
    same person wait for the one call in flight.

    A platform that is slow or down must not cost the timeout on every row: a person whose lookup failed
    (PlatformUnavailable) gets the same failure for ``failure_ttl`` seconds without a call (negative cache),
    and after ``breaker_threshold`` failures in a row the breaker opens: for ``breaker_seconds`` every lookup
    fails at once (R9: 暂时无法核验), then one call is let through to see whether the platform is back.
    """

    def __init__(self, client, ttl_seconds=300, *, clock=time.monotonic, failure_ttl=30, breaker_threshold=3,
                 breaker_seconds=30):
        self.client = client
        self.ttl_seconds = ttl_seconds
        self.failure_ttl = failure_ttl
        self.breaker_threshold = breaker_threshold
        self.breaker_seconds = breaker_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._cache = {}
        self._failures = {}  # key → (until, PlatformUnavailable)
        self._in_flight = {}
        self._failures_in_a_row = 0
        self._open_until = 0.0
        self._last_failure = None
        self.calls = 0
        self.hits = 0

    def _answered(self, key):
        """The cached answer (or raise the cached failure / the open breaker's); None: a call is needed."""
        now = self._clock()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            self.hits += 1
            return cached[1]
        failed = self._failures.get(key)
        if failed is not None and failed[0] > now:
            self.hits += 1
            raise failed[1]
        if self._open_until > now:
            self.hits += 1
            raise PlatformUnavailable(MSG_BREAKER.format(seconds=self.breaker_seconds,
                                                         reason=self._last_failure.message), kind="breaker_open")
        return None

    def find_person(self, name, id_number, certificate_no, type_code) -> PersonLookup:
        key = person_key(name, id_number, certificate_no, type_code)
        while True:
            with self._lock:
                answer = self._answered(key)
                if answer is not None:
                    return answer
                waiter = self._in_flight.get(key)
                if waiter is None:
                    waiter = self._in_flight[key] = threading.Event()
                    self.calls += 1
                    if self._failures_in_a_row >= self.breaker_threshold:  # half open: this call tries
                        self._open_until = self._clock() + self.breaker_seconds
                    break
            waiter.wait()  # the call in flight finished (or failed): look again
        try:
            lookup = self.client.find_person(name, id_number, certificate_no, type_code)
        except PlatformUnavailable as exc:
            with self._lock:
                self._failures[key] = (self._clock() + self.failure_ttl, exc)
                self._failures_in_a_row += 1
                self._last_failure = exc
                if self._failures_in_a_row >= self.breaker_threshold:
                    self._open_until = self._clock() + self.breaker_seconds
            raise
        else:
            with self._lock:
                self._cache[key] = (self._clock() + self.ttl_seconds, lookup)
                self._failures.pop(key, None)
                self._failures_in_a_row, self._open_until = 0, 0.0
            return lookup
        finally:
            with self._lock:
                self._in_flight.pop(key, None)
            waiter.set()

    def clear(self):
        with self._lock:
            self._cache.clear()
            self._failures.clear()
            self._failures_in_a_row, self._open_until = 0, 0.0
