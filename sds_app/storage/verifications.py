"""Verification results (one per fingerprint), the verification state, and the per-profile lock."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime
from typing import Any, Literal

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobLeaseClient
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from sds_app.storage.account import StorageAccount
from sds_app.storage.documents import DocumentStore
from sds_app.storage.names import data_blob
from sds_app.storage.profiles import STATE_CONTAINER

SCHEMA_VERSION = 1
LOCK_SECONDS = 60


class _Stored(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True)


class VerificationResult(_Stored):
    """What one verification found, stored under its fingerprint (the row detail apart: `start`
    reads only this small document, the report reads the detail)."""

    schema_version: int = SCHEMA_VERSION
    profile_id: str
    fingerprint: str
    options_version: str
    has_errors: bool
    files: list[dict[str, Any]] = Field(default_factory=list)
    messages: list[dict[str, str]] = Field(default_factory=list)
    started_date_time: datetime
    finished_date_time: datetime
    seconds: float


class VerificationDetail(_Stored):
    """The row-level detail of a result: every message with its code, total and rows."""

    schema_version: int = SCHEMA_VERSION
    fingerprint: str
    details: list[dict[str, Any]] = Field(default_factory=list)


class VerificationState(_Stored):
    """Verification's own state (profileStatus is the sync's): what runs or ran last."""

    schema_version: int = SCHEMA_VERSION
    state: Literal["running", "done", "failed"] = "done"
    fingerprint: str | None = None
    started_date_time: datetime | None = None
    finished_date_time: datetime | None = None
    error: str | None = None
    last_run_fingerprint: str | None = None


# Results are immutable per fingerprint, so a small process-wide cache saves `start` a round trip.
_RESULTS: OrderedDict[tuple[str, str, str], VerificationResult] = OrderedDict()
_RESULTS_KEPT = 64
_RESULTS_LOCK = threading.Lock()


def _remember(key: tuple[str, str, str], result: VerificationResult) -> None:
    with _RESULTS_LOCK:
        _RESULTS[key] = result
        _RESULTS.move_to_end(key)
        while len(_RESULTS) > _RESULTS_KEPT:
            _RESULTS.popitem(last=False)


def _folder(profile_id: str) -> str:
    return data_blob(profile_id, "verification", "")


class VerificationStore:
    """Results and state of one profile's verifications, in the app's state container."""

    def __init__(self, account: StorageAccount, profile_id: str) -> None:
        container = account.blobs.get_container_client(STATE_CONTAINER)
        self.folder = _folder(profile_id)
        self.results = DocumentStore(container, VerificationResult)
        self.details = DocumentStore(container, VerificationDetail)
        self.states = DocumentStore(container, VerificationState)
        self.container = container

    def result(self, fingerprint: str) -> VerificationResult | None:
        """The result stored under a fingerprint (a fingerprint's result never changes: cached)."""
        key = (self.container.url, self.folder, fingerprint)
        cached = _RESULTS.get(key)
        if cached is not None:
            return cached
        found = self.results.get(f"{self.folder}results/{fingerprint}.json")
        if found is None:
            return None
        _remember(key, found[0])
        return found[0]

    def detail(self, fingerprint: str) -> VerificationDetail | None:
        """The row-level detail stored under a fingerprint."""
        found = self.details.get(f"{self.folder}details/{fingerprint}.json")
        return None if found is None else found[0]

    def save(self, result: VerificationResult, detail: VerificationDetail) -> None:
        """Store a result, detail first (the same fingerprint always holds the same: overwrite is safe)."""
        for name, document in (
            (f"{self.folder}details/{result.fingerprint}.json", detail),
            (f"{self.folder}results/{result.fingerprint}.json", result),
        ):
            self.container.get_blob_client(name).upload_blob(document.model_dump_json().encode(), overwrite=True)

    def prune(self, keep: set[str]) -> None:
        """Delete results and details other than those of the fingerprints kept."""
        for kind in ("results", "details"):
            for name in self.results.names(f"{self.folder}{kind}/"):
                if name.rsplit("/", 1)[-1].removesuffix(".json") not in keep:
                    self.results.delete(name)

    def state(self) -> VerificationState:
        """The current state (done with no fingerprint before any verification)."""
        found = self.states.get(f"{self.folder}state.json")
        return VerificationState() if found is None else found[0]

    def set_state(self, **changes: object) -> VerificationState:
        """Read-modify-write of the state document."""
        name = f"{self.folder}state.json"
        if self.states.get(name) is None:
            try:
                self.states.create(name, VerificationState())
            except Exception:  # noqa: BLE001 - created concurrently: update below sees it
                pass
        return self.states.update(name, lambda s: s.model_copy(update=changes))


class VerificationLock:
    """One verification per profile at a time: a lease on a small blob."""

    def __init__(self, account: StorageAccount, profile_id: str) -> None:
        container = account.blobs.get_container_client(STATE_CONTAINER)
        self.blob = container.get_blob_client(f"{_folder(profile_id)}lock")

    def try_acquire(self) -> BlobLeaseClient | None:
        """The lease, or None while another verification holds it."""
        try:
            self.blob.upload_blob(b"", overwrite=False)
        except (ResourceExistsError, HttpResponseError):
            pass  # exists already (or leased, which also means it exists)
        try:
            return self.blob.acquire_lease(lease_duration=LOCK_SECONDS)
        except (ResourceExistsError, HttpResponseError) as busy:
            if getattr(busy, "status_code", 409) == 409:
                return None
            raise
        except ResourceNotFoundError:
            return None
