"""SMS delivery behind one interface: an HTTP gateway in production, a file outbox in development."""
import json
import logging
from datetime import timezone
from pathlib import Path
from threading import Lock

import requests

from portal.clock import utcnow

log = logging.getLogger(__name__)


class SmsError(Exception):
    """The message could not be handed to the SMS service."""


class OutboxSender:
    """Appends each message as one JSON line so a tester can read the code."""

    _lock = Lock()

    def __init__(self, path):
        self.path = Path(path)

    def send(self, phone, text):
        line = json.dumps({"phone": phone, "text": text,
                           "sent_at": utcnow().replace(tzinfo=timezone.utc).isoformat(timespec="seconds")},
                          ensure_ascii=False)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self.path.open("a", encoding="utf-8") as outbox:
            outbox.write(line + "\n")
        log.info("SMS to %s: %s", phone, text)


class HttpGatewaySender:
    """Posts {phone, text} as JSON to the configured gateway with a bearer token."""

    def __init__(self, url, token, timeout=5):
        self.url, self.token, self.timeout = url, token, timeout

    def send(self, phone, text):
        try:
            response = requests.post(self.url, json={"phone": phone, "text": text}, timeout=self.timeout,
                                     headers={"Authorization": f"Bearer {self.token}"} if self.token else {})
            response.raise_for_status()
        except requests.RequestException as exc:
            raise SmsError("短信网关暂时无法发送，请稍后重试") from exc


def sender_from_config(config):
    """The sender the configuration names (SMS_BACKEND = outbox | http)."""
    if config["SMS_BACKEND"] == "http":
        if not config.get("SMS_GATEWAY_URL"):
            raise RuntimeError("SMS_BACKEND=http needs SMS_GATEWAY_URL")
        return HttpGatewaySender(config["SMS_GATEWAY_URL"], config.get("SMS_GATEWAY_TOKEN"))
    return OutboxSender(config["SMS_OUTBOX_PATH"])
