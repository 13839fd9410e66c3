"""Runs one request: context, token check, then the handler; every failure becomes the envelope."""

from __future__ import annotations

import logging
from collections.abc import Callable

import azure.functions as func
from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

from sds_app.auth import Access, authorize
from sds_app.http.context import RequestContext, new_context
from sds_app.http.errors import GraphError, conflict, general, not_found, unavailable
from sds_app.http.responses import error_response
from sds_app.settings import get_settings
from sds_app.storage.clients import get_account
from sds_app.storage.deadlines import INTERACTIVE, StorageTimeout, storage_profile
from sds_app.storage.documents import DocumentMissing, TooMuchContention
from sds_app.storage.profiles import ProfileGone
from sds_app.storage.provisioning import ensure_storage
from sds_app.telemetry import operation, profile_in_path
from sds_core.models.status import Refused

Handler = Callable[[RequestContext], func.HttpResponse]


def _storage_unavailable(error: Exception) -> bool:
    if isinstance(error, (ServiceRequestError, ServiceResponseError, StorageTimeout)):
        return True
    return isinstance(error, HttpResponseError) and (error.status_code or 0) >= 500


def _known(error: Exception) -> GraphError | None:
    if isinstance(error, GraphError):
        return error
    if isinstance(error, Refused):
        return conflict(error.message)
    if isinstance(error, DocumentMissing) or (isinstance(error, ProfileGone) and error.missing):
        return not_found("The synchronization profile no longer exists.")
    if isinstance(error, ProfileGone):
        return conflict("The profile is being deleted.")
    if isinstance(error, TooMuchContention):
        return unavailable("Too many concurrent changes to this profile; try again.", 1)
    return None


def _unexpected(ctx: RequestContext, req: func.HttpRequest, error: Exception) -> GraphError:
    if _storage_unavailable(error):
        ctx.log.warning(
            "%s %s: storage unavailable: %s", req.method, ctx.path, type(error).__name__
        )
        return unavailable("Storage is unavailable; try again.")
    ctx.log.exception("%s %s: unhandled %s", req.method, ctx.path, type(error).__name__)
    return general()


def handle(req: func.HttpRequest, access: Access, handler: Handler) -> func.HttpResponse:
    """Authorize `access`, run `handler`, and answer errors with the Graph envelope."""
    ctx = new_context(req)
    profile_id = profile_in_path(ctx.path)
    with operation(f"{req.method} request", request_id=ctx.request_id, profile_id=profile_id):
        with storage_profile(INTERACTIVE):
            return _handle(ctx, req, access, handler)


def _handle(
    ctx: RequestContext, req: func.HttpRequest, access: Access, handler: Handler
) -> func.HttpResponse:
    try:
        authorize(req.headers, access, get_settings())
        ensure_storage(get_account())  # a fresh account: what the handlers use exists first
        response = handler(ctx)
    except Exception as raised:  # noqa: BLE001 - the envelope, never a stack trace, goes out
        error = _known(raised) or _unexpected(ctx, req, raised)
        level = logging.ERROR if error.status >= 500 else logging.INFO
        ctx.log.log(
            level, "%s %s: %s %s %s", req.method, ctx.path, error.status, error.code, error.message
        )
        return error_response(ctx, error)
    ctx.log.info("%s %s: %s", req.method, ctx.path, response.status_code)
    return response
