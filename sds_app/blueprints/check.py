"""`POST /beta/schoolDataSync/check`: the tenant check an admin runs after deploying.

docs/check.md says what it checks.

Write access (it may make and delete a check connector); body optional, `{"dryUpload": true}`.
JSON by default, the short text with `Accept: text/plain` or `$format=text`. Whatever
SDS_SYNC_TARGET says: the answer tells whether runs are forwarded. It never starts a run.
"""

from __future__ import annotations

import azure.functions as func

from sds_app import check
from sds_app.auth import Access
from sds_app.http.body import read_json_object
from sds_app.http.context import RequestContext
from sds_app.http.errors import bad_request
from sds_app.http.handler import handle
from sds_app.http.responses import json_response, text_response
from sds_app.settings import get_settings
from sds_app.storage.clients import get_account
from sds_core.schooldatasync.check import render_text

check_routes = func.Blueprint()
ROUTE = "beta/schoolDataSync/check"
_FORMATS = {"json": "json", "text": "text"}
_NO_STORE = {"Cache-Control": "no-store"}


def _format(req: func.HttpRequest) -> str:
    """json or text: `$format` first, then the Accept header; 400 for another `$format`."""
    asked = req.params.get("$format")
    if asked is not None:
        wanted = _FORMATS.get(asked.strip().lower())
        if wanted is None:
            raise bad_request("$format must be json or text.")
        return wanted
    return "text" if "text/plain" in req.headers.get("Accept", "").lower() else "json"


def _dry_upload(req: func.HttpRequest) -> bool:
    """`dryUpload` of the optional body (default false); 400 for anything else in it."""
    if not (req.get_body() or b"").strip():
        return False
    body = read_json_object(req)
    unknown = sorted(set(body) - {"dryUpload"})
    if unknown:
        raise bad_request(f"Unknown member(s) in the request body: {', '.join(unknown)[:200]}. "
                          'The body is {"dryUpload": true} or {"dryUpload": false}.')
    value = body.get("dryUpload", False)
    if not isinstance(value, bool):
        raise bad_request("dryUpload must be true or false.")
    return value


@check_routes.route(route=ROUTE, methods=["POST"])
def check_tenant(req: func.HttpRequest) -> func.HttpResponse:
    """POST /beta/schoolDataSync/check: 200 with the steps and the verdict (ready or not)."""

    def run(ctx: RequestContext) -> func.HttpResponse:
        wanted = _format(req)
        dry_upload = _dry_upload(req)
        context = f"{ctx.base}/$metadata#schoolDataSync/check/$entity"
        body = check.run_check(get_account(), get_settings(), dry_upload, context)
        if wanted == "text":
            return text_response(ctx, render_text(body), "text/plain", headers=_NO_STORE)
        return json_response(ctx, body, headers=_NO_STORE)

    return handle(req, Access.WRITE, run)
