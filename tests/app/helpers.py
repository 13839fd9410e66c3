"""Calling the blueprint's handlers directly with func.HttpRequest, and reading their answers."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import azure.functions as func

from tests.app.host_query import header_map, query_map

ORIGIN = "http://localhost:7071"
BASE = f"{ORIGIN}/beta"
ROOT = f"{BASE}/education/synchronizationProfiles"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")

Handler = Callable[[func.HttpRequest], func.HttpResponse]


@dataclass
class Answer:
    """A handler's response, decoded."""

    status: int
    headers: Mapping[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.raw)


def request(
    method: str,
    url: str,
    *,
    route: Mapping[str, str] | None = None,
    body: Any = None,
    token: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> func.HttpRequest:
    """A request as the host builds it: params as the host maps the query (host_query.py), the raw
    query in the URL, route parameters given, header names lower-cased."""
    all_headers = dict(headers or {})
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    if isinstance(body, (bytes, bytearray)):
        raw = bytes(body)
    elif body is None:
        raw = b""
    else:
        raw = json.dumps(body).encode()
        all_headers.setdefault("Content-Type", "application/json")
    return func.HttpRequest(
        method=method,
        url=url,
        headers=header_map(all_headers.items()),
        params=query_map(urlsplit(url).query),
        route_params=dict(route or {}),
        body=raw,
    )


def call(handler: Handler, req: func.HttpRequest) -> Answer:
    """Run the handler as the host would."""
    response = handler(req)
    return Answer(response.status_code, dict(response.headers), response.get_body())


def envelope(answer: Answer, code: str, message: str) -> dict[str, Any]:
    """The whole error body expected for `answer`, its request-id and date checked for shape."""
    inner = answer.json["error"]["innerError"]
    assert inner["request-id"] == answer.headers["request-id"]
    assert _DATE.match(inner["date"]), inner["date"]
    return {"error": {"code": code, "message": message, "innerError": inner}}
