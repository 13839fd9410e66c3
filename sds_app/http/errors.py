"""Graph errors as values: status, code and message, turned into the envelope by responses.py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class GraphError(Exception):
    """An error answered with the Graph envelope (codes of decisions.md)."""

    status: int
    code: str
    message: str
    headers: Mapping[str, str] = field(default_factory=dict)


def bad_request(message: str) -> GraphError:
    """400: malformed or invalid body or query."""
    return GraphError(400, "badRequest", message)


def not_supported(message: str) -> GraphError:
    """400: the operation does not apply to the profile's data provider."""
    return GraphError(400, "notSupported", message)


def unauthenticated(message: str) -> GraphError:
    """401: no token, or a token that does not validate."""
    return GraphError(401, "InvalidAuthenticationToken", message, {"WWW-Authenticate": "Bearer"})


def access_denied(message: str) -> GraphError:
    """403: a valid token without the scope or role the operation needs."""
    return GraphError(403, "accessDenied", message)


def not_found(message: str) -> GraphError:
    """404: no such item."""
    return GraphError(404, "itemNotFound", message)


def conflict(message: str) -> GraphError:
    """409: the state of the item does not allow the operation."""
    return GraphError(409, "conflict", message)


def too_large(message: str) -> GraphError:
    """413: the request body is over the limit."""
    return GraphError(413, "requestTooLarge", message)


def unavailable(message: str, retry_after_seconds: int = 5) -> GraphError:
    """503 with Retry-After: try again later (the Graph SDKs do so on their own)."""
    return GraphError(
        503, "serviceNotAvailable", message, {"Retry-After": str(retry_after_seconds)}
    )


def general(
    message: str = "The request could not be processed; see the request-id in the logs.",
) -> GraphError:
    """500: an unexpected failure, never with a stack trace."""
    return GraphError(500, "generalException", message)
