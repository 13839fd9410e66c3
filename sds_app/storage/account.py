"""Clients for the app's storage account, from the AzureWebJobsStorage connection setting."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from azure.data.tables import TableClient, TableServiceClient
from azure.storage.blob import BlobServiceClient, LinearRetry
from azure.storage.queue import LinearRetry as QueueLinearRetry
from azure.storage.queue import QueueServiceClient

from sds_app.settings import STORAGE_CONNECTION
from sds_app.storage.deadlines import BLOB_QUEUE_RETRY, TABLE_RETRY, DeadlineTransport


def _parse_connection_string(value: str) -> dict[str, str]:
    parts = (p.split("=", 1) for p in value.split(";") if "=" in p)
    return {k.strip(): v.strip() for k, v in parts}


@dataclass(frozen=True)
class StorageConfig:
    """Where the account is and how to authenticate: a connection string or an identity."""

    connection_string: str | None
    blob_uri: str | None = None
    queue_uri: str | None = None
    table_uri: str | None = None
    client_id: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, name: str = STORAGE_CONNECTION) -> StorageConfig:
        """Read `name` or its identity-based `name__*` settings."""
        env = os.environ if env is None else env
        value = env.get(name, "").strip()
        if value:
            if value == "UseDevelopmentStorage=true":
                value = (
                    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
                    "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
                    "K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
                    "QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;"
                    "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"
                )
            return cls(connection_string=value)
        account = env.get(f"{name}__accountName", "").strip()
        blob = env.get(f"{name}__blobServiceUri", "").strip() or (
            f"https://{account}.blob.core.windows.net" if account else ""
        )
        if not blob:
            raise RuntimeError(f"Storage is not configured: set {name} or {name}__accountName")
        queue = env.get(f"{name}__queueServiceUri", "").strip() or blob.replace(".blob.", ".queue.")
        table = env.get(f"{name}__tableServiceUri", "").strip() or blob.replace(".blob.", ".table.")
        client_id = env.get(f"{name}__clientId", "").strip() or None
        return cls(None, blob, queue, table, client_id)

    @property
    def account_key(self) -> str | None:
        """The shared key, when the connection string carries one."""
        if self.connection_string is None:
            return None
        return _parse_connection_string(self.connection_string).get("AccountKey")


class StorageAccount:
    """Lazily built service clients for blobs, queues and tables, every call under a deadline."""

    def __init__(self, config: StorageConfig) -> None:
        self.config = config
        self._table_clients: dict[str, TableClient] = {}
        self._table_lock = threading.Lock()

    def _storage_options(self, retry: type) -> dict[str, object]:
        return {"transport": DeadlineTransport(), "retry_policy": retry(**BLOB_QUEUE_RETRY)}

    def blob_options(self) -> dict[str, object]:
        """Transport and retries of a blob client built apart from `blobs`."""
        return self._storage_options(LinearRetry)

    def _table_options(self) -> dict[str, object]:
        return {"transport": DeadlineTransport(), **TABLE_RETRY}

    @cached_property
    def credential(self):  # noqa: ANN201 - azure.identity type, imported lazily
        """Managed identity (or developer) credential for identity-based connections."""
        from azure.identity import DefaultAzureCredential

        return DefaultAzureCredential(managed_identity_client_id=self.config.client_id)

    @cached_property
    def blobs(self) -> BlobServiceClient:
        """Blob service client."""
        if self.config.connection_string:
            return BlobServiceClient.from_connection_string(
                self.config.connection_string, **self._storage_options(LinearRetry)
            )
        return BlobServiceClient(
            self.config.blob_uri, credential=self.credential, **self._storage_options(LinearRetry)
        )

    @cached_property
    def queues(self) -> QueueServiceClient:
        """Queue service client."""
        if self.config.connection_string:
            return QueueServiceClient.from_connection_string(
                self.config.connection_string, **self._storage_options(QueueLinearRetry)
            )
        return QueueServiceClient(
            self.config.queue_uri, credential=self.credential, **self._storage_options(QueueLinearRetry)
        )

    @cached_property
    def tables(self) -> TableServiceClient:
        """Table service client."""
        if self.config.connection_string:
            return TableServiceClient.from_connection_string(
                self.config.connection_string, **self._table_options()
            )
        return TableServiceClient(
            endpoint=self.config.table_uri, credential=self.credential, **self._table_options()
        )

    def table(self, name: str) -> TableClient:
        """The client of one table, made once, with a pipeline of its own.

        `TableServiceClient.get_table_client` builds a pipeline over the service's policy objects
        and re-links their `next` one by one: a request in flight on another thread meanwhile can
        reach a half-linked policy (AttributeError: no attribute 'next'). Clients of their own,
        each built once, share nothing to re-link.
        """
        with self._table_lock:
            client = self._table_clients.get(name)
            if client is None:
                if self.config.connection_string:
                    client = TableClient.from_connection_string(
                        self.config.connection_string, table_name=name, **self._table_options()
                    )
                else:
                    client = TableClient(
                        endpoint=self.config.table_uri, table_name=name, credential=self.credential,
                        **self._table_options(),
                    )
                self._table_clients[name] = client
            return client
