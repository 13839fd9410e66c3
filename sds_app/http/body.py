"""Request bodies: size limit, then JSON that must be an object."""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func

from sds_app.http.errors import bad_request, too_large

MAX_BODY_BYTES = 1_048_576


def read_json_object(req: func.HttpRequest) -> dict[str, Any]:
    """The body as a JSON object; 413 over 1 MB, 400 when it is not a JSON object."""
    declared = req.headers.get("content-length", "").strip()
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large(f"The request body is over the limit of {MAX_BODY_BYTES} bytes.")
    raw = req.get_body() or b""
    if len(raw) > MAX_BODY_BYTES:
        raise too_large(f"The request body is over the limit of {MAX_BODY_BYTES} bytes.")
    if not raw.strip():
        raise bad_request("The request body is empty: a JSON object is required.")
    try:
        value = json.loads(raw.decode("utf-8-sig"))
    except (ValueError, RecursionError) as error:  # ValueError: bad JSON, or an int over 4,300 digits
        raise bad_request(f"The request body is not valid JSON ({type(error).__name__}).") from None
    if not isinstance(value, dict):
        raise bad_request("The request body must be a JSON object.")
    return value
