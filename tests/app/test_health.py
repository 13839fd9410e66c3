"""GET /beta/health against Azurite: healthy, and each way storage can fail."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator

import azure.functions as func
import pytest

from sds_app.blueprints import health
from tests.app.fixtures import AppEnv, reset_caches
from tests.app.helpers import BASE, Answer, call, request
from tests.azurite import ACCOUNT, Azurite

HEALTHY = {"status": "healthy", "checks": {"blob": "ok", "queue": "ok", "table": "ok"}}


def probe() -> Answer:
    """GET /beta/health without a token."""
    return call(health.get_health, request("GET", f"{BASE}/health"))


def use_storage(monkeypatch: pytest.MonkeyPatch, connection_string: str) -> None:
    """Point the app at other storage."""
    monkeypatch.setenv("AzureWebJobsStorage", connection_string)
    reset_caches()


def endpoints(port: int, key: str = "a2V5") -> str:
    """A connection string whose three services are on one local port."""
    host = f"http://127.0.0.1:{port}/{ACCOUNT}"
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={key};"
        f"BlobEndpoint={host};QueueEndpoint={host};TableEndpoint={host};"
    )


@pytest.fixture
def silent_port() -> Iterator[tuple[int, list[socket.socket]]]:
    """A port that accepts connections and never answers, and the connections it accepted."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1], accepted
    server.close()
    for conn in accepted:
        conn.close()


def closed_port() -> int:
    """A port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_storage_answering_is_healthy_without_a_token(app_env: AppEnv) -> None:
    answer = probe()
    assert (answer.status, answer.json) == (200, HEALTHY)
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["request-id"]


def test_storage_not_answering_is_unhealthy_after_one_try_per_service(
    app_env: AppEnv, monkeypatch: pytest.MonkeyPatch, silent_port: tuple[int, list[socket.socket]]
) -> None:
    port, accepted = silent_port
    monkeypatch.setitem(health._CALL, "connection_timeout", 0.5)
    monkeypatch.setitem(health._CALL, "read_timeout", 0.5)
    use_storage(monkeypatch, endpoints(port))
    answer = probe()
    assert len(accepted) == 3  # one connection per service: no retries
    assert (answer.status, answer.json) == (
        503,
        {
            "status": "unhealthy",
            "checks": {"blob": "timeout", "queue": "timeout", "table": "timeout"},
        },
    )
    assert answer.headers["Retry-After"] == str(health.RETRY_AFTER_SECONDS)


def test_storage_refusing_connections_is_unreachable(
    app_env: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_storage(monkeypatch, endpoints(closed_port()))
    answer = probe()
    assert (answer.status, answer.json["checks"]) == (
        503,
        {"blob": "unreachable", "queue": "unreachable", "table": "unreachable"},
    )


def test_a_wrong_credential_is_access_denied(
    app_env: AppEnv, azurite: Azurite, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong_key = azurite.connection_string.replace("AccountKey=", "AccountKey=AAAA")
    use_storage(monkeypatch, wrong_key)
    answer = probe()
    assert (answer.status, answer.json["checks"]) == (
        503,
        {"blob": "accessDenied", "queue": "accessDenied", "table": "accessDenied"},
    )


def test_storage_not_configured_is_unhealthy(
    app_env: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AzureWebJobsStorage")
    reset_caches()
    answer = probe()
    assert (answer.status, answer.json) == (
        503,
        {"status": "unhealthy", "checks": {"storage": "notConfigured"}},
    )


def test_failed_checks_are_logged_with_the_request_id(
    app_env: AppEnv, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="sds_app")
    use_storage(monkeypatch, endpoints(closed_port()))
    answer = probe()
    logged = sorted(r.getMessage() for r in caplog.records if r.name == "sds_app.health")
    assert [line.split(":")[0] for line in logged] == [
        f"[request-id {answer.headers['request-id']}] Health check {name} failed"
        for name in ("blob", "queue", "table")
    ]


def test_the_probe_is_an_anonymous_get_on_beta_health() -> None:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    app.register_functions(health.health_routes)
    (function,) = app.get_functions()
    assert json.loads(function.get_function_json())["bindings"] == [
        {
            "direction": "IN",
            "type": "httpTrigger",
            "name": "req",
            "methods": ["GET"],
            "authLevel": "ANONYMOUS",
            "route": "beta/health",
        },
        {"direction": "OUT", "type": "http", "name": "$return"},
    ]
