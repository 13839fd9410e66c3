"""Log records per operation, as the host receives them from the worker (each one an Application
Insights record once deployed), counted and bounded; and outside text cannot forge a line.

The worker forwards every record that reaches the root logger at INFO (host.py); the counts are
the records sent while one invocation ran. docs/operations.md gives the figures and their cost.
"""

from __future__ import annotations

import base64
import json
import logging

import pytest
from azure.storage.blob import ContainerClient

from sds_app.settings import SYNC_QUEUE
from tests.app.fixtures import AppEnv
from tests.app.flow import CSV_PROFILE
from tests.core.builders import sample_files
from tests.paths import SAMPLES
from tests.runtime.host import FunctionsHost, HostLog, Invocation

ORIGIN = "http://localhost:7071"
ROOT = "/beta/education/synchronizationProfiles"
FILES = sample_files(SAMPLES / "sds-v1_25-users")
# The most records one invocation may send (measured: docs/operations.md).
BOUNDS = {"verify_upload": 3, "start": 4, "sync": 4, "purge": 3}


def _headers(env: AppEnv) -> dict[str, str]:
    return {"Authorization": f"Bearer {env.token()}", "Content-Type": "application/json"}


def _deliver(host: FunctionsHost, env: AppEnv) -> Invocation:
    queue = env.account.queues.get_queue_client(SYNC_QUEUE)
    (message,) = queue.receive_messages(max_messages=1, visibility_timeout=5)
    queue.delete_message(message)
    return host.queue("run_sync", base64.b64decode(message.content).decode(), message_id=message.id)


def operations(host: FunctionsHost, env: AppEnv) -> dict[str, Invocation]:
    """One profile's verify_upload (the last file), start, sync and purge, each one invocation."""
    answer, _ = host.http_invocation("POST", ORIGIN + ROOT, headers=_headers(env), body=json.dumps(CSV_PROFILE).encode())
    profile_id = answer.json["id"]
    url = host.http("GET", f"{ORIGIN}{ROOT}/{profile_id}/uploadUrl", headers=_headers(env)).json["value"]
    container = ContainerClient.from_container_url(url)
    for name, data in FILES.items():
        container.upload_blob(name, data, overwrite=True)
    verified = [
        host.blob("verify_upload", "sds-uploads", f"{profile_id}/{name}", {"profileId": profile_id, "name": name})
        for name in FILES
    ]
    _, started = host.http_invocation("POST", f"{ORIGIN}{ROOT}/{profile_id}/start", headers=_headers(env))
    synced = _deliver(host, env)
    host.http("DELETE", f"{ORIGIN}{ROOT}/{profile_id}", headers=_headers(env))
    purged = _deliver(host, env)
    ran = {"verify_upload": verified[-1], "start": started, "sync": synced, "purge": purged}
    assert all(i is not None and i.succeeded for i in ran.values()), ran
    return ran  # type: ignore[return-value]


def test_each_operation_sends_a_bounded_number_of_records(host: FunctionsHost, runtime_env: AppEnv) -> None:
    counts = {name: len(invocation.logs) for name, invocation in operations(host, runtime_env).items()}
    assert {name: counts[name] <= bound for name, bound in BOUNDS.items()} == dict.fromkeys(BOUNDS, True), counts


def test_the_azure_sdks_speak_only_from_warning_on(host: FunctionsHost, runtime_env: AppEnv) -> None:
    logs = [log for invocation in operations(host, runtime_env).values() for log in invocation.logs]
    assert [log for log in logs if log.category.startswith("azure.core")] == []
    assert {log.category for log in logs if log.category.startswith("azure.")} <= {"azure.functions"}


def test_a_setting_turns_the_sdk_logging_back_on(
    host: FunctionsHost, runtime_env: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sds_app import telemetry

    monkeypatch.setenv("SDS_AZURE_SDK_LOG_LEVEL", "INFO")
    telemetry.quiet_azure_sdks()
    try:
        answer, invocation = host.http_invocation("GET", ORIGIN + ROOT, headers=_headers(runtime_env))
        assert answer.status == 200
        assert any(log.category.startswith("azure.core.pipeline") for log in invocation.logs)
    finally:
        monkeypatch.delenv("SDS_AZURE_SDK_LOG_LEVEL")
        telemetry.quiet_azure_sdks()
    assert logging.getLogger("azure.core").level == logging.WARNING


def _app_lines(invocation: Invocation) -> list[HostLog]:
    return [log for log in invocation.logs if log.category.startswith("sds_app")]


def test_every_invocation_logs_its_outcome_with_its_ids(host: FunctionsHost, runtime_env: AppEnv) -> None:
    ran = operations(host, runtime_env)
    for name, invocation in ran.items():
        lines = _app_lines(invocation)
        assert lines, name
        assert all("[profile-id " in log.message for log in lines), (name, lines)
    start_lines = [log.message for log in _app_lines(ran["start"])]
    assert all(line.startswith("[request-id ") for line in start_lines), start_lines
    assert start_lines[-1].endswith(": 200"), start_lines


@pytest.mark.parametrize(
    "path",
    [
        f"{ROOT}/p-1%0A2026-12-07%20ERROR%20forged/profileStatus",
        f"{ROOT}/p-1/uploads/x%0D%0Aforged.csv",
        f"{ROOT}?$top=1&$bad%0Aoption=1",
    ],
)
def test_a_newline_in_a_url_cannot_forge_a_log_line(
    host: FunctionsHost, runtime_env: AppEnv, path: str
) -> None:
    method = "DELETE" if "/uploads/" in path else "GET"
    answer, invocation = host.http_invocation(method, ORIGIN + path, headers=_headers(runtime_env))
    assert answer.status in (400, 404), answer.body
    messages = [log.message for log in _app_lines(invocation)]
    assert messages and all("\n" not in m and "\r" not in m for m in messages), messages
    assert any("\\n" in m or "\\r" in m or "%0A" in m for m in messages), messages


