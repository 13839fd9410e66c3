"""OData query options of collections ($top, $skip, $count) and pages with @odata.nextLink."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sds_app.http.context import RequestContext
from sds_app.http.errors import bad_request

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 999
MAX_SKIP = 1_000_000
_DIGITS = re.compile(r"[0-9]+")  # ASCII digits only: str.isdigit also accepts "²"
SUPPORTED = ("$top", "$skip", "$count")


@dataclass(frozen=True)
class Paging:
    """Where a page starts, how long it is, and whether the total is wanted."""

    skip: int = 0
    top: int = DEFAULT_PAGE_SIZE
    count: bool = False
    top_given: bool = False


def shown(raw: str, limit: int = 40) -> str:
    """A query value short enough to quote in an error message."""
    return raw if len(raw) <= limit else raw[:limit] + "…"


def _non_negative(name: str, raw: str, limit: int) -> int:
    text = raw.strip()
    if not _DIGITS.fullmatch(text):
        raise bad_request(f"Invalid value for {name}: {shown(raw)!r} is not a non-negative integer.")
    value = int(text) if len(text) <= 20 else limit + 1  # never parse a huge number
    if value > limit:
        raise bad_request(f"Invalid value for {name}: the maximum is {limit}.")
    return value


def parse_paging(params: Mapping[str, str], max_skip: int = MAX_SKIP) -> Paging:
    """Paging from the query; other `$` options are refused rather than silently ignored."""
    unsupported = sorted(k for k in params if k.startswith("$") and k.lower() not in SUPPORTED)
    if unsupported:
        raise bad_request(f"Query option {shown(unsupported[0])} is not supported on this collection.")
    given = {k.lower(): v for k, v in params.items()}
    top = DEFAULT_PAGE_SIZE
    if "$top" in given:
        top = _non_negative("$top", given["$top"], MAX_PAGE_SIZE)
    skip = _non_negative("$skip", given["$skip"], max_skip) if "$skip" in given else 0
    count_raw = given.get("$count", "false").strip().lower()
    if count_raw not in ("true", "false"):
        raise bad_request(f"Invalid value for $count: {shown(given['$count'])!r} is not true or false.")
    return Paging(skip=skip, top=top, count=count_raw == "true", top_given="$top" in given)


def page_body(
    ctx: RequestContext,
    context_url: str,
    items: Sequence[Any],
    paging: Paging,
    more: bool,
    total: int | None = None,
) -> dict[str, Any]:
    """A page: @odata.context, @odata.count when asked, value, @odata.nextLink when more."""
    body: dict[str, Any] = {"@odata.context": context_url}
    if paging.count:
        body["@odata.count"] = total
    body["value"] = list(items)
    if more and paging.top:
        following = paging.skip + paging.top
        query = {"$skip": str(following)}
        if paging.top_given:
            query["$top"] = str(paging.top)
        if paging.count:
            query["$count"] = "true"
        body["@odata.nextLink"] = f"{ctx.origin}{ctx.path}?{urlencode(query, safe='$')}"
    return body
