"""The tenant's current School Data Sync run: one JSON document in sds-state, read-modify-write."""

from __future__ import annotations

from collections.abc import Callable

from sds_app.storage.account import StorageAccount
from sds_app.storage.documents import DocumentExists, DocumentMissing, DocumentStore
from sds_app.storage.profiles import STATE_CONTAINER
from sds_core.schooldatasync.state import TenantRun

TENANT_RUN = (
    "tenant/schoolDataSync-run.json"  # outside profiles/ and data/: no profile purge reaches it
)


class TenantRunStore:
    """get/update of the tenant's run document (created on first update)."""

    def __init__(self, account: StorageAccount) -> None:
        self.documents = DocumentStore(
            account.blobs.get_container_client(STATE_CONTAINER), TenantRun
        )

    def get(self) -> TenantRun | None:
        """The document, or None before the first run."""
        found = self.documents.get(TENANT_RUN)
        return found[0] if found else None

    def update(self, mutate: Callable[[TenantRun], TenantRun]) -> TenantRun:
        """Apply `mutate` to the latest version until the write wins; mutate may raise to abort."""
        for _ in range(10):
            try:
                return self.documents.update(TENANT_RUN, mutate)
            except DocumentMissing:
                try:
                    created = mutate(TenantRun())
                    self.documents.create(TENANT_RUN, created)
                    return created
                except DocumentExists:
                    continue
        raise RuntimeError("the tenant's run document could not be written")
