"""`flask serve` (what `make run PORT=N` runs): QR codes point at the port served unless PUBLIC_BASE_URL is set."""
import pytest

from portal.cli import served_base_url


def test_the_qr_address_follows_the_port_unless_public_base_url_is_set():
    assert served_base_url("127.0.0.1", 5001, environ={}) == "http://127.0.0.1:5001"
    assert served_base_url("0.0.0.0", 8080, environ={}) == "http://127.0.0.1:8080"
    configured = {"PUBLIC_BASE_URL": "https://zz.example.cn"}
    assert served_base_url("127.0.0.1", 5001, environ=configured) == "https://zz.example.cn"


@pytest.fixture
def app_config():
    return {"REDIS_URL": "redis://unused", "PLATFORM_URL": "http://unused"}  # no embedded services to start


def test_serve_sets_the_address_before_it_serves(app, runner, monkeypatch):
    from portal.certificates.documents import verify_url
    served = {}
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    monkeypatch.setattr("werkzeug.serving.run_simple", lambda host, port, application, **kw: served.update(
        host=host, port=port, base=application.config["PUBLIC_BASE_URL"]))
    result = runner.invoke(args=["serve", "--port", "5001"])
    assert result.exit_code == 0, result.output
    assert served == {"host": "127.0.0.1", "port": 5001, "base": "http://127.0.0.1:5001"}
    assert "http://127.0.0.1:5001" in result.output

    class Cert:
        verify_token = "t" * 24
    assert verify_url(Cert()) == "http://127.0.0.1:5001/public/verify/" + "t" * 24
