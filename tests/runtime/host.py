"""The host's side of the Functions worker protocol, played in process against azure-functions-runtime.

On Azure the .NET host talks to the Python worker over gRPC; from Python 3.13 the worker is a thin
proxy that hands every request, as the protocol's message, to the library the app pins
(azure-functions-runtime, "runtime versioning"). This stand-in is that proxy plus the host: it
sends the library the same messages, through the same entry points the proxy calls
(`worker_init_request`, `functions_metadata_request`, `function_load_request`,
`invocation_request`, each awaited with a request carrying `.request` and `.properties`), and
turns HTTP requests, blobs and queue messages into invocations as the host does.

Sources, each behaviour below cites its own:
- Messages: FunctionRpc.proto (proto/, Azure/azure-functions-language-worker-protobuf).
- How the proxy calls the library and forwards logs: Azure/azure-functions-python-worker,
  `workers/proxy_worker/dispatcher.py` (WorkerRequest; root logger at INFO, or DEBUG with
  PYTHON_ENABLE_DEBUG_LOGGING, one RpcLog per record, with the invocation id).
- How the host builds RpcHttp: Azure/azure-functions-host,
  `src/WebJobs.Script.Grpc/MessageExtensions/GrpcMessageConversionExtensions.cs` (`ToRpcHttp`):
  query and headers as tests/app/host_query.py says; route values as `params`; the URL with its
  raw query; a body only when Content-Length > 0, as bytes when the worker asks for raw bytes
  (RawHttpBodyBytes, which the library declares).
- Model binding data of SDK-type blob bindings: the Storage extension's ParameterBindingData
  (source AzureStorageBlobs, version 1.0, application/json {"Connection", "ContainerName",
  "BlobName"}), as azurefunctions-extensions-bindings-blob reads it (blobSdkType.py).
- Queue trigger metadata: DequeueCount, Id, InsertionTime, ExpirationTime, NextVisibleTime,
  PopReceipt (azure.functions.queue.QueueMessageInConverter reads these names).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote, urlsplit

from tests.app.host_query import header_map, query_map
from tests.runtime.protocol import protos

HOST_VERSION = "4.1040.100"
# Modules a fresh worker process has not imported yet: the app is indexed as on a cold start.
APP_MODULES = ("function_app", "sds_app.blueprints")


class HostError(AssertionError):
    """The library answered a request with a failure status."""


@dataclass(frozen=True)
class HostLog:
    """One RpcLog as the host receives it: level, category (the logger), message, invocation."""

    level: int
    category: str
    message: str
    invocation_id: str | None


@dataclass(frozen=True)
class HttpAnswer:
    """What the host answers the client: status, headers (names lower-cased), body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


@dataclass
class Invocation:
    """One invocation's answer and the log records the worker sent for it."""

    response: Any
    logs: list[HostLog] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        """Whether the library reported success (a raised exception reports failure)."""
        return self.response.result.status == protos().StatusResult.Success


class _RpcLogHandler(logging.Handler):
    """The proxy worker's AsyncLoggingHandler: every record it sees becomes one RpcLog."""

    def __init__(self, sink: list[HostLog]) -> None:
        super().__init__()
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        from azure_functions_runtime import invocation_id_cv

        self.sink.append(
            HostLog(record.levelno, record.name, self.format(record), invocation_id_cv.get())
        )


@dataclass(frozen=True)
class _Route:
    """One HTTP function's route template, matched as ASP.NET Core routing does."""

    function_id: str
    name: str
    methods: frozenset[str]
    pattern: re.Pattern[str]
    literals: int

    @classmethod
    def of(cls, function_id: str, name: str, trigger: Mapping[str, Any]) -> _Route:
        parts = []
        for segment in trigger["route"].split("/"):
            parts.append(re.sub(
                r"\{(\w+)\}|([^{}]+)",
                lambda m: f"(?P<{m[1]}>[^/]+)" if m[1] else re.escape(m[2]),
                segment,
            ))
        # Literal segments match case-insensitively; a parameter takes one segment.
        pattern = re.compile("(?i:" + "/".join(parts) + ")")
        literals = sum("{" not in s for s in trigger["route"].split("/"))
        return cls(function_id, name, frozenset(m.upper() for m in trigger["methods"]), pattern, literals)


