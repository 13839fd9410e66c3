"""Binding metadata from app.get_functions(), host.json and the local settings sample."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest

from sds_app.settings import Settings
from tests.app.bindings_table import FUNCTIONS, ITEM, PROFILE_FUNCTIONS, http

REPO = Path(__file__).resolve().parents[2]
SETTINGS_OF_DECISIONS = {
    "AzureWebJobsStorage",
    "SDS_AUTH_MODE",
    "SDS_TENANT_ID",
    "SDS_AUDIENCE",
    "SDS_JWKS_URI",
    "SDS_BLOB_TRIGGER_SOURCE",
    "SDS_MAX_ROWS_PER_FILE",
    "SDS_DETAIL_ROWS_PER_MESSAGE",
    "SDS_INLINE_VERIFY_MAX_BYTES",
    "SDS_UPLOAD_URL_TTL_MINUTES",
    "SDS_SYNC_TARGET",
    "SDS_GRAPH_ENDPOINT",
    "SDS_GRAPH_AUTH",
    "SDS_UPLOAD_HOSTS",
}


@pytest.fixture(scope="module")
def functions() -> dict[str, list[dict[str, Any]]]:
    """name -> bindings; get_functions() may be called only once per app instance."""
    from function_app import app

    return {
        f.get_function_name(): json.loads(f.get_function_json())["bindings"]
        for f in app.get_functions()
    }


def test_every_function_is_indexed_as_the_table_says(
    functions: dict[str, list[dict[str, Any]]],
) -> None:
    assert functions == FUNCTIONS


def test_every_profile_route_is_an_anonymous_http_function(
    functions: dict[str, list[dict[str, Any]]],
) -> None:
    assert {
        name: functions[name] for name in PROFILE_FUNCTIONS if name in functions
    } == PROFILE_FUNCTIONS


def test_every_http_function_is_anonymous_and_under_beta(
    functions: dict[str, list[dict[str, Any]]],
) -> None:
    triggers = [
        b for bindings in functions.values() for b in bindings if b["type"] == "httpTrigger"
    ]
    assert {b["authLevel"] for b in triggers} == {"ANONYMOUS"}
    assert all(
        b["route"].startswith(("beta/education/", "beta/health", "beta/schoolDataSync/check"))
        for b in triggers
    )


def test_connections_name_the_storage_setting(functions: dict[str, list[dict[str, Any]]]) -> None:
    connections = {
        b["connection"] for bindings in functions.values() for b in bindings if "connection" in b
    }
    assert connections <= {"AzureWebJobsStorage"}


def test_host_json_carries_only_what_the_app_uses() -> None:
    host = json.loads((REPO / "host.json").read_text())
    assert host["version"] == "2.0"
    assert host["extensionBundle"] == {
        "id": "Microsoft.Azure.Functions.ExtensionBundle",
        "version": "[4.*, 5.0.0)",
    }
    assert host["extensions"] == {
        "http": {"routePrefix": ""},
        # One sync at a time per instance: a district-sized one holds ~1.3 GiB; more scale out.
        "queues": {
            "messageEncoding": "base64",
            "maxDequeueCount": 5,
            "visibilityTimeout": "00:00:30",
            "batchSize": 1,
            "newBatchThreshold": 0,
        },
        "blobs": {"maxDegreeOfParallelism": 2},
    }


def test_host_json_says_what_azure_would_otherwise_default_silently() -> None:
    """Each value and its reason: docs/operations.md."""
    from sds_app.sync_run import MAX_DEQUEUE_COUNT

    host = json.loads((REPO / "host.json").read_text())
    assert host["functionTimeout"] == "00:30:00"
    assert host["logging"] == {
        "logLevel": {
            "default": "Warning",
            "Host.Results": "Information",
            "Host.Aggregator": "Warning",
            "Function": "Information",
        },
        "applicationInsights": {
            "samplingSettings": {
                "isEnabled": True,
                "maxTelemetryItemsPerSecond": 20,
                "excludedTypes": "Request;Exception",
            }
        },
    }
    # The worker marks a run failed on the delivery the host says is the last one.
    assert host["extensions"]["queues"]["maxDequeueCount"] == MAX_DEQUEUE_COUNT
    operations = (REPO / "docs" / "operations.md").read_text()
    for setting in ("functionTimeout", "logLevel", "samplingSettings", "excludedTypes", "batchSize",
                    "newBatchThreshold", "visibilityTimeout", "maxDequeueCount", "SDS_AZURE_SDK_LOG_LEVEL"):
        assert f"`{setting}`" in operations, setting


def test_the_local_settings_sample_has_every_setting_and_local_auth() -> None:
    sample = json.loads((REPO / "local.settings.sample.json").read_text())
    values = sample["Values"]
    assert SETTINGS_OF_DECISIONS <= set(values)
    assert values["SDS_AUTH_MODE"] == "none"
    assert values["AzureWebJobsStorage"] == "UseDevelopmentStorage=true"
    assert values["SDS_BLOB_TRIGGER_SOURCE"] == "LogsAndContainerScan"


def test_settings_default_to_entra_and_the_documented_values() -> None:
    assert dataclasses.asdict(Settings.from_env({})) == {
        "auth_mode": "entra",
        "tenant_id": "",
        "audience": "",
        "jwks_uri": "",
        "blob_trigger_source": "EventGrid",
        "max_rows_per_file": 0,
        "detail_rows_per_message": 1000,
        "inline_verify_max_bytes": 268_435_456,
        "upload_url_ttl_minutes": 60,
        "sync_targets": frozenset({"directory"}),
        "graph_endpoint": "https://graph.microsoft.com",
        "graph_auth": "default",
        "upload_hosts": (),
    }


def test_function_app_only_assembles_blueprints() -> None:
    source = (REPO / "function_app.py").read_text()
    code = [
        line
        for line in source.splitlines()
        if line.strip() and not line.lstrip().startswith(("#", '"""'))
    ]
    assert all(
        re.match(r"^(from |import |app = func\.FunctionApp\(|app\.register_functions\()", line)
        for line in code
    ), code


