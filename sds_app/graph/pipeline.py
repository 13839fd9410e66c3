"""The HTTP pipeline of Graph calls: one deadline per call, bounded retries, bounded answers.

- **A deadline per call** (CallDeadlinePolicy, first in the pipeline): one number for connect,
  send, every read and every retry. The transport gives each attempt socket timeouts no longer
  than the time left, and a watchdog shuts the socket down when the deadline passes, so a server
  that dribbles its headers or its body a byte a second fails the call on time (requests' own
  timeouts are per socket read only).
- **Retry-After** (BoundedRetryPolicy): read by `retry_after_seconds` (seconds or an HTTP date,
  junk ignored), slept only while the call's sleeps stay within MAX_IN_PROCESS_WAIT in total and
  the deadline leaves time for the next attempt. A longer wait is not slept inside a function:
  the answer goes back to the caller as a GraphError with `retry_after` (seconds), and the worker
  re-checks later through a queue message with that visibility delay.
- **Bounded answers** (DeadlineTransport): every body is read by the transport in small pieces,
  decompressed and counted here (answers.read_body), at most MAX_ANSWER_BYTES for a success and
  MAX_ERROR_BYTES (cut, not refused) for an error, before anything else sees it.

Limits and why: docs/safety-limits.md.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import urllib3
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import (
    BearerTokenCredentialPolicy,
    HeadersPolicy,
    RetryPolicy,
    SansIOHTTPPolicy,
    UserAgentPolicy,
)
from azure.core.pipeline.transport import RequestsTransport
from azure.core.pipeline.transport._bigger_block_size_http_adapters import (
    BiggerBlockSizeHTTPAdapter,
)
from azure.core.rest._requests_basic import RestRequestsTransportResponse
from urllib3.util.retry import Retry

from sds_app.graph.answers import (
    MAX_ANSWER_BYTES,
    MAX_ERROR_BYTES,
    AnswerIncomplete,
    AnswerRefused,
    read_body,
)
from sds_app.graph.errors import GraphAnswerError, GraphTimeout, retry_after_seconds

MAX_IN_PROCESS_WAIT = 30.0  # seconds of Retry-After slept in process, in total over one call
CALL_SECONDS = 60.0  # the deadline of one Graph call, retries included
MIN_ATTEMPT_SECONDS = 1.0  # a retry is not slept into when less would be left for its attempt
DEADLINE_OPTION = "sds_call_deadline"
USER_AGENT = "sds-classic-api"


@dataclass(frozen=True)
class GraphDeadline:
    """Deadlines of Graph calls: whole calls, and each connect and read within one attempt."""

    connect_seconds: float = 5
    read_seconds: float = 30
    call_seconds: float = CALL_SECONDS


@dataclass(frozen=True)
class CallDeadline:
    """The moment (monotonic clock) one call must be over by, and the deadline in seconds."""

    seconds: float
    end: float

    @classmethod
    def starting_now(cls, seconds: float) -> CallDeadline:
        """A deadline `seconds` from now."""
        return cls(seconds, time.monotonic() + seconds)

    def left(self) -> float:
        """Seconds left (negative once passed)."""
        return self.end - time.monotonic()


class CallDeadlinePolicy(SansIOHTTPPolicy):
    """Starts the call's deadline, first thing in the pipeline: the retries below share it."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def on_request(self, request: PipelineRequest) -> None:  # noqa: D102
        options = request.context.options
        if DEADLINE_OPTION not in options:
            options[DEADLINE_OPTION] = CallDeadline.starting_now(self.seconds)