class FunctionsHost:
    """Worker init, indexing and loading once; then HTTP requests, blobs and queue messages."""

    def __init__(self, app_directory: Path) -> None:
        self.app_directory = app_directory
        self.logs: list[HostLog] = []
        self.invoked: Counter[str] = Counter()  # function name -> invocations
        self.functions: dict[str, Any] = {}  # name -> RpcFunctionMetadata
        self.routes: list[_Route] = []
        self.init_response: Any = None
        self._loop = asyncio.new_event_loop()
        self._handler = _RpcLogHandler(self.logs)
        self._saved_modules: dict[str, Any] = {}
        self._root_level = logging.NOTSET

    # --- the protocol ----------------------------------------------------------------------

    def _request(self, name: str, **content: Any) -> SimpleNamespace:
        """The proxy's WorkerRequest: the StreamingMessage and the properties it hands over."""
        message = protos().StreamingMessage(request_id=str(uuid.uuid4()), **content)
        return SimpleNamespace(name=name, request=message, properties={"protos": protos(), "host": "127.0.0.1"})

    def _run(self, coroutine: Any) -> Any:
        return self._loop.run_until_complete(coroutine)

    def start(self) -> None:
        """WorkerInitRequest (the library indexes the app), FunctionsMetadataRequest, FunctionLoadRequest."""
        import azure_functions_runtime as runtime

        self._fresh_app_modules()
        root = logging.getLogger()
        self._root_level = root.level
        root.setLevel(logging.INFO)  # the proxy's level without PYTHON_ENABLE_DEBUG_LOGGING
        root.addHandler(self._handler)
        runtime.start_threadpool_executor()
        p = protos()
        init = self._run(runtime.worker_init_request(self._request(
            "WorkerInitRequest",
            worker_init_request=p.WorkerInitRequest(
                host_version=HOST_VERSION, function_app_directory=str(self.app_directory)
            ),
        )))
        self._check(init, "WorkerInitRequest")
        self.init_response = init
        metadata = self._run(runtime.functions_metadata_request(self._request(
            "FunctionsMetadataRequest",
            functions_metadata_request=p.FunctionsMetadataRequest(
                function_app_directory=str(self.app_directory)
            ),
        )))
        self._check(metadata, "FunctionsMetadataRequest")
        for function in metadata.function_metadata_results:
            loaded = self._run(runtime.function_load_request(self._request(
                "FunctionLoadRequest",
                function_load_request=p.FunctionLoadRequest(
                    function_id=function.function_id, metadata=function
                ),
            )))
            self._check(loaded, f"FunctionLoadRequest {function.name}")
            self.functions[function.name] = function
            trigger = self.trigger(function.name)
            if trigger["type"] == "httpTrigger":
                self.routes.append(_Route.of(function.function_id, function.name, trigger))

    def stop(self) -> None:
        """Stop the worker's thread pool; give back the logging and the modules the tests had."""
        import azure_functions_runtime as runtime

        runtime.stop_threadpool_executor()
        root = logging.getLogger()
        root.removeHandler(self._handler)
        root.setLevel(self._root_level)
        self._loop.close()
        for name in [m for m in sys.modules if _is_app_module(m)]:
            del sys.modules[name]
        sys.modules.update(self._saved_modules)

    def _fresh_app_modules(self) -> None:
        """The app's modules as a new worker process finds them: not imported yet."""
        for name in [m for m in sys.modules if _is_app_module(m)]:
            self._saved_modules[name] = sys.modules.pop(name)

    @staticmethod
    def _check(response: Any, what: str) -> None:
        if response.result.status != protos().StatusResult.Success:
            raise HostError(f"{what}: {response.result.exception.message}")

    def bindings(self, name: str) -> list[dict[str, Any]]:
        """The raw bindings the worker reported for a function, as the host indexes them."""
        return [json.loads(raw) for raw in self.functions[name].raw_bindings]

    def trigger(self, name: str) -> dict[str, Any]:
        """The function's trigger binding."""
        return next(b for b in self.bindings(name) if b["type"].endswith("Trigger"))

    def invoke(self, name: str, inputs: list[Any], trigger_metadata: Mapping[str, Any]) -> Invocation:
        """One InvocationRequest; the answer and the records logged while it ran."""
        import azure_functions_runtime as runtime

        p = protos()
        invocation_id = str(uuid.uuid4())
        self.invoked[name] += 1
        before = len(self.logs)
        response = self._run(runtime.invocation_request(SimpleNamespace(
            name="FunctionInvocationRequest",
            request=p.StreamingMessage(
                request_id=str(uuid.uuid4()),
                invocation_request=p.InvocationRequest(
                    invocation_id=invocation_id,
                    function_id=self.functions[name].function_id,
                    input_data=inputs,
                    trigger_metadata=dict(trigger_metadata),
                    trace_context=p.RpcTraceContext(trace_parent=f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"),
                ),
            ),
            properties={"threadpool": runtime.get_threadpool_executor()},
        )))
        assert response.invocation_id == invocation_id
        return Invocation(response, self.logs[before:])

    # --- HTTP ------------------------------------------------------------------------------

    def route(self, method: str, path: str) -> tuple[_Route, dict[str, str]] | None:
        """The function whose route and method match, with its route values (decoded, as routing does)."""
        found = []
        for candidate in self.routes:
            match = candidate.pattern.fullmatch(path.strip("/"))
            if match and method.upper() in candidate.methods:
                found.append((candidate.literals, candidate, {k: unquote(v) for k, v in match.groupdict().items()}))
        if not found:
            return None
        found.sort(key=lambda f: -f[0])  # a literal segment beats a parameter
        return found[0][1], found[0][2]

    def http(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | list[tuple[str, str]] | None = None,
        body: bytes = b"",
    ) -> HttpAnswer:
        """Route the request, invoke its function, answer as the host would."""
        return self.http_invocation(method, url, headers=headers, body=body)[0]

    def http_invocation(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | list[tuple[str, str]] | None = None,
        body: bytes = b"",
    ) -> tuple[HttpAnswer, Invocation | None]:
        """`http`, and the invocation behind it (None when no route matched: the host's 404)."""
        p = protos()
        parts = urlsplit(url)
        matched = self.route(method, parts.path)
        if matched is None:
            return HttpAnswer(404, {}, b""), None
        route, values = matched
        all_headers = header_map((headers or {}).items() if isinstance(headers, Mapping) else headers or [])
        all_headers.setdefault("host", parts.netloc)
        if body:
            all_headers["content-length"] = str(len(body))
        http = p.RpcHttp(
            method=method.upper(),
            url=url,
            headers=all_headers,
            query=query_map(parts.query),
            params=values,
        )
        if body:
            http.body.CopyFrom(p.TypedData(bytes=body))
        invocation = self.invoke(
            route.name,
            [p.ParameterBinding(name="req", data=p.TypedData(http=http))],
            {},  # RpcHttpTriggerMetadataRemoved: the library takes query and headers from RpcHttp
        )
        if not invocation.succeeded:
            return HttpAnswer(500, {}, b""), invocation  # the host's answer to a failed invocation
        answer = invocation.response.return_value.http
        payload = answer.body
        raw = payload.bytes if payload.HasField("bytes") else payload.string.encode()
        # HTTP header names compare case-insensitively: the answer keeps them lower-cased.
        headers = {name.lower(): value for name, value in answer.headers.items()}
        return HttpAnswer(int(answer.status_code or 200), headers, raw), invocation

    # --- blob and queue triggers -------------------------------------------------------------

    def blob(self, name: str, container: str, blob_name: str, binding_data: Mapping[str, str]) -> Invocation:
        """A blob trigger with an SDK-type binding: the host sends model binding data, never the bytes."""
        p = protos()
        trigger = self.trigger(name)
        content = json.dumps(
            {"Connection": trigger["connection"], "ContainerName": container, "BlobName": blob_name}
        ).encode()
        data = p.TypedData(model_binding_data=p.ModelBindingData(
            version="1.0", source="AzureStorageBlobs", content_type="application/json", content=content
        ))
        metadata = {
            "BlobTrigger": p.TypedData(string=f"{container}/{blob_name}"),
            **{key: p.TypedData(string=value) for key, value in binding_data.items()},
        }
        return self.invoke(name, [p.ParameterBinding(name=trigger["name"], data=data)], metadata)

    def queue(self, name: str, body: str, *, dequeue_count: int = 1, message_id: str | None = None,
              inserted: datetime | None = None) -> Invocation:
        """A queue trigger: the decoded message as a string, and the message's metadata."""
        p = protos()
        trigger = self.trigger(name)
        inserted = inserted or datetime.now(UTC)
        metadata = {
            "Id": p.TypedData(string=message_id or str(uuid.uuid4())),
            "DequeueCount": p.TypedData(json=str(dequeue_count)),
            "InsertionTime": p.TypedData(json=json.dumps(inserted.isoformat())),
            "ExpirationTime": p.TypedData(json=json.dumps((inserted + timedelta(days=7)).isoformat())),
            "NextVisibleTime": p.TypedData(json=json.dumps((datetime.now(UTC) + timedelta(seconds=30)).isoformat())),
            "PopReceipt": p.TypedData(string=uuid.uuid4().hex),
        }
        data = p.TypedData(string=body)
        return self.invoke(name, [p.ParameterBinding(name=trigger["name"], data=data)], metadata)


def _is_app_module(name: str) -> bool:
    return any(name == m or name.startswith(m + ".") for m in APP_MODULES)


@contextmanager
def running_host(app_directory: Path) -> Iterator[FunctionsHost]:
    """A started host; stopped, and the tests' modules given back, on exit."""
    host = FunctionsHost(app_directory)
    try:
        host.start()
        yield host
    finally:
        host.stop()

