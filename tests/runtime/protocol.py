"""The Functions RPC protocol's messages, compiled from the published .proto files (proto/).

The Python worker builds the same modules from the same files when it is packaged; the library
(azure-functions-runtime) receives them as `protos` and reads and writes its messages with them.
Here they are compiled once per process with protoc from grpcio-tools, into a temporary folder, and
exposed as one namespace with the names the worker's own `protos` package re-exports.
"""

from __future__ import annotations

import importlib
import sys
import tempfile
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import SimpleNamespace

PROTO = Path(__file__).resolve().parent / "proto"
FILES = ("FunctionRpc.proto", "identity/ClaimsIdentityRpc.proto", "shared/NullableTypes.proto")
# The names azure_functions_worker/protos/__init__.py re-exports (the library uses these).
RPC_NAMES = (
    "StreamingMessage", "StartStream", "WorkerInitRequest", "WorkerInitResponse",
    "RpcFunctionMetadata", "FunctionLoadRequest", "FunctionLoadResponse",
    "FunctionEnvironmentReloadRequest", "FunctionEnvironmentReloadResponse",
    "InvocationRequest", "InvocationResponse", "WorkerHeartbeat", "WorkerStatusRequest",
    "WorkerStatusResponse", "BindingInfo", "StatusResult", "RpcException", "ParameterBinding",
    "TypedData", "RpcHttp", "RpcHttpCookie", "RpcLog", "RpcSharedMemory", "RpcDataType",
    "CloseSharedMemoryResourcesRequest", "CloseSharedMemoryResourcesResponse",
    "FunctionsMetadataRequest", "FunctionMetadataResponse", "WorkerMetadata", "RpcRetryOptions",
    "ModelBindingData", "RpcTraceContext",
)
NULLABLE_NAMES = ("NullableString", "NullableBool", "NullableDouble", "NullableTimestamp")


@lru_cache(maxsize=1)
def protos() -> SimpleNamespace:
    """The message classes, compiled on first use (about a second)."""
    from grpc_tools import protoc

    out = Path(tempfile.mkdtemp(prefix="functions-rpc-"))
    well_known = resources.files("grpc_tools") / "_proto"
    status = protoc.main([
        "protoc", f"-I{PROTO}", f"-I{well_known}", f"--python_out={out}", *(str(PROTO / f) for f in FILES),
    ])
    if status != 0:
        raise RuntimeError(f"protoc failed ({status}) on {PROTO}")
    for folder in ("identity", "shared"):
        (out / folder / "__init__.py").touch()
    # FunctionRpc_pb2 imports identity.ClaimsIdentityRpc_pb2 and shared.NullableTypes_pb2 as
    # top-level packages: the folder goes on sys.path under names no installed package uses.
    sys.path.insert(0, str(out))
    rpc = importlib.import_module("FunctionRpc_pb2")
    nullable = importlib.import_module("shared.NullableTypes_pb2")
    names = {name: getattr(rpc, name) for name in RPC_NAMES}
    names.update({name: getattr(nullable, name) for name in NULLABLE_NAMES})
    return SimpleNamespace(**names)
