"""Graph's refusals as data: status, code and message, and the permission a 403 points to."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sds_app.graph.answers import AnswerRefused, escaped, parse_json, snippet

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
        self.graph_message = escaped(message[:MAX_MESSAGE])[:MAX_MESSAGE]
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
    """Graph did not answer within the call's deadline (or a read within its own timeout)."""

    def __init__(self, method: str, path: str, seconds: float, *, read: bool = False) -> None:
        self.seconds = seconds
        self.read = read
        what = "one connect or read" if read else "the call"
        super().__init__(
            None,
            "timeout",
            f"no answer within {seconds:g} s (the deadline of {what})",
            method=method,
            path=path,
        )

    @property
    def message(self) -> str:
        """Which call, which deadline."""
        where = f"{self.method} {self.path.split('?', 1)[0]}".strip()
        if self.read:
            return (
                f"Microsoft Graph did not answer {where}: nothing came for {self.seconds:g} s "
                "(the timeout of one connect or read)."
            )
        return (
            f"Microsoft Graph did not answer {where} within the call's deadline of "
            f"{self.seconds:g} s."
        )


class GraphAnswerError(GraphError):
    """Graph (or something in its place) answered outside the bounds: too large, deep, cut."""

    @property
    def message(self) -> str:
        """Which call, the answer's status, and which bound it broke."""
        where = f"{self.method} {self.path.split('?', 1)[0]}".strip()
        status = f" ({self.status})" if self.status else ""
        refused = f"The answer of Microsoft Graph to {where}{status} was refused"
        return f"{refused}: {self.graph_message}."


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
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_LONG_DAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_MONTH = "(?P<month>" + "|".join(_MONTHS) + ")"
_TIME = r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})"
# RFC 9110 5.6.7: IMF-fixdate, then the obsolete RFC 850 and asctime forms, ASCII as written.
_HTTP_DATES = tuple(
    re.compile(pattern, re.ASCII)
    for pattern in (
        rf"{_DAY}, (?P<day>[0-9]{{2}}) {_MONTH} (?P<year>[0-9]{{4}}) {_TIME} GMT",
        rf"{_LONG_DAY}, (?P<day>[0-9]{{2}})-{_MONTH}-(?P<year>[0-9]{{2}}) {_TIME} GMT",
        rf"{_DAY} {_MONTH} (?P<day>[ 0-9][0-9]) {_TIME} (?P<year>[0-9]{{4}})",
    )
)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After in seconds, at most a week: delta-seconds, or an HTTP date as seen from `now`.

    RFC 9110 10.2.3. Only ASCII digits are read as a delay (float() would also take "inf",
    "nan", "1e400" or Arabic-Indic digits, and an infinite wait overflows every sleep and
    timedelta made from it); a date in the past is 0; anything else, junk, is None.
    """
    if value is None or len(value) > 64:
        return None
    text = value.strip(" \t")  # optional whitespace (RFC 9110 5.6.3), not Unicode's
    if _DELTA_SECONDS.fullmatch(text):
        return min(float(text), MAX_RETRY_AFTER)
    now = now or datetime.now(UTC)
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    moment = _http_date(text, now)
    if moment is None:
        return None
    return min(max((moment - now).total_seconds(), 0.0), MAX_RETRY_AFTER)


def _http_date(text: str, now: datetime) -> datetime | None:
    for form, pattern in enumerate(_HTTP_DATES):
        match = pattern.fullmatch(text)
        if match is None:
            continue
        year = int(match["year"])
        if form == 1:  # two digits: a date over 50 years ahead is the century before
            year += (now.year // 100) * 100
            if year > now.year + 50:
                year -= 100
        try:
            return datetime(
                year,
                _MONTHS.index(match["month"]) + 1,
                int(match["day"]),
                int(match["hour"]),
                int(match["minute"]),
                min(int(match["second"]), 59),  # a leap second (60) is the second before
                tzinfo=UTC,
            )
        except ValueError:  # 31 Feb, hour 25
            return None
    return None


def from_response(method: str, path: str, status: int, headers: Any, body: bytes) -> GraphError:
    """The GraphError of an answer with a non-success status (Graph's error envelope when present).

    The body is untrusted and already bounded (MAX_ERROR_BYTES): it is parsed within the JSON
    bounds, and only a bounded, escaped code and message reach the error.
    """
    code, message = f"HTTP{status}", ""
    try:
        envelope = parse_json(body) if body else {}
        error = envelope.get("error") or {} if isinstance(envelope, dict) else {}
        if isinstance(error, dict):
            code = snippet(str(error.get("code") or code), 200)
            message = snippet(str(error.get("message") or ""), MAX_MESSAGE)
    except AnswerRefused:
        message = snippet(body) if body else ""
    return GraphError(
        status,
        code,
        message,
        method=method,
        path=path,
        retry_after=retry_after_seconds(headers.get("Retry-After")),
        request_id=_header_id(headers.get("request-id") or headers.get("client-request-id")),
    )


def _header_id(value: str | None) -> str | None:
    return snippet(value, 100) if value else None