class BoundedRetryPolicy(RetryPolicy):
    """azure-core's RetryPolicy with our Retry-After parser, a sleep budget and the deadline.

    A Retry-After beyond the budget (or the deadline) is returned, not slept. Timeouts and
    refused answers (GraphError from the transport) are never retried in process.
    """

    def __init__(self, max_wait: float = MAX_IN_PROCESS_WAIT, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_wait = max_wait

    def get_retry_after(self, response: PipelineResponse) -> float | None:  # noqa: D102
        return retry_after_seconds(response.http_response.headers.get("Retry-After"))

    def is_retry(self, settings: dict[str, Any], response: PipelineResponse) -> bool:  # noqa: D102
        # azure-core's rule (a Retry-After asks for a retry), with Retry-After as we read it.
        if response.http_response.status_code < 400:
            return False
        if self.get_retry_after(response) is not None:
            return True
        if not self._is_method_retryable(settings, response.http_request, response.http_response):
            return False
        return bool(settings["total"]) and response.http_response.status_code in (
            self._retry_on_status_codes
        )

    def send(self, request: PipelineRequest) -> PipelineResponse:  # noqa: D102
        settings = self.configure_retries(request.context.options)
        self._configure_positions(request, settings)
        deadline = request.context.options.get(DEADLINE_OPTION)
        transport = request.context.transport
        slept = 0.0
        while True:
            try:
                response = self.next.send(request)
            except ClientAuthenticationError:
                raise
            except AzureError as error:  # connect failures, broken connections
                retryable = self._is_method_retryable(settings, request.http_request)
                if not (retryable and self.increment(settings, response=request, error=error)):
                    raise
                wait = self.get_backoff_time(settings)
                if not self._may_sleep(wait, slept, deadline):
                    raise
                slept += self._sleep(transport, wait)
                continue
            if not self.is_retry(settings, response) or not self.increment(settings, response):
                break
            wait = self.get_retry_after(response)
            if wait is None:
                wait = self.get_backoff_time(settings)
            if not self._may_sleep(wait, slept, deadline):
                break  # the answer, with its Retry-After, goes back to the caller
            slept += self._sleep(transport, wait)
        self.update_context(response.context, settings)
        return response

    def _may_sleep(self, wait: float, slept: float, deadline: CallDeadline | None) -> bool:
        if slept + wait > self.max_wait:
            return False
        return deadline is None or wait + MIN_ATTEMPT_SECONDS <= deadline.left()

    @staticmethod
    def _sleep(transport: Any, wait: float) -> float:
        if wait > 0:
            transport.sleep(wait)
        return max(wait, 0.0)


def retry_policy(max_wait: float = MAX_IN_PROCESS_WAIT) -> BoundedRetryPolicy:
    """Three retries: throttling as Retry-After says, other transient failures 0 s, 1 s, 2 s."""
    return BoundedRetryPolicy(
        max_wait=max_wait,
        retry_total=3,
        retry_connect=2,
        retry_read=1,
        retry_status=3,
        retry_backoff_factor=0.5,
        retry_backoff_max=4,
    )


# -- the transport -------------------------------------------------------------------------------


class _Watch:
    """The connections of one attempt, shut down by a timer when the call's deadline passes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connections: list[Any] = []
        self.fired = False
        self._done = False

    def attach(self, connection: Any) -> None:
        with self._lock:
            if self._done:
                return
            self._connections.append(connection)
            fired = self.fired
        if fired:
            _shut(connection)

    def fire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.fired = True
            connections = list(self._connections)
        for connection in connections:
            _shut(connection)

    def finish(self) -> None:
        with self._lock:
            self._done = True


def _shut(connection: Any) -> None:
    """Shut the socket down under a blocked read: the read returns at once (EOF or error)."""
    sock = getattr(connection, "sock", None)
    try:
        if isinstance(sock, socket.socket):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)  # below TLS: no SSL state touched
        elif sock is not None:
            sock.close()
    except OSError:
        pass


_CURRENT = threading.local()  # the _Watch of the attempt this thread is sending


def _attach_current(connection: Any) -> None:
    watch = getattr(_CURRENT, "watch", None)
    if watch is not None:
        watch.attach(connection)


class _WatchedConnection:
    """A urllib3 connection that puts itself under the current attempt's watch."""

    def connect(self) -> None:  # noqa: D102
        super().connect()  # type: ignore[misc]
        _attach_current(self)

    def request(self, *args: Any, **kwargs: Any) -> Any:  # noqa: D102 - a kept-alive connection
        if getattr(self, "sock", None) is not None:
            _attach_current(self)
        return super().request(*args, **kwargs)  # type: ignore[misc]


class _WatchedHTTPConnection(_WatchedConnection, urllib3.connection.HTTPConnection):
    pass


class _WatchedHTTPSConnection(_WatchedConnection, urllib3.connection.HTTPSConnection):
    pass


class _WatchedHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_WATCHED_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class _WatchedAdapter(BiggerBlockSizeHTTPAdapter):
    """azure-core's adapter, with connection pools whose connections a watchdog can shut."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:  # noqa: D102
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_WATCHED_POOLS)

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:  # noqa: D102
        manager = super().proxy_manager_for(proxy, **kwargs)
        if isinstance(manager, urllib3.PoolManager):
            manager.pool_classes_by_scheme = dict(_WATCHED_POOLS)
        return manager


_READ_FAILURES = (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError, ValueError)


class DeadlineTransport(RequestsTransport):
    """The requests transport under the call's deadline, reading every body within its bounds.

    Per attempt: connect and read timeouts of at most the time left, a watchdog at the deadline,
    and the body read here (streamed, decompressed, counted) into a response that needs no more
    reading. GraphTimeout when the deadline passes, GraphAnswerError for an answer out of bounds.
    """

    def __init__(
        self,
        connect_seconds: float,
        read_seconds: float,
        *,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
        max_error_bytes: int = MAX_ERROR_BYTES,
        call_seconds: float = CALL_SECONDS,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.connect_seconds = connect_seconds
        self.read_seconds = read_seconds
        self.max_answer_bytes = max_answer_bytes
        self.max_error_bytes = max_error_bytes
        self.call_seconds = call_seconds

    def _init_session(self, session: Any) -> None:
        super()._init_session(session)
        no_retries = Retry(total=False, redirect=False, raise_on_status=False)
        adapter = _WatchedAdapter(max_retries=no_retries)
        for prefix in self._protocols:
            session.mount(prefix, adapter)

    def send(self, request: Any, **kwargs: Any) -> Any:  # noqa: D102 - RequestsTransport.send
        deadline = kwargs.pop(DEADLINE_OPTION, None) or CallDeadline.starting_now(self.call_seconds)
        kwargs.pop("stream", None)  # bodies are always read here, within their bounds
        method, path = request.method, urlsplit(request.url).path
        left = deadline.left()
        if left <= 0:
            raise GraphTimeout(method, path, deadline.seconds)
        kwargs["connection_timeout"] = min(self.connect_seconds, left)
        kwargs["read_timeout"] = read_timeout = min(self.read_seconds, left)
        watch = _Watch()
        timer = threading.Timer(left, watch.fire)
        timer.daemon = True
        _CURRENT.watch = watch
        timer.start()
        try:
            return self._attempt(request, deadline, read_timeout, watch, kwargs)
        finally:
            watch.finish()
            timer.cancel()
            _CURRENT.watch = None

    def _attempt(
        self, request: Any, deadline: CallDeadline, read_timeout: float, watch: _Watch, kwargs: Any
    ) -> Any:
        method, path = request.method, urlsplit(request.url).path

        def timeout(phase_seconds: float | None) -> GraphTimeout:
            """The deadline's, or when it has not passed, one connect's or read's timeout."""
            if phase_seconds is not None and not watch.fired and deadline.left() > 0.05:
                return GraphTimeout(method, path, phase_seconds, read=True)
            return GraphTimeout(method, path, deadline.seconds)

        try:
            response = super().send(request, stream=True, **kwargs)
        except ServiceRequestTimeoutError:
            raise timeout(kwargs["connection_timeout"]) from None
        except ServiceResponseTimeoutError:
            raise timeout(read_timeout) from None
        except (ServiceRequestError, ServiceResponseError):
            if watch.fired or deadline.left() <= 0:
                raise timeout(None) from None
            raise
        internal = response.internal_response
        status = internal.status_code
        success = 200 <= status < 300
        raw = internal.raw
        try:
            body = read_body(
                lambda size: raw.read1(size, decode_content=False),
                internal.headers,
                limit=self.max_answer_bytes if success else self.max_error_bytes,
                truncate=not success,
                expired=lambda: watch.fired or deadline.left() <= 0,
                wire_bytes=None if method.upper() == "HEAD" else raw.tell,
            )
        except AnswerRefused as refused:
            internal.close()
            raise GraphAnswerError(
                status, refused.code, refused.reason, method=method, path=path
            ) from None
        except AnswerIncomplete as cut:
            internal.close()
            raise GraphAnswerError(
                None, "incompleteResponse", str(cut), method=method, path=path
            ) from None
        except _READ_FAILURES as failure:
            internal.close()
            if watch.fired or deadline.left() <= 0.05:
                raise timeout(None) from None
            if isinstance(failure, TimeoutError | urllib3.exceptions.TimeoutError):
                raise timeout(read_timeout) from None
            raise GraphAnswerError(
                None,
                "incompleteResponse",
                "the connection broke before the answer's end",
                method=method,
                path=path,
            ) from None
        if body.truncated:
            internal.close()  # the rest of an error answer stays unread: not a reusable connection
        internal._content = body.data  # noqa: SLF001 - what requests' own .content would hold
        internal._content_consumed = True  # noqa: SLF001
        internal.close()  # back to the pool when read to its end
        if not isinstance(response, RestRequestsTransportResponse):
            return response
        return RestRequestsTransportResponse(
            request=request,
            internal_response=internal,
            block_size=self.connection_config.data_block_size,
        )


def graph_policies(
    credential: Any | None, scope: str, max_wait: float, call_seconds: float = CALL_SECONDS
) -> list[Any]:
    """Policies of the Graph pipeline: deadline, headers, user agent, retry, then the token."""
    policies: list[Any] = [
        CallDeadlinePolicy(call_seconds),
        HeadersPolicy({"Accept": "application/json", "Accept-Encoding": "gzip"}),
        UserAgentPolicy(base_user_agent=USER_AGENT),
        retry_policy(max_wait),
    ]
    if credential is not None:
        policies.append(BearerTokenCredentialPolicy(credential, scope))
    return policies
