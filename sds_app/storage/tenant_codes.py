"""The tenant's own code lists, as the last tenant check read them: one JSON document in sds-state."""

from __future__ import annotations

import logging

from pydantic import ValidationError

from sds_app.storage.account import StorageAccount
from sds_app.storage.documents import DocumentExists, DocumentMissing, DocumentStore
from sds_app.storage.profiles import STATE_CONTAINER
from sds_core.schooldatasync.state import TenantCodes

TENANT_CODES = "tenant/schoolDataSync-codes.json"  # beside the tenant's run document
_LOG = logging.getLogger("sds_app.storage")


class TenantCodesStore:
    """get/put of the tenant's code lists (the last check's read wins)."""

    def __init__(self, account: StorageAccount) -> None:
        self.documents = DocumentStore(
            account.blobs.get_container_client(STATE_CONTAINER), TenantCodes
        )

    def get(self) -> TenantCodes | None:
        """The document, or None before the first check that read the lists."""
        found = self.documents.get(TENANT_CODES)
        return found[0] if found else None

    def put(self, codes: TenantCodes) -> None:
        """Write the lists a check read, over any earlier ones."""
        for _ in range(10):
            try:
                self.documents.update(TENANT_CODES, lambda _: codes)
                return
            except DocumentMissing:
                try:
                    self.documents.create(TENANT_CODES, codes)
                    return
                except DocumentExists:
                    continue
        raise RuntimeError("the tenant's code lists could not be written")

    def grade_levels(self) -> frozenset[str] | None:
        """The tenant's grade codes for VerifyOptions (lower case), None when none were read.

        A document this version cannot read counts as none: `start` keeps the default list.
        """
        try:
            codes = self.get()
        except (ValidationError, ValueError) as unreadable:
            _LOG.warning("%s is not readable (%s): the default grade levels apply", TENANT_CODES,
                         type(unreadable).__name__)
            return None
        return codes.grade_set() if codes else None
