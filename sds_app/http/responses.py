"""The only place that builds HttpResponse: JSON, empty bodies and the Graph error envelope."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import azure.functions as func

from sds_app.http.context import RequestContext
from sds_app.http.errors import GraphError


def _headers(ctx: RequestContext, extra: Mapping[str, str] | None) -> dict[str, str]:
    headers = {"request-id": ctx.request_id}
    if ctx.client_request_id:
        headers["client-request-id"] = ctx.client_request_id
    headers.update(extra or {})
    return headers


def json_response(
    ctx: RequestContext, body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> func.HttpResponse:
    """A JSON body with the request ids as headers."""
    return func.HttpResponse(
        json.dumps(body, ensure_ascii=False),
        status_code=status,
        headers=_headers(ctx, headers),
        mimetype="application/json",
        charset="utf-8",
    )


def text_response(
    ctx: RequestContext, text: str, mimetype: str, status: int = 200, headers: Mapping[str, str] | None = None
) -> func.HttpResponse:
    """A text body (the CSV or HTML report) with the request ids as headers."""
    return func.HttpResponse(
        text, status_code=status, headers=_headers(ctx, headers), mimetype=mimetype, charset="utf-8"
    )


def empty_response(ctx: RequestContext, status: int) -> func.HttpResponse:
    """A response without a body (pause, resume, reset, delete)."""
    return func.HttpResponse(status_code=status, headers=_headers(ctx, None))


def error_body(
    ctx: RequestContext, error: GraphError, now: datetime | None = None
) -> dict[str, Any]:
    """The Graph error envelope for one request."""
    now = now or datetime.now(UTC)
    inner = {"request-id": ctx.request_id, "date": now.strftime("%Y-%m-%dT%H:%M:%S")}
    if ctx.client_request_id:
        inner["client-request-id"] = ctx.client_request_id
    return {"error": {"code": error.code, "message": error.message, "innerError": inner}}


def error_response(ctx: RequestContext, error: GraphError) -> func.HttpResponse:
    """The envelope with the error's status and headers."""
    return json_response(ctx, error_body(ctx, error), error.status, error.headers)
