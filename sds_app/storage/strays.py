"""Blobs whose names the app did not choose: never read or deleted by name, removed exactly or left.

An uploader holding a SAS can create `A/../../sds-state/x.csv` (or `A\\..\\x.csv`, which the service
stores with `/`). The storage client resolves `..` segments before sending, so deleting such a
name "as written" would address another blob: the name of another profile's upload, or of a
record. `remove_exactly` sends the name with its dot segments percent-encoded and only with
If-Match on the ETag the listing gave; if the request lands anywhere else (or cannot be signed,
as with a shared key on Azurite), nothing is deleted, the blob is left, and the caller reports it.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from azure.core import MatchConditions
from azure.core.exceptions import AzureError
from azure.storage.blob import BlobClient

from sds_app.storage.account import StorageAccount
from sds_app.storage.deadlines import StorageTimeout

_LOG = logging.getLogger("sds_app.storage.strays")


class _ExactBlobClient(BlobClient):
    """A blob client whose URL keeps every segment of the name, `.` and `..` included."""

    def _format_url(self, hostname: str) -> str:
        segments = (
            s.replace(".", "%2E") if s in (".", "..") else quote(s, safe="~")
            for s in self.blob_name.split("/")
        )
        return f"{self.scheme}://{hostname}/{quote(self.container_name)}/{'/'.join(segments)}{self._query_str}"


def _exact_client(account: StorageAccount, container: str, name: str) -> BlobClient:
    service = account.blobs
    if account.config.connection_string:
        return _ExactBlobClient.from_connection_string(
            account.config.connection_string, container, name, **account.blob_options()
        )
    return _ExactBlobClient(
        service.url, container, name, credential=account.credential, **account.blob_options()
    )


def remove_exactly(account: StorageAccount, container: str, name: str, etag: str) -> bool:
    """Delete the blob named `name` with ETag `etag` (snapshots too); False when it was left."""
    client = _exact_client(account, container, name)
    try:
        client.delete_blob(
            delete_snapshots="include", etag=etag, match_condition=MatchConditions.IfNotModified
        )
    except (AzureError, StorageTimeout) as refused:
        _LOG.warning(
            "Left the blob %r in %s (a name the app does not use): %s",
            name, container, type(refused).__name__,
        )
        return False
    return True
