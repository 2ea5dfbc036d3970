"""Serving the simulator on loopback from a daemon thread (tests, the portal's embedded default)."""
import threading
from pathlib import Path

from werkzeug.serving import WSGIRequestHandler, make_server

from platform_sim.app import create_sim_app


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-"):
        pass


class RunningSimulator:
    """A simulator served by a Werkzeug server in a daemon thread.

    ``url`` is its base URL; the helpers drive the admin endpoints through the app's test client
    (same SQLite file, no network), so they work even while the simulator plays dead.
    """

    def __init__(self, app, server, thread, data_dir):
        self.app = app
        self.data_dir = Path(data_dir)
        self._server = server
        self._thread = thread
        host = server.host if ":" not in server.host else f"[{server.host}]"
        self.host, self.port = server.host, server.port
        self.url = f"http://{host}:{server.port}"

    # --- lifecycle
    def shutdown(self):
        """Stop serving and free the port (idempotent)."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.shutdown()

    # --- admin helpers
    def _admin(self, method, path, body=None):
        with self.app.test_client() as client:
            response = client.open(f"/_sim{path}", method=method, json=body)
        if response.status_code >= 400:
            raise RuntimeError(f"simulator {method} {path}: {response.status_code} {response.get_data(True)}")
        return response.get_json()

    def set_mode(self, mode="normal", **switches):
        """Switch a fault mode on, e.g. ``set_mode('slow', delay_seconds=2, endpoints=['query'])``."""
        return self._admin("POST", "/switches", dict(switches, mode=mode))

    def set_switches(self, **switches):
        """Change any switch (verdict_delay, verdict, reject_reasons, token_ttl, ...)."""
        return self._admin("POST", "/switches", switches)

    def switches(self):
        return self._admin("GET", "/switches")

    def reports(self):
        """{'reports': [...], 'counts': {eCertID: n}} as GET /_sim/reports."""
        return self._admin("GET", "/reports")

    def stats(self):
        """API requests received per endpoint: {'token', 'query', 'accept', 'status'}."""
        return self._admin("GET", "/stats")

    def add_person(self, name, id_number, cert_no, type_code, **extra):
        """Register a person; returns the stored row."""
        body = dict(extra, name=name, idNumber=id_number, certNum=cert_no, typeCode=type_code)
        return self._admin("POST", "/persons", body)

    def persons(self):
        return self._admin("GET", "/persons")["persons"]

    def set_verdict(self, ecert_id, state, reasons=None):
        return self._admin("POST", f"/verdicts/{ecert_id}", {"state": state, "reasons": reasons or []})

    def revoke_tokens(self):
        return self._admin("POST", "/tokens/revoke")

    def reset(self):
        return self._admin("POST", "/reset")


def serve_in_thread(data_dir, host="127.0.0.1", port=0, *, registry_csv=None, quiet=True, **app_options):
    """Start the simulator on ``host:port`` (0 = a free port) in a daemon thread."""
    app = create_sim_app(data_dir, registry_csv, **app_options)
    server = make_server(host, port, app, threaded=True,
                         request_handler=_QuietHandler if quiet else None)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name=f"platform-sim:{server.port}", daemon=True)
    thread.start()
    return RunningSimulator(app, server, thread, data_dir)


_embedded = {}
_embedded_lock = threading.Lock()


def embedded(data_dir, host="127.0.0.1", port=0, **app_options):
    """One simulator per process and data dir, started on first use (the portal's embedded default)."""
    key = str(Path(data_dir).resolve())
    with _embedded_lock:
        running = _embedded.get(key)
        if running is None or not running._thread.is_alive():
            running = _embedded[key] = serve_in_thread(data_dir, host, port, **app_options)
        return running


def shutdown_embedded():
    """Stop every simulator ``embedded`` started in this process (tests, interpreter exit)."""
    with _embedded_lock:
        running = list(_embedded.values())
        _embedded.clear()
    for sim in running:
        sim.shutdown()
