"""The synced directory, read as Graph v1.0 shows it: /beta/education/schools, /classes, /users.

Collections page with `$top` and an opaque `$skiptoken` in `@odata.nextLink` (the table's
continuation, so a page costs the same wherever it is); `$skip` is honoured too. Navigations
(`/classes/{id}/members`...) are lists kept with the entity, paged with `$top` and `$skip`.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import urlencode

import azure.functions as func

from sds_app.auth import Access
from sds_app.http.context import RequestContext
from sds_app.http.errors import bad_request, not_found
from sds_app.http.handler import handle
from sds_app.http.paging import page_body, parse_paging, shown
from sds_app.http.query import query_options
from sds_app.http.responses import json_response
from sds_app.storage.clients import get_account
from sds_app.storage.directory import Row, TableDirectory
from sds_core.sync import LINK_KINDS

directory_routes = func.Blueprint()

ROOT = "beta/education"
SEGMENTS = {"school": "schools", "class": "classes", "user": "users"}
NAVIGATIONS = {
    "school": {"users": "users", "classes": "classes"},
    "class": {"members": "members", "teachers": "teachers"},
    "user": {"schools": "schools", "classes": "classes"},
}
SKIPTOKEN = "$skiptoken"
MAX_SKIPTOKEN = 2048  # ours are under 200 characters
# $skip reads the rows it skips: beyond this, follow @odata.nextLink ($skiptoken costs one page).
MAX_SKIP = 10_000


def _directory() -> TableDirectory:
    return TableDirectory(get_account())


def _encode(after: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(after)).encode()).decode().rstrip("=")


def _decode(token: str) -> tuple[str, str]:
    if len(token) > MAX_SKIPTOKEN:
        raise bad_request(f"Invalid value for {SKIPTOKEN}.")
    try:
        pk, rk = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(pk, str) or not isinstance(rk, str):
            raise TypeError("not a pair of strings")
        return pk, rk
    except (ValueError, TypeError, RecursionError) as error:
        raise bad_request(f"Invalid value for {SKIPTOKEN}.") from error


# Entity ids are uuid5 values, written lower-case: nothing else is looked up.
_ENTITY_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _item(directory: TableDirectory, kind: str, ident: str) -> Row:
    row = directory.get(kind, ident) if _ENTITY_ID.fullmatch(ident) else None
    if row is None:
        raise not_found(f"No {kind} has the id {shown(ident)!r}.")
    return row


def collection(ctx: RequestContext, req: func.HttpRequest, kind: str) -> func.HttpResponse:
    """A page of schools, classes or users over every profile."""
    params = query_options(req)
    token = params.pop(SKIPTOKEN, None)
    paging = parse_paging(params, MAX_SKIP)
    directory = _directory()
    after = _decode(token) if token else None
    rows, following = directory.page(kind, paging.skip + paging.top, after)
    rows = rows[paging.skip :]
    body: dict[str, Any] = {"@odata.context": f"{ctx.base}/$metadata#education/{SEGMENTS[kind]}"}
    if paging.count:
        body["@odata.count"] = sum(directory.count(p, kind) for p in directory.profiles())
    body["value"] = [r.resource() for r in rows]
    if following is not None and rows:
        query = {"$top": str(paging.top), SKIPTOKEN: _encode(following)}
        body["@odata.nextLink"] = f"{ctx.origin}{ctx.path}?{urlencode(query, safe='$')}"
    return json_response(ctx, body)


def item(ctx: RequestContext, req: func.HttpRequest, kind: str) -> func.HttpResponse:
    """One school, class or user by id."""
    row = _item(_directory(), kind, req.route_params.get("id", ""))
    context = f"{ctx.base}/$metadata#education/{SEGMENTS[kind]}/$entity"
    return json_response(ctx, {"@odata.context": context, **row.resource()})


def navigation(ctx: RequestContext, req: func.HttpRequest, kind: str) -> func.HttpResponse:
    """The users, classes, members, teachers or schools of one entity."""
    nav = req.route_params.get("nav", "")
    part = NAVIGATIONS[kind].get(nav)
    if part is None:
        raise bad_request(f"Resource not found for the segment '{nav}'.")
    paging = parse_paging(query_options(req))
    directory = _directory()
    row = _item(directory, kind, req.route_params.get("id", ""))
    ids = row.linked_ids(part)
    window = ids[paging.skip : paging.skip + paging.top]
    linked = directory.rows(row.profile_id, LINK_KINDS[part], window)
    context = f"{ctx.base}/$metadata#education/{SEGMENTS[kind]}('{row.id}')/{nav}"
    body = page_body(
        ctx,
        context,
        [r.resource() for r in linked],
        paging,
        more=paging.skip + paging.top < len(ids),
        total=len(ids),
    )
    return json_response(ctx, body)


def _serve(req: func.HttpRequest, view, kind: str) -> func.HttpResponse:  # noqa: ANN001
    return handle(req, Access.READ, lambda ctx: view(ctx, req, kind))


@directory_routes.route(route=f"{ROOT}/schools", methods=["GET"])
def list_schools(req: func.HttpRequest) -> func.HttpResponse:
    """GET /beta/education/schools."""
    return _serve(req, collection, "school")


@directory_routes.route(route=f"{ROOT}/schools/{{id}}", methods=["GET"])
def get_school(req: func.HttpRequest) -> func.HttpResponse:
    """GET /beta/education/schools/{id}."""
    return _serve(req, item, "school")


@directory_routes.route(route=f"{ROOT}/schools/{{id}}/{{nav}}", methods=["GET"])
def school_navigation(req: func.HttpRequest) -> func.HttpResponse:
    """GET /beta/education/schools/{id}/users and /classes."""
    return _serve(req, navigation, "school")


@directory_routes.route(route=f"{ROOT}/classes", methods=["GET"])
def list_classes(req: func.HttpRequest) -> func.HttpResponse:
    """GET /beta/education/classes."""
    return _serve(req, collection, "class")


@directory_routes.route(route=f"{ROOT}/classes/{{id}}", methods=["GET"])
def get_class(req: func.HttpRequest) -> func.HttpResponse:
    """GET /beta/education/classes/{id}."""
    return _serve(req, item, "class")


@directory_routes.route(route=f"{ROOT}/classes/{{id}}/{{nav}}", methods=["GET"])
def class_navigation(req: func.HttpRequest) -> func.HttpResponse:
    """GET /beta/education/classes/{id}/members and /teachers."""
    return _serve(req, navigation, "class")


@directory_routes.route(route=f"{ROOT}/users", methods=["GET"])
def list_users(req: func.HttpRequest) -> func.HttpResponse:
    """GET /beta/education/users."""
    return _serve(req, collection, "user")


@directory_routes.route(route=f"{ROOT}/users/{{id}}", methods=["GET"])
def get_user(req: func.HttpRequest) -> func.HttpResponse:
    """GET /beta/education/users/{id}."""
    return _serve(req, item, "user")


@directory_routes.route(route=f"{ROOT}/users/{{id}}/{{nav}}", methods=["GET"])
def user_navigation(req: func.HttpRequest) -> func.HttpResponse:
    """GET /beta/education/users/{id}/schools and /classes."""
    return _serve(req, navigation, "user")
