"""How the Functions host hands a request's query and headers to the worker (RpcHttp).

Azure/azure-functions-host, src/WebJobs.Script.Grpc/MessageExtensions/
GrpcMessageConversionExtensions.cs (`ToRpcHttp`): each pair of ASP.NET Core's `request.Query`
(keys compared case-insensitively) becomes `value = pair.Value.ToString()` and is added only when
`!string.IsNullOrEmpty(value)`; `StringValues.ToString()` joins several values with "," and skips
the empty ones (dotnet/runtime, StringValues.GetJoinedStringValueFromArray). So `?$top=` arrives
without `$top`, and `?$top=1&$top=2` arrives as `$top` = "1,2". Header names are lower-cased and
their values joined the same way. The worker's HttpRequest.params is this map; the raw query
stays in HttpRequest.url.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import unquote_plus


def query_map(query: str) -> dict[str, str]:
    """RpcHttp.query as the host fills it from a raw query string."""
    values: dict[str, list[str]] = {}
    spelled: dict[str, str] = {}
    for pair in query.split("&"):
        raw_key, _, raw_value = pair.partition("=")
        key = unquote_plus(raw_key)
        if not key:
            continue
        folded = key.lower()
        spelled.setdefault(folded, key)
        values.setdefault(folded, []).append(unquote_plus(raw_value))
    joined = {spelled[k]: ",".join(v for v in vs if v) for k, vs in values.items()}
    return {k: v for k, v in joined.items() if v}


def header_map(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """RpcHttp.headers: names lower-cased, the values of a repeated name joined with ","."""
    joined: dict[str, list[str]] = {}
    for name, value in pairs:
        joined.setdefault(name.lower(), []).append(value)
    return {name: ",".join(v for v in vs if v) for name, vs in joined.items()}