def test_importing_the_app_reads_no_settings_and_builds_no_clients(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib
    import sys

    from sds_app.settings import get_settings
    from sds_app.storage.clients import get_account

    for name in [
        m for m in sys.modules if m == "function_app" or m.startswith("sds_app.blueprints")
    ]:
        monkeypatch.delitem(sys.modules, name)
    get_settings.cache_clear()
    get_account.cache_clear()
    monkeypatch.delenv("AzureWebJobsStorage", raising=False)
    importlib.import_module("function_app")
    assert get_settings.cache_info().currsize == 0
    assert get_account.cache_info().currsize == 0


def test_the_blob_trigger_verifies_the_upload_container_only(
    functions: dict[str, list[dict[str, Any]]],
) -> None:
    assert functions["verify_upload"] == [
        {
            "direction": "IN",
            "type": "blobTrigger",
            "name": "upload",
            "path": "sds-uploads/{profileId}/{name}",
            "connection": "AzureWebJobsStorage",
            "source": "EventGrid",
        }
    ]
    assert functions["start_profile"] == http(ITEM + "/start", "POST")
    assert functions["verification_report"] == http(ITEM + "/verificationReport", "GET")


def test_the_blob_trigger_binds_an_sdk_client_never_the_bytes() -> None:
    """The worker asks the host for a deferred (SDK-type) binding only for a real BlobClient annotation."""
    import inspect
    from types import SimpleNamespace

    from azurefunctions.extensions.base import meta
    from azurefunctions.extensions.base.utils import get_raw_bindings

    from sds_app.blueprints.verification import verify_upload

    function = verify_upload._function
    annotation = inspect.signature(function.get_user_function()).parameters["upload"].annotation
    raw, _ = get_raw_bindings(function, {"upload": SimpleNamespace(pytype=annotation)})
    assert meta._ConverterMeta.check_supported_type(annotation)
    assert json.loads(raw[0])["properties"] == {"SupportsDeferredBinding": True}


def test_blueprints_only_bind_no_orchestration_lives_in_them() -> None:
    """Issue 22 item 7: a blueprint binds triggers and routes; the run's orchestration is elsewhere."""
    import ast

    for path in sorted((Path(__file__).resolve().parents[2] / "sds_app/blueprints").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        classes = [node.name for node in tree.body if isinstance(node, ast.ClassDef)]
        assert classes == [], f"{path.name} defines {classes}"
