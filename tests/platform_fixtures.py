"""Pytest fixtures for the national-platform simulator and client.

Load from the root conftest with ``pytest_plugins = ["tests.platform_fixtures"]``.

- ``platform_sim``: a simulator on a random loopback port with a fresh data dir (RunningSimulator:
  ``.url``, ``.set_mode(...)``, ``.set_switches(...)``, ``.reports()``, ``.stats()``,
  ``.add_person(...)``, ``.set_verdict(...)``, ``.revoke_tokens()``, ``.reset()``).
- ``platform_client``: a PlatformClient pointed at it with short timeouts.
- ``platform_config``: the PLATFORM_* settings for a portal app talking to it.
- ``closed_port_url``: a loopback URL where nothing listens (platform down).
- ``demo_persons``: the first seeded 1108 / 1109 / 1113 persons as dicts.
"""
import csv
import socket

import pytest

from platform_sim import serve_in_thread
from platform_sim.store import DEFAULT_REGISTRY_CSV
from portal.platform.client import PlatformClient

SIM_APP_ID = "sx-dev"
SIM_APP_SECRET = "sx-dev-secret"
TEST_TIMEOUT = (0.5, 0.75)
TEST_MAX_RESPONSE_BYTES = 200_000


def seeded_persons():
    with open(DEFAULT_REGISTRY_CSV, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def platform_sim(tmp_path):
    sim = serve_in_thread(tmp_path / "platform_sim")
    try:
        yield sim
    finally:
        sim.shutdown()


@pytest.fixture
def platform_client(platform_sim):
    client = PlatformClient(platform_sim.url, SIM_APP_ID, SIM_APP_SECRET, timeout=TEST_TIMEOUT,
                            max_response_bytes=TEST_MAX_RESPONSE_BYTES)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def platform_config(platform_sim):
    return {
        "PLATFORM_URL": platform_sim.url,
        "PLATFORM_APP_ID": SIM_APP_ID,
        "PLATFORM_APP_SECRET": SIM_APP_SECRET,
        "PLATFORM_CONNECT_TIMEOUT": TEST_TIMEOUT[0],
        "PLATFORM_TIMEOUT": TEST_TIMEOUT[1],
        "PLATFORM_MAX_RESPONSE_BYTES": TEST_MAX_RESPONSE_BYTES,
    }


@pytest.fixture
def closed_port_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def demo_persons():
    """{'1108': row, '1109': row, '1113': row}: the first seeded person of each type."""
    first = {}
    for row in seeded_persons():
        first.setdefault(row["type_code"], row)
    return first
