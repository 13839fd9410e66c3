"""`GET /beta/health` (no token): whether the app reaches its blob, queue and table storage.

Each service gets one call with short timeouts and no retries, all three at once, so a probe
answers within about TIMEOUT_SECONDS. A missing container, queue or table still counts as
reachable: the app creates them on first use. Answers carry only short reasons, never details.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import azure.functions as func
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)

from sds_app import telemetry
from sds_app.http.context import new_context
from sds_app.http.responses import json_response
from sds_app.settings import SYNC_QUEUE
from sds_app.storage.account import StorageAccount
from sds_app.storage.clients import get_account
from sds_app.storage.deadlines import StorageTimeout
from sds_app.storage.profiles import STATE_CONTAINER
from sds_app.storage.sync_errors import SYNC_ERRORS_TABLE

health_routes = func.Blueprint()
_LOG = logging.getLogger("sds_app.health")
ROUTE = "beta/health"
TIMEOUT_SECONDS = 3
RETRY_AFTER_SECONDS = 30
_CALL = {"connection_timeout": TIMEOUT_SECONDS, "read_timeout": TIMEOUT_SECONDS, "retry_total": 0}


def _blob(account: StorageAccount) -> None:
    account.blobs.get_container_client(STATE_CONTAINER).get_container_properties(**_CALL)


def _queue(account: StorageAccount) -> None:
    account.queues.get_queue_client(SYNC_QUEUE).get_queue_properties(**_CALL)


def _table(account: StorageAccount) -> None:
    entities = account.table(SYNC_ERRORS_TABLE).query_entities(
        "PartitionKey eq 'health'", results_per_page=1, **_CALL
    )
    next(iter(entities.by_page()), None)


CHECKS: dict[str, Callable[[StorageAccount], None]] = {
    "blob": _blob,
    "queue": _queue,
    "table": _table,
}


def reason(error: Exception) -> str:
    """A short, safe word for a failed check (the log line has the rest)."""
    if isinstance(error, (ServiceRequestTimeoutError, ServiceResponseTimeoutError, StorageTimeout)):
        return "timeout"
    if isinstance(error, (ServiceRequestError, ServiceResponseError)):
        return "unreachable"
    if isinstance(error, HttpResponseError) and error.status_code in (401, 403):
        return "accessDenied"  # a wrong key, or a missing role assignment
    if isinstance(error, ClientAuthenticationError):
        return "authenticationFailed"  # no token: the managed identity is not available
    if isinstance(error, HttpResponseError):
        return f"status{error.status_code}"
    return type(error).__name__


def _run(check: Callable[[StorageAccount], None], account: StorageAccount) -> str:
    try:
        check(account)
    except ResourceNotFoundError:
        return "ok"
    except Exception as error:  # noqa: BLE001 - a failed check is an answer, not a crash
        first_line = str(error).partition("\n")[0]
        _LOG.warning(
            "Health check %s failed: %s: %s",
            check.__name__.strip("_"),
            type(error).__name__,
            first_line,
        )
        return reason(error)
    return "ok"


def check_storage(account: StorageAccount) -> dict[str, str]:
    """`ok` or a reason for each storage service, checked in parallel."""
    with ThreadPoolExecutor(max_workers=len(CHECKS)) as pool:
        futures = {
            name: pool.submit(contextvars.copy_context().run, _run, check, account)
            for name, check in CHECKS.items()
        }
        return {name: future.result() for name, future in futures.items()}


@health_routes.route(route=ROUTE, methods=["GET"])
def get_health(req: func.HttpRequest) -> func.HttpResponse:
    """200 `{"status": "healthy", "checks": {...}}` when storage answers, else 503 `unhealthy`."""
    ctx = new_context(req)
    with telemetry.operation("GET health", request_id=ctx.request_id):
        try:
            checks = check_storage(get_account())
        except RuntimeError:  # AzureWebJobsStorage is not set at all
            checks = {"storage": "notConfigured"}
        healthy = all(value == "ok" for value in checks.values())
        headers = {"Cache-Control": "no-store"}
        if not healthy:
            headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        body = {"status": "healthy" if healthy else "unhealthy", "checks": checks}
        return json_response(ctx, body, 200 if healthy else 503, headers)
