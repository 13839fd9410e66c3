"""The app as the worker's library indexes it for the host: the table the binding tests assert."""

from __future__ import annotations

from tests.app.bindings_table import FUNCTIONS, SDK_TYPED
from tests.runtime.host import FunctionsHost


def test_the_worker_indexes_every_function_as_the_table_says(host: FunctionsHost) -> None:
    indexed = {}
    for name in host.functions:
        bindings = host.bindings(name)
        for binding in bindings:
            deferred = binding.pop("properties", {}).get("SupportsDeferredBinding", False)
            assert deferred == ((name, binding["name"]) in SDK_TYPED), (name, binding)
        indexed[name] = bindings
    assert indexed == FUNCTIONS


def test_each_function_is_worker_indexed_from_function_app_py(host: FunctionsHost) -> None:
    assert len(host.functions) == len(FUNCTIONS) == 31
    for name, metadata in host.functions.items():
        assert (metadata.name, metadata.entry_point, metadata.script_file) == (name, name, "function_app.py")
        assert metadata.language == "python"
        assert dict(metadata.properties) == {"worker_indexed": "True"}
        assert not metadata.HasField("retry_options")  # blob and queue retries are the extensions'
    assert len({m.function_id for m in host.functions.values()}) == 31


def test_the_worker_declares_what_the_host_builds_requests_from(host: FunctionsHost) -> None:
    capabilities = dict(host.init_response.capabilities)
    # The host sends bodies as raw bytes and no HTTP trigger metadata (host.py relies on both).
    assert capabilities["RawHttpBodyBytes"] == "true"
    assert capabilities["RpcHttpBodyOnly"] == "true"
    assert capabilities["RpcHttpTriggerMetadataRemoved"] == "true"
    assert "UseNullableValueDictionaryForHttp" not in capabilities
    assert "HttpUri" not in capabilities  # no HTTP streaming: requests come as RpcHttp
    assert host.init_response.worker_metadata.runtime_version == "3.13"
