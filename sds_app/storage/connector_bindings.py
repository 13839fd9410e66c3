"""Which profile a School Data Sync connector belongs to: one document per connector in sds-state.

Each upload to a connector is the complete data set for the new SDS, so two profiles on one
connector would overwrite each other's rosters: a connector is bound to one profile at a time.
The document is created with If-None-Match (two binds race; one wins) and taken over only from a
profile that no longer exists or is being deleted.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from sds_app.storage.account import StorageAccount
from sds_app.storage.documents import DocumentExists, DocumentStore
from sds_app.storage.profiles import STATE_CONTAINER, ProfileStore
from sds_core.models.industry_data import is_object_id

BINDINGS_ROOT = "connectors/"  # beside profiles/ and data/: no profile id can reach it


class ConnectorBinding(BaseModel):
    """The profile a connector belongs to."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True)

    schema_version: int = 1
    profile_id: str


class ConnectorTaken(Exception):
    """The connector belongs to another profile."""

    def __init__(self, connector_id: str, profile_id: str) -> None:
        super().__init__(f"The dataConnector {connector_id} is already used by the synchronization "
                         f"profile {profile_id}: each upload replaces a connector's whole data set, "
                         "so a connector serves one profile. Delete that profile first, or use "
                         "another connector.")
        self.profile_id = profile_id


def binding_blob(connector_id: str) -> str:
    """The state-container blob of a connector's binding."""
    if not is_object_id(connector_id):
        raise ValueError(f"not an Industry Data id: {connector_id!r}")
    return f"{BINDINGS_ROOT}{connector_id}.json"


class ConnectorBindings:
    """bind/release of connectors to profiles."""

    def __init__(self, account: StorageAccount) -> None:
        self.account = account
        self.documents = DocumentStore(account.blobs.get_container_client(STATE_CONTAINER),
                                       ConnectorBinding)

    def owner(self, connector_id: str) -> str | None:
        """The profile the connector is bound to, or None."""
        found = self.documents.get(binding_blob(connector_id))
        return found[0].profile_id if found else None

    def bind(self, connector_id: str, profile_id: str) -> None:
        """Bind the connector to the profile; ConnectorTaken when a live profile has it."""
        name = binding_blob(connector_id)
        wanted = ConnectorBinding(profile_id=profile_id)
        for _ in range(10):
            try:
                self.documents.create(name, wanted)
                return
            except DocumentExists:
                pass
            found = self.documents.get(name)
            if found is None:
                continue  # released meanwhile: create again
            binding, etag = found
            if binding.profile_id == profile_id:
                return
            if self._live(binding.profile_id):
                raise ConnectorTaken(connector_id, binding.profile_id)
            try:
                self.documents.replace(name, wanted, etag)
                return
            except Exception:  # noqa: BLE001 - changed meanwhile: look again
                continue
        raise RuntimeError(f"the binding of connector {connector_id} could not be written")

    def release(self, connector_id: str, profile_id: str) -> None:
        """Remove the binding if it is the profile's."""
        if not is_object_id(connector_id):
            return
        found = self.documents.get(binding_blob(connector_id))
        if found is not None and found[0].profile_id == profile_id:
            self.documents.delete(binding_blob(connector_id))

    def _live(self, profile_id: str) -> bool:
        found = ProfileStore(self.account).get(profile_id)
        return found is not None and not found[0].is_gone
