"""OData query options read from the request's raw query string, as Graph reads them.

The Functions host hands the worker a query map of its own making (HttpRequest.params): an empty
value is dropped (`?$top=` arrives without `$top`) and a repeated key arrives joined with a comma
(`?$top=1&$top=2` arrives as "1,2"); see tests/app/host_query.py for the host's source. Graph
answers both with 400, so the options are parsed from the URL, which keeps the query as sent.
"""

from __future__ import annotations

from urllib.parse import unquote_plus, urlsplit

import azure.functions as func

from sds_app.http.errors import bad_request
from sds_app.http.paging import shown


def parse_query(query: str) -> dict[str, str]:
    """Name -> value of a raw query string; 400 when a `$` option is given twice (any case)."""
    options: dict[str, str] = {}
    seen: set[str] = set()
    for pair in query.split("&"):
        raw_name, _, raw_value = pair.partition("=")
        name = unquote_plus(raw_name)
        if not name:
            continue
        folded = name.lower()
        if folded in seen:
            if name.startswith("$"):
                raise bad_request(
                    f"Query option {shown(name)} was specified more than once, "
                    "it must be specified at most once."
                )
            continue  # not an OData option: the first one counts, as the app never reads it
        seen.add(folded)
        options[name] = unquote_plus(raw_value)
    return options


def query_options(req: func.HttpRequest) -> dict[str, str]:
    """The request's query options as sent (empty values kept)."""
    return parse_query(urlsplit(req.url).query)
