"""Requests without a usable client address (gunicorn on a Unix socket sets REMOTE_ADDR to
"") under "ip" limits, with Flask's test client. Regression for issue 12 item 3: such requests
were never counted (a fail-closed 3/hour login limit allowed 10 of 10, logging nothing), and
a Unix-socket proxy could not be trusted to read X-Forwarded-For."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cache_bridge import ConfigurationError
from flask_cache_bridge import CacheBridge

START = 1_700_006_400.0 + 1800  # mid-hour


def _client(**ratelimit: Any) -> FlaskClient:
    app = Flask(f"no_address_{uuid.uuid4().hex}")
    app.config["TESTING"] = True
    app.config["CACHE_BRIDGE_URL"] = f"memory://no-address-{uuid.uuid4().hex}"
    app.config["CACHE_BRIDGE_OPTIONS"] = {"clock": lambda: START}
    app.config["CACHE_BRIDGE_RATELIMIT"] = ratelimit
    bridge = CacheBridge(app)

    @app.route("/login", methods=["POST"])
    @bridge.limit("3/hour", key="ip", fail_open=False)
    def login() -> str:
        return "ok"

    return app.test_client()


def _post(client: FlaskClient, n: int, remote: str = "", forwarded: str | None = None) -> list[int]:
    headers = {} if forwarded is None else {"X-Forwarded-For": forwarded}
    return [
        client.post("/login", environ_base={"REMOTE_ADDR": remote}, headers=headers).status_code
        for _ in range(n)
    ]


def _no_address_lines(caplog: pytest.LogCaptureFixture) -> int:
    return sum("no usable client address" in r.getMessage() for r in caplog.records)


def test_requests_without_an_address_share_one_bucket_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="cache_bridge.ratelimit")
    client = _client()
    assert _post(client, 10) == [200] * 3 + [429] * 7
    assert _post(client, 1, remote="unix:/run/app.sock") == [429]  # the same shared bucket
    assert _post(client, 1, remote="198.51.100.7") == [200]  # an address: its own bucket
    assert _no_address_lines(caplog) == 1


def test_a_unix_socket_proxy_can_be_trusted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="cache_bridge.ratelimit")
    client = _client(TRUSTED_PROXIES=["unix"])
    assert _post(client, 4, forwarded="198.51.100.1") == [200, 200, 200, 429]
    assert _post(client, 1, forwarded="6.6.6.6, 198.51.100.2") == [200]  # another client
    assert _post(client, 1, remote="198.51.100.9", forwarded="198.51.100.2") == [200]
    assert _no_address_lines(caplog) == 0
    # Without the header there is still no address: the shared bucket.
    assert _post(client, 4) == [200, 200, 200, 429]
    assert _no_address_lines(caplog) == 1


def test_the_deny_policy_refuses_requests_without_an_address() -> None:
    client = _client(UNKNOWN_CLIENT="deny")
    refused = client.post("/login", environ_base={"REMOTE_ADDR": ""})
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert _post(client, 1, remote="198.51.100.7") == [200]


def test_a_policy_that_is_neither_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match=r"UNKNOWN_CLIENT.*shared.*deny"):
        _client(UNKNOWN_CLIENT="allow")
