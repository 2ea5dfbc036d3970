"""The production SMS path: codes are POSTed to the configured HTTP gateway (a stand-in on loopback)."""
import json
import re
import threading

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from portal.auth.models import SmsCode
from portal.cli import demo_password
from portal.extensions import db


class Gateway:
    """Records each POST; answers with `status`."""

    def __init__(self):
        self.received, self.status = [], 200
        self.server = make_server("127.0.0.1", 0, self.app)
        self.url = f"http://127.0.0.1:{self.server.server_port}/send"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @Request.application
    def app(self, request):
        self.received.append({"json": json.loads(request.get_data()), "auth": request.headers.get("Authorization")})
        return Response("{}", status=self.status, mimetype="application/json")


@pytest.fixture
def gateway():
    running = Gateway()
    yield running
    running.server.shutdown()


@pytest.fixture
def app_config(gateway):
    return {"SMS_BACKEND": "http", "SMS_GATEWAY_URL": gateway.url, "SMS_GATEWAY_TOKEN": "gw-token"}


def _password_step(client):
    return client.post("/auth/login", data={"username": "clerk", "password": demo_password("clerk")})


def test_code_is_posted_to_the_gateway_with_its_token(demo, client, gateway):
    _password_step(client)
    assert client.post("/auth/send-code").status_code == 200
    [message] = gateway.received
    assert message["auth"] == "Bearer gw-token" and message["json"]["phone"] == "13800000002"
    code = re.search(r"\b(\d{6})\b", message["json"]["text"]).group(1)
    assert client.post("/auth/verify", data={"code": code}).status_code == 303


def test_a_failing_gateway_gives_a_clear_message_and_leaves_no_code(demo, client, gateway):
    gateway.status = 500
    _password_step(client)
    response = client.post("/auth/send-code")
    assert response.status_code == 429 and "短信网关暂时无法发送" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(SmsCode.id))) == 0
