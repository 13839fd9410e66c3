"""Deadlines on every storage call: how long one call may go unanswered, for requests and for triggers.

A frozen or unreachable storage account must not hold an HTTP request for minutes (the SDKs'
defaults: 20 s to connect, 60 s per read, retries 15 s apart), nor a trigger. Every client of the
app's account sends through `DeadlineTransport`, which applies the timeouts of the current
`StorageProfile`: HTTP handlers run under `INTERACTIVE` (a call that times out is not retried: the
client gets 503 with Retry-After and retries itself), triggers under `BACKGROUND` (longer; a call
that times out fails the invocation, and the host delivers it again: every trigger's work is
idempotent). Retries of other transient failures are few and short (BLOB_QUEUE_RETRY,
TABLE_RETRY), so storage that is down is reported within seconds too.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import ServiceRequestTimeoutError, ServiceResponseTimeoutError
from azure.core.pipeline.transport import RequestsTransport


@dataclass(frozen=True)
class StorageProfile:
    """Timeouts of one storage call attempt, and whether a timed-out call is tried again."""

    name: str
    connect_seconds: float
    read_seconds: float
    retry_timeouts: bool


INTERACTIVE = StorageProfile("interactive", connect_seconds=3, read_seconds=4, retry_timeouts=False)
BACKGROUND = StorageProfile("background", connect_seconds=5, read_seconds=10, retry_timeouts=False)
_PROFILE: contextvars.ContextVar[StorageProfile] = contextvars.ContextVar(
    "sds_storage_profile", default=BACKGROUND
)

# Blob and queue clients (azure-storage's LinearRetry): two retries about a second apart.
BLOB_QUEUE_RETRY = {"retry_total": 2, "backoff": 1, "random_jitter_range": 0.5}
# Table clients (azure-core's RetryPolicy).
TABLE_RETRY = {"retry_total": 2, "retry_backoff_factor": 0.5, "retry_backoff_max": 2}


class StorageTimeout(Exception):
    """A storage call went unanswered within its profile's timeout: never retried in process."""


@contextmanager
def storage_profile(profile: StorageProfile) -> Iterator[None]:
    """Run the block's storage calls (in this thread and context) under `profile`."""
    token = _PROFILE.set(profile)
    try:
        yield
    finally:
        _PROFILE.reset(token)


def current_profile() -> StorageProfile:
    """The profile of the calling context."""
    return _PROFILE.get()


def _bounded(given: Any, limit: float) -> float:
    return limit if not isinstance(given, (int, float)) else min(float(given), limit)


class DeadlineTransport(RequestsTransport):
    """The requests transport with the current profile's timeouts on every attempt."""

    def send(self, request: Any, **kwargs: Any) -> Any:  # noqa: D102 - RequestsTransport.send
        profile = _PROFILE.get()
        kwargs["connection_timeout"] = _bounded(kwargs.get("connection_timeout"), profile.connect_seconds)
        kwargs["read_timeout"] = _bounded(kwargs.get("read_timeout"), profile.read_seconds)
        try:
            return super().send(request, **kwargs)
        except (ServiceRequestTimeoutError, ServiceResponseTimeoutError) as timeout:
            if profile.retry_timeouts:
                raise
            raise StorageTimeout(f"storage did not answer within {profile.read_seconds:g} s") from timeout
