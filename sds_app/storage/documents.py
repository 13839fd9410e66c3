"""JSON documents in blobs: read-modify-write with ETag/If-Match, retried on conflict."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob import ContainerClient, ContentSettings
from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)
MAX_ATTEMPTS = 60
_JSON = ContentSettings(content_type="application/json; charset=utf-8")


class DocumentMissing(LookupError):
    """The document does not exist (or was deleted during an update)."""


class DocumentExists(Exception):
    """A create found the document already there."""


class TooMuchContention(Exception):
    """An update lost the ETag race MAX_ATTEMPTS times in a row."""


class DocumentStore(Generic[M]):
    """Documents of one pydantic model in one container, stored as JSON with Graph names."""

    def __init__(self, container: ContainerClient, model: type[M]) -> None:
        self.container = container
        self.model = model

    def _bytes(self, document: M) -> bytes:
        return document.model_dump_json(by_alias=True).encode("utf-8")

    def get(self, name: str) -> tuple[M, str] | None:
        """The document and its ETag, or None."""
        try:
            download = self.container.download_blob(name)
        except ResourceNotFoundError:
            return None
        return self.model.model_validate_json(download.readall()), download.properties.etag

    def create(self, name: str, document: M) -> str:
        """Write a new document (If-None-Match: *); its ETag.

        The SDK retries a write whose answer was lost: a retry that finds the document exactly as
        this call wrote it means the first attempt landed, and answers as that attempt would have.
        """
        try:
            result = self.container.get_blob_client(name).upload_blob(
                self._bytes(document), overwrite=False, content_settings=_JSON
            )
        except ResourceExistsError:
            found = self.get(name)
            if found is not None and found[0] == document:
                return found[1]
            raise DocumentExists(name) from None
        return result["etag"]

    def replace(self, name: str, document: M, etag: str) -> str:
        """Overwrite the document if it still has `etag` (ResourceModifiedError otherwise)."""
        result = self.container.get_blob_client(name).upload_blob(
            self._bytes(document),
            overwrite=True,
            etag=etag,
            match_condition=MatchConditions.IfNotModified,
            content_settings=_JSON,
        )
        return result["etag"]

    def delete(self, name: str) -> bool:
        """Remove the document; False when it was not there."""
        try:
            self.container.delete_blob(name)
        except ResourceNotFoundError:
            return False
        return True

    def names(self, prefix: str) -> list[str]:
        """Names of the documents under `prefix`, in order."""
        return sorted(b for b in self.container.list_blob_names(name_starts_with=prefix))

    def update(self, name: str, mutate: Callable[[M], M]) -> M:
        """Apply `mutate` to the latest version until the write wins; mutate may raise to abort.

        A replace refused for its ETag may have landed (the SDK retried a write whose answer was
        lost): when the document now reads exactly as that write made it, the write won.
        """
        written: M | None = None
        for attempt in range(MAX_ATTEMPTS):
            found = self.get(name)
            if found is None:
                raise DocumentMissing(name)
            current, etag = found
            if written is not None and current == written:
                return current
            changed = mutate(current.model_copy(deep=True))
            if changed == current:
                return current
            try:
                self.replace(name, changed, etag)
                return changed
            except (ResourceModifiedError, ResourceNotFoundError):
                written = changed
                # Jittered backoff spreads the retries of writers that collided.
                time.sleep(random.uniform(0, min(0.2, 0.005 * 2**attempt)))
        raise TooMuchContention(name)
