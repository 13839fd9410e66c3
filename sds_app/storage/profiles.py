"""Profile records: one JSON document per profile in the app's private state container."""

from __future__ import annotations

from collections.abc import Callable

from sds_app.storage.account import StorageAccount
from sds_app.storage.documents import DocumentExists, DocumentMissing, DocumentStore
from sds_app.storage.names import RECORDS_ROOT, record_blob, record_id
from sds_core.models.profiles import ProfileRecord

STATE_CONTAINER = "sds-state"

__all__ = ["STATE_CONTAINER", "DocumentExists", "DocumentMissing", "ProfileGone", "ProfileStore"]


class ProfileGone(Exception):
    """The profile was deleted or is being deleted: a writer must stop and clean up after itself."""

    def __init__(self, profile_id: str, missing: bool) -> None:
        super().__init__(f"profile {profile_id} is {'gone' if missing else 'being deleted'}")
        self.missing = missing


def record_name(profile_id: str) -> str:
    """Blob name of a profile's record."""
    return record_blob(profile_id)


class ProfileStore:
    """get/create/replace/delete/list/update of profile records; update retries on conflicts."""

    def __init__(self, account: StorageAccount) -> None:
        container = account.blobs.get_container_client(STATE_CONTAINER)
        self.documents = DocumentStore(container, ProfileRecord)

    def get(self, profile_id: str) -> tuple[ProfileRecord, str] | None:
        """The record and its ETag, or None."""
        return self.documents.get(record_name(profile_id))

    def create(self, record: ProfileRecord) -> str:
        """Store a new record; DocumentExists when the id is taken."""
        return self.documents.create(record_name(record.profile.id), record)

    def replace(self, record: ProfileRecord, etag: str) -> str:
        """Overwrite a record if unchanged since `etag`."""
        return self.documents.replace(record_name(record.profile.id), record, etag)

    def delete(self, profile_id: str) -> bool:
        """Remove the record."""
        return self.documents.delete(record_name(profile_id))

    def update(
        self, profile_id: str, mutate: Callable[[ProfileRecord], ProfileRecord]
    ) -> ProfileRecord:
        """Read-modify-write until it wins; DocumentMissing when there is no such profile."""
        return self.documents.update(record_name(profile_id), mutate)

    def update_live(
        self, profile_id: str, mutate: Callable[[ProfileRecord], ProfileRecord]
    ) -> ProfileRecord:
        """`update` of a profile that must not be deleted or deleting; ProfileGone otherwise."""

        def live(current: ProfileRecord) -> ProfileRecord:
            if current.is_gone:
                raise ProfileGone(profile_id, missing=False)
            return mutate(current)

        try:
            return self.documents.update(record_name(profile_id), live)
        except DocumentMissing:
            raise ProfileGone(profile_id, missing=True) from None

    def ids(self) -> list[str]:
        """Every profile id, in order."""
        found = (record_id(n) for n in self.documents.names(RECORDS_ROOT))
        return [profile_id for profile_id in found if profile_id is not None]

    def list(self, skip: int, top: int) -> tuple[list[ProfileRecord], int]:
        """One page of records in id order, and how many there are in all."""
        ids = self.ids()
        page = []
        for profile_id in ids[skip : skip + top]:
            found = self.get(profile_id)
            if found is not None:  # deleted since the listing
                page.append(found[0])
        return page, len(ids)
