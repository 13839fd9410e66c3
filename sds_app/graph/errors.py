"""Graph's refusals as data: status, code and message, and the permission a 403 points to."""

from __future__ import annotations

import json
import re
from typing import Any

# industry-data.md "Permissions": the least privileged application permission of each call.
_PERMISSIONS: tuple[tuple[str, str, str], ...] = (
    (
        "GET",
        r"/runs/[^/]+/(microsoft\.graph\.industryData\.)?getStatistics",
        "IndustryData-Run.Read.All",
    ),
    ("POST", r"/runs/(microsoft\.graph\.industryData\.)?start$", "IndustryData-Run.Start"),
    ("GET", r"/runs", "IndustryData-Run.Read.All"),
    ("GET", r"/operations", "IndustryData.ReadBasic.All"),
    # List referenceDefinitions (industrydata-referencedefinition-list): ReadBasic.All; GET of one
    # definition would need IndustryData-ReferenceDefinition.Read.All (the app lists only).
    ("GET", r"/referenceDefinitions$", "IndustryData.ReadBasic.All"),
    (
        "*",
        r"/dataConnectors[^?]*/(.*\.)?[gG]etUploadSession",
        "IndustryData-DataConnector.ReadWrite.All",
    ),
    (
        "POST",
        r"/dataConnectors[^?]*/(microsoft\.graph\.industryData\.)?validate$",
        "IndustryData-DataConnector.ReadWrite.All",
    ),
    ("GET", r"/dataConnectors", "IndustryData-DataConnector.Read.All"),
    ("*", r"/dataConnectors", "IndustryData-DataConnector.ReadWrite.All"),
    ("*", r"/sourceSystems", "IndustryData-SourceSystem.ReadWrite.All"),
    ("*", r"/years", "IndustryData-TimePeriod.ReadWrite.All"),
    ("*", r"/inboundFlows", "IndustryData-InboundFlow.ReadWrite.All"),
)
MAX_MESSAGE = 1000  # Graph's message is untrusted: bounded before it reaches a status or a log


def permission_for(method: str, path: str) -> str | None:
    """The application permission industry-data.md names for a call, or None."""
    path = path.split("?", 1)[0]
    for verb, pattern, permission in _PERMISSIONS:
        if verb in ("*", method.upper()) and re.search(pattern, path):
            return permission
    return None


class GraphError(Exception):
    """Graph answered a call with an error (or not at all): HTTP status, Graph code and message."""

    def __init__(
        self,
        status: int | None,
        code: str,
        message: str,
        *,
        method: str = "",
        path: str = "",
        retry_after: float | None = None,
        request_id: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.graph_message = message[:MAX_MESSAGE]
        self.method = method
        self.path = path
        self.retry_after = retry_after
        self.request_id = request_id
        self.permission = permission_for(method, path) if status == 403 else None
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """One sentence for a status message: what was refused, how, and what to do about a 403."""
        where = f"{self.method} {self.path.split('?', 1)[0]}".strip()
        if self.code == "invalidResponse":
            to = f" to {where}" if where else ""
            return f"Microsoft Graph's answer{to} is not usable: {self.graph_message}"
        status = f"{self.status} {self.code}" if self.status else self.code
        text = f"Microsoft Graph refused {where} ({status}): {self.graph_message}".rstrip(": ")
        if self.permission:
            text += f" The app's identity needs the Microsoft Graph application permission {self.permission}."
        return text

    @property
    def transient(self) -> bool:
        """Worth trying again: throttled, no answer in time, unreachable, or a 408/5xx. An answer
        that is not what Graph documents (too large, too deep, a wrong id) is not."""
        if self.status is None:
            return self.code in ("unreachable", "timeout")
        return self.throttled or self.status == 408 or self.status >= 500

    @property
    def throttled(self) -> bool:
        """429, or 503 with Retry-After: try again later."""
        return self.status == 429 or (self.status == 503 and self.retry_after is not None)


class GraphTimeout(GraphError):
    """Graph did not answer within the call's deadline."""

    def __init__(self, method: str, path: str, seconds: float) -> None:
        super().__init__(
            None, "timeout", f"no answer within {seconds:g} s", method=method, path=path
        )


class GraphAuthenticationError(GraphError):
    """The app got no token for Microsoft Graph (401 authenticationFailed); nothing was sent."""

    def __init__(self, method: str, path: str, detail: str) -> None:
        super().__init__(401, "authenticationFailed", detail, method=method, path=path)

    @property
    def message(self) -> str:
        """What failed, azure-identity's first line, and the settings that decide the credential."""
        where = f"{self.method} {self.path.split('?', 1)[0]}".strip()
        detail = f": {self.graph_message.rstrip('.')}" if self.graph_message else ""
        return (
            f"The app could not get a token for Microsoft Graph to call {where}{detail}. With "
            "SDS_GRAPH_AUTH=default the token comes from azure-identity's DefaultAzureCredential: "
            "the app's managed identity in Azure, AZURE_CLIENT_ID, AZURE_TENANT_ID and "
            "AZURE_CLIENT_SECRET elsewhere (SDS_GRAPH_AUTH=none only for a local emulator)."
        )


_DELTA_SECONDS = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,6})?")
MAX_RETRY_AFTER = 7 * 24 * 3600.0  # a longer wait is the run's deadline's business, not Graph's


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After in seconds, at most a week (delta-seconds form; an HTTP date counts as unknown).

    Only digits are read: float() would also take "inf", "nan" or "1e400", and an infinite
    wait overflows every timedelta and queue delay made from it.
    """
    if value is None or not _DELTA_SECONDS.fullmatch(value.strip()):
        return None
    return min(float(value.strip()), MAX_RETRY_AFTER)


def from_response(method: str, path: str, status: int, headers: Any, body: bytes) -> GraphError:
    """The GraphError of an answer with a non-success status (Graph's error envelope when present)."""
    code, message = f"HTTP{status}", ""
    try:
        error = json.loads(body or b"{}").get("error") or {}
        if isinstance(error, dict):
            code = str(error.get("code") or code)[:200]
            message = str(error.get("message") or "")
    except (ValueError, AttributeError):
        message = body[:200].decode("utf-8", "replace") if body else ""
    return GraphError(
        status,
        code,
        message,
        method=method,
        path=path,
        retry_after=retry_after_seconds(headers.get("Retry-After")),
        request_id=headers.get("request-id") or headers.get("client-request-id"),
    )
