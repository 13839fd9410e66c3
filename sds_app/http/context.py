"""Per-request context: request ids for the envelope and the logs, and the `<base>` of the app."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import azure.functions as func

_LOG = logging.getLogger("sds_app")


@dataclass(frozen=True)
class RequestContext:
    """What a handler needs to know about its request besides its inputs."""

    request_id: str
    client_request_id: str | None
    origin: str
    path: str
    log: logging.LoggerAdapter

    @property
    def base(self) -> str:
        """`<base>` of decisions.md: the request's own scheme and host, then /beta."""
        return f"{self.origin}/beta"


def new_context(req: func.HttpRequest) -> RequestContext:
    """A fresh request id; the client's `client-request-id` is echoed when sent."""
    request_id = str(uuid.uuid4())
    url = urlsplit(req.url)
    return RequestContext(
        request_id=request_id,
        client_request_id=req.headers.get("client-request-id") or None,
        origin=f"{url.scheme}://{url.netloc}",
        path=url.path,
        # sds_app.telemetry.operation (sds_app.http.handler) puts the request-id on every line.
        log=logging.LoggerAdapter(_LOG, {}),
    )
