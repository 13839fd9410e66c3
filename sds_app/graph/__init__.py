"""Microsoft Graph's Industry Data API (the new School Data Sync): client, errors, pipeline."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sds_app.graph.client import IndustryDataClient, UploadSession
from sds_app.graph.errors import (
    GraphAnswerError,
    GraphAuthenticationError,
    GraphError,
    GraphTimeout,
)
from sds_app.settings import Settings, get_settings

__all__ = [
    "GraphAnswerError",
    "GraphAuthenticationError",
    "GraphError",
    "GraphTimeout",
    "IndustryDataClient",
    "UploadSession",
    "client_for",
    "get_graph",
]


def client_for(settings: Settings, **options: Any) -> IndustryDataClient:
    """The client the settings describe: endpoint, and azure-identity tokens unless auth is none
    (`options`: the client's deadline and max_wait, for a caller with its own time bound)."""
    credential = None
    if settings.graph_auth == "default":
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    return IndustryDataClient(settings.graph_endpoint, credential, **options)


@lru_cache(maxsize=1)
def get_graph() -> IndustryDataClient:
    """The process's client; tests call get_graph.cache_clear() after changing the environment."""
    return client_for(get_settings())
