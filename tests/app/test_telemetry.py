"""Request and profile ids on log lines; OpenTelemetry only with a connection string."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest

from sds_app import telemetry
from sds_app.blueprints import profiles as api
from sds_app.blueprints import sync_worker, verification
from sds_app.settings import UPLOAD_CONTAINER
from sds_app.storage.provisioning import ensure_storage
from tests.app.fixtures import AppEnv
from tests.app.helpers import ROOT, call, request

REPO = Path(__file__).resolve().parents[2]


def lines(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    """The messages logged under `logger` (and its children), formatted."""
    return [r.getMessage() for r in caplog.records if r.name.startswith(logger)]


def test_every_line_of_a_profile_request_carries_the_request_and_profile_ids(
    app_env: AppEnv, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sds_app")
    req = request("GET", f"{ROOT}/p-42", route={"id": "p-42"}, token=app_env.token())
    answer = call(api.get_profile, req)
    logged = lines(caplog, "sds_app")
    assert answer.status == 404
    assert logged
    expected = f"[request-id {answer.headers['request-id']}] [profile-id p-42] "
    assert all(line.startswith(expected) for line in logged), logged


def test_lines_of_any_logger_inside_an_operation_carry_the_ids(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    # The Azure SDKs log from WARNING on unless SDS_AZURE_SDK_LOG_LEVEL says more (as here).
    caplog.set_level(logging.INFO, logger="azure.core.somewhere")
    with telemetry.operation("GET request", request_id="r-1", profile_id="p-1"):
        logging.getLogger("azure.core.somewhere").info("retrying %s", "once")
    record = next(r for r in caplog.records if r.name == "azure.core.somewhere")
    assert record.getMessage() == "[request-id r-1] [profile-id p-1] retrying once"
    assert (record.sds_request_id, record.sds_profile_id) == ("r-1", "p-1")


def test_ids_are_restored_when_an_operation_ends(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="sds_app")
    log = logging.getLogger("sds_app.test")
    with telemetry.operation("outer", request_id="r-1"):
        with telemetry.operation("inner", profile_id="p-1"):
            log.info("inner")
        log.info("outer")
        with telemetry.operation("bound"):
            telemetry.bind_profile("p-2")
            log.info("bound")
        log.info("after bound")
    log.info("outside")
    assert lines(caplog, "sds_app.test") == [
        "[request-id r-1] [profile-id p-1] inner",
        "[request-id r-1] outer",
        "[request-id r-1] [profile-id p-2] bound",
        "[request-id r-1] after bound",
        "outside",
    ]


def test_a_record_factory_installed_later_does_not_double_the_ids(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO, logger="sds_app")
    telemetry.configure()
    ours = logging.getLogRecordFactory()

    def theirs(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = ours(*args, **kwargs)
        record.theirs = True
        return record

    monkeypatch.setattr(logging, "_logRecordFactory", theirs)
    with telemetry.operation("x", request_id="r-1"):
        logging.getLogger("sds_app.test").info("line")
    assert lines(caplog, "sds_app.test") == ["[request-id r-1] line"]


@pytest.mark.parametrize(
    ("path", "profile_id"),
    [
        ("/beta/education/synchronizationProfiles/p-1", "p-1"),
        ("/beta/education/synchronizationProfiles/p-1/uploads/school.csv", "p-1"),
        ("/beta/education/synchronizationProfiles", None),
        ("/beta/education/schools/s-1", None),
        ("/beta/education/synchronizationProfiles/a%0Ab/start", None),
        ("/beta/education/synchronizationProfiles/..%2Fx", None),
    ],
)
def test_only_a_well_formed_profile_id_of_the_path_is_bound(
    path: str, profile_id: str | None
) -> None:
    assert telemetry.profile_in_path(path) == profile_id


def test_ids_that_could_forge_a_line_are_not_bound(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="sds_app")
    with telemetry.operation("x", request_id="r\nforged", profile_id="p %s"):
        telemetry.bind_profile("p\n2")
        logging.getLogger("sds_app.test").info("line")
    assert lines(caplog, "sds_app.test") == ["line"]


def test_the_blob_trigger_logs_with_the_uploads_profile_id(
    app_env: AppEnv, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sds_app")
    ensure_storage(app_env.account)
    profile_id = f"orphan-{uuid.uuid4().hex[:8]}"
    blob = app_env.account.blobs.get_blob_client(UPLOAD_CONTAINER, f"{profile_id}/school.csv")
    blob.upload_blob(b"SIS ID,Name\n1,A\n")
    verification.verify_upload(blob)
    logged = lines(caplog, "sds_app.verification")
    assert logged == [
        f"[profile-id {profile_id}] Upload {UPLOAD_CONTAINER}/{profile_id}/school.csv "
        "belongs to no profile: removed"
    ]


def test_the_sync_worker_logs_with_the_messages_profile_id(
    app_env: AppEnv, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sds_app")
    ensure_storage(app_env.account)
    body = {"schemaVersion": 1, "profileId": "gone-1", "runId": "run-1", "reason": "start"}
    msg = func.queue.QueueMessage(id="m-1", body=json.dumps(body).encode(), dequeue_count=1)
    sync_worker.run_sync(msg)
    logged = lines(caplog, "sds_app.sync")
    assert logged
    assert all(line.startswith("[profile-id gone-1] ") for line in logged), logged


def run_python(code: str, **env: str) -> Any:
    """Run `code` in a fresh interpreter (OpenTelemetry's providers are set once per process)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("APPLICATIONINSIGHTS_")}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "PYTHONPATH": str(REPO), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_without_a_connection_string_nothing_of_opentelemetry_is_loaded() -> None:
    result = run_python(
        "import json, sys\n"
        "from datetime import datetime\n"
        "from sds_app import telemetry\n"
        "with telemetry.operation('verify_upload', profile_id='p-1'):\n"
        "    telemetry.record_verification(1.0, 10)\n"
        "    telemetry.record_sync_applied(3)\n"
        "    telemetry.record_queue_age(datetime(2020, 1, 1))\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('opentelemetry', 'azure.monitor')))\n"
        "print(json.dumps({'exporting': telemetry.exporting(), 'loaded': loaded}))\n"
    )
    assert result == {"exporting": False, "loaded": []}


def test_with_a_connection_string_spans_and_metrics_are_exported() -> None:
    result = run_python(
        "import json\n"
        "from datetime import UTC, datetime, timedelta\n"
        "from opentelemetry.sdk.metrics.export import InMemoryMetricReader\n"
        "from opentelemetry.sdk.trace.export import SimpleSpanProcessor\n"
        "from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter\n"
        "from sds_app import telemetry\n"
        "reader, spans = InMemoryMetricReader(), InMemorySpanExporter()\n"
        "on = telemetry.configure(metric_readers=[reader],\n"
        "    span_processors=[SimpleSpanProcessor(spans)], disable_offline_storage=True)\n"
        "with telemetry.operation('GET request', request_id='r-1', profile_id='p-1'):\n"
        "    telemetry.record_verification(1.5, 30)\n"
        "    telemetry.record_sync_applied(7)\n"
        "    telemetry.record_queue_age(datetime.now(UTC) - timedelta(seconds=60))\n"
        "points = {m.name: [getattr(p, 'sum', getattr(p, 'value', None)) for p in m.data.data_points]\n"
        "    for rm in reader.get_metrics_data().resource_metrics for sm in rm.scope_metrics\n"
        "    for m in sm.metrics if sm.scope.name == 'sds_app'}\n"
        "finished = [[s.name, s.attributes['sds.request_id'], s.attributes['sds.profile_id']]\n"
        "    for s in spans.get_finished_spans()]\n"
        "print(json.dumps({'exporting': on, 'points': points, 'spans': finished}))\n",
        APPLICATIONINSIGHTS_CONNECTION_STRING=(
            "InstrumentationKey=00000000-0000-0000-0000-000000000000;"
            "IngestionEndpoint=http://127.0.0.1:9/"
        ),
        APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL="true",
        # The distro's default sampler keeps about 5 traces a second, starting low.
        OTEL_TRACES_SAMPLER="always_on",
    )
    queue_age = result["points"].pop("sds.sync.queue_age")
    assert result == {
        "exporting": True,
        "points": {
            "sds.verification.duration": [1.5],
            "sds.verification.rows": [30],
            "sds.sync.records_applied": [7],
        },
        "spans": [["GET request", "r-1", "p-1"]],
    }
    assert len(queue_age) == 1 and 60 <= queue_age[0] < 120


def test_a_bad_connection_string_leaves_the_app_running_without_export() -> None:
    result = run_python(
        "import json\n"
        "from sds_app import telemetry\n"
        "with telemetry.operation('x'):\n"
        "    pass\n"
        "print(json.dumps({'exporting': telemetry.exporting()}))\n",
        APPLICATIONINSIGHTS_CONNECTION_STRING="not a connection string",
    )
    assert result == {"exporting": False}
