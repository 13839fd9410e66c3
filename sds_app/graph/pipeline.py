"""The HTTP pipeline of Graph calls: azure-core's retry (Retry-After honoured), tokens, deadlines.

Throttling (429, or 503 with Retry-After) is retried by azure-core's RetryPolicy, which sleeps
what Retry-After asks. A wait longer than MAX_IN_PROCESS_WAIT is not slept inside a function:
the answer goes back to the caller as a GraphError with `retry_after`, and the worker re-checks
later through a queue message with that visibility delay. Every attempt has a deadline (connect
and read timeouts, as for storage): a Graph that does not answer fails the call, not the host.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import ServiceRequestTimeoutError, ServiceResponseTimeoutError
from azure.core.pipeline import PipelineResponse
from azure.core.pipeline.policies import (
    BearerTokenCredentialPolicy,
    HeadersPolicy,
    RetryPolicy,
    UserAgentPolicy,
)
from azure.core.pipeline.transport import RequestsTransport

from sds_app.graph.errors import GraphTimeout, retry_after_seconds

MAX_IN_PROCESS_WAIT = 30.0  # seconds of Retry-After slept in process; longer waits go to the queue
USER_AGENT = "sds-classic-api"


@dataclass(frozen=True)
class GraphDeadline:
    """Timeouts of one Graph call attempt (upload: of one Put Blob)."""

    connect_seconds: float = 5
    read_seconds: float = 30
    upload_read_seconds: float = 120


class BoundedRetryPolicy(RetryPolicy):
    """azure-core's RetryPolicy, except that a Retry-After beyond `max_wait` is returned, not slept."""

    def __init__(self, max_wait: float = MAX_IN_PROCESS_WAIT, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_wait = max_wait

    def is_retry(self, settings: dict[str, Any], response: PipelineResponse) -> bool:  # noqa: D102
        wait = retry_after_seconds(response.http_response.headers.get("Retry-After"))
        if wait is not None and wait > self.max_wait:
            return False
        return super().is_retry(settings, response)


def retry_policy(max_wait: float = MAX_IN_PROCESS_WAIT) -> BoundedRetryPolicy:
    """Three retries: throttling as Retry-After says, other transient failures 0.5 s, 1 s, 2 s."""
    return BoundedRetryPolicy(
        max_wait=max_wait,
        retry_total=3,
        retry_connect=2,
        retry_read=1,
        retry_status=3,
        retry_backoff_factor=0.5,
        retry_backoff_max=4,
    )


class DeadlineTransport(RequestsTransport):
    """The requests transport with fixed connect/read timeouts on every attempt."""

    def __init__(self, connect_seconds: float, read_seconds: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.connect_seconds = connect_seconds
        self.read_seconds = read_seconds

    def send(self, request: Any, **kwargs: Any) -> Any:  # noqa: D102 - RequestsTransport.send
        kwargs["connection_timeout"] = self.connect_seconds
        kwargs["read_timeout"] = self.read_seconds
        try:
            return super().send(request, **kwargs)
        except (ServiceRequestTimeoutError, ServiceResponseTimeoutError) as timeout:
            raise GraphTimeout(request.method, _path(request.url), self.read_seconds) from timeout


def _path(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).path


def graph_policies(credential: Any | None, scope: str, max_wait: float) -> list[Any]:
    """Policies of the Graph pipeline: headers, user agent, retry, then the token (when any)."""
    policies: list[Any] = [
        HeadersPolicy({"Accept": "application/json"}),
        UserAgentPolicy(base_user_agent=USER_AGENT),
        retry_policy(max_wait),
    ]
    if credential is not None:
        policies.append(BearerTokenCredentialPolicy(credential, scope))
    return policies


def blob_policies(max_wait: float) -> list[Any]:
    """Policies of uploads to the session's SAS URL: retry only; never a Graph token."""
    return [UserAgentPolicy(base_user_agent=USER_AGENT), retry_policy(max_wait)]
