"""Verification of a profile's current uploads: on upload (blob trigger) and inside `start`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from azure.core.exceptions import ResourceNotFoundError

from sds_app import telemetry
from sds_app.settings import UPLOAD_CONTAINER, Settings
from sds_app.storage.account import StorageAccount
from sds_app.storage.names import split_upload_blob
from sds_app.storage.profiles import ProfileGone, ProfileStore
from sds_app.storage.purge import purge_data
from sds_app.storage.strays import remove_exactly
from sds_app.storage.tenant_codes import TenantCodesStore
from sds_app.storage.uploads import Upload, UploadChanged, UploadFolder
from sds_app.storage.verifications import (
    VerificationDetail,
    VerificationLock,
    VerificationResult,
    VerificationStore,
)
from sds_core.models.profiles import ProfileRecord, ProfileState
from sds_core.verification.fileformats import detect_format
from sds_core.verification.fingerprint import fingerprint
from sds_core.verification.options import VerifyOptions
from sds_core.verification.verify import Loader, verify_files

_LOG = logging.getLogger("sds_app.verification")
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Folder:
    """The uploads of a profile as listed now, with the fingerprint they have under its options."""

    uploads: list[Upload]
    options: VerifyOptions
    fingerprint: str

    @property
    def size(self) -> int:
        """Bytes of every upload together."""
        return sum(u.size for u in self.uploads)


def options_for(
    record: ProfileRecord, settings: Settings, names: Iterable[str] = (),
    grade_levels: frozenset[str] | None = None,
) -> VerifyOptions:
    """The profile's verification options, with the deployment's limits and the uploads' format.

    The format (classic v1, or the new SDS's v2.1) is told from the uploaded file names; the
    tenant's grade codes (a tenant check read them) apply to a v1 set forwarded to School Data Sync.
    """
    format = detect_format(names)
    return VerifyOptions.from_profile(
        record.profile.model_dump(mode="json"),
        new_sds=settings.to_school_data_sync,
        format=format,
        grade_levels=grade_levels if settings.to_school_data_sync and format == "v1" else None,
        max_rows_per_file=settings.max_rows_per_file,
        detail_rows_per_message=settings.detail_rows_per_message,
    )


def current_folder(account: StorageAccount, record: ProfileRecord, settings: Settings) -> Folder:
    """List the profile's folder and fingerprint it."""
    uploads = UploadFolder(account, record.profile.id).list()
    grades = TenantCodesStore(account).grade_levels() if settings.to_school_data_sync else None
    options = options_for(record, settings, [u.name for u in uploads], grades)
    return Folder(uploads, options, fingerprint(((u.name, u.etag) for u in uploads), options.version()))


def verify(
    account: StorageAccount, profile_id: str, folder: Folder, heartbeat: Callable[[], None] | None = None
) -> VerificationResult:
    """Run the engine on the listed files and store the result; UploadChanged if one changed."""
    store = VerificationStore(account, profile_id)
    started = datetime.now(UTC)
    store.set_state(state="running", fingerprint=folder.fingerprint, started_date_time=started,
                    finished_date_time=None, error=None)
    uploads = UploadFolder(account, profile_id)
    readers = {u.name: Loader(uploads.reader(u), u.size) for u in folder.uploads}
    try:
        outcome = verify_files(readers, folder.options, progress=(lambda _n, _s: heartbeat()) if heartbeat else None)
    except UploadChanged:
        store.set_state(state="done", finished_date_time=datetime.now(UTC))
        raise
    except Exception as failure:
        store.set_state(state="failed", finished_date_time=datetime.now(UTC), error=type(failure).__name__)
        raise
    finished = datetime.now(UTC)
    telemetry.record_verification(outcome.seconds, sum(s.rows for s in outcome.files.values()))
    listed = {u.name: u for u in folder.uploads}
    result = VerificationResult(
        profile_id=profile_id,
        fingerprint=folder.fingerprint,
        options_version=folder.options.version(),
        has_errors=outcome.has_errors,
        files=[
            {**listed[s.uploaded_name].to_json(), "fileName": name, "rows": s.rows, "variant": s.variant}
            for name, s in sorted(outcome.files.items())
        ],
        messages=outcome.graph_messages(),
        started_date_time=started,
        finished_date_time=finished,
        seconds=round(outcome.seconds, 3),
    )
    store.save(result, VerificationDetail(fingerprint=folder.fingerprint, details=outcome.details()))
    state = store.set_state(state="done", fingerprint=folder.fingerprint, finished_date_time=finished)
    store.prune({folder.fingerprint, state.last_run_fingerprint or ""})
    _touch(account, profile_id, finished)
    return result


def _touch(account: StorageAccount, profile_id: str, now: datetime) -> None:
    """Verification moves only profileStatus.lastActivityDateTime."""

    def touched(record: ProfileRecord) -> ProfileRecord:
        record.status = record.status.model_copy(update={"last_activity_date_time": now})
        return record

    ProfileStore(account).update_live(profile_id, touched)  # ProfileGone: the caller cleans up


def verify_current(
    account: StorageAccount,
    record: ProfileRecord,
    settings: Settings,
    heartbeat: Callable[[], None] | None = None,
) -> tuple[Folder, VerificationResult]:
    """The result for the folder as it is now, verifying when none is stored (files may move meanwhile)."""
    for _ in range(MAX_ATTEMPTS):
        folder = current_folder(account, record, settings)
        stored = VerificationStore(account, record.profile.id).result(folder.fingerprint)
        if stored is not None:
            return folder, stored
        try:
            return folder, verify(account, record.profile.id, folder, heartbeat)
        except UploadChanged:
            continue  # a file was replaced while it was read: list again
    raise UploadChanged("the uploads kept changing")


def verify_on_upload(account: StorageAccount, settings: Settings, blob_name: str) -> None:
    """The blob trigger's work: verify the whole folder of the uploaded blob, once at a time."""
    named = split_upload_blob(blob_name)
    if named is None:
        _remove_stray(account, blob_name)
        return
    profile_id = named[0]
    found = ProfileStore(account).get(profile_id)
    if found is None:
        _LOG.warning("Upload %s/%s belongs to no profile: removed", UPLOAD_CONTAINER, blob_name)
        try:
            account.blobs.get_container_client(UPLOAD_CONTAINER).delete_blob(
                blob_name, delete_snapshots="include"
            )
        except ResourceNotFoundError:
            pass  # removed meanwhile
        return
    if found[0].profile.state in (ProfileState.DELETING, ProfileState.DELETION_FAILED):
        _LOG.info("Upload %s for profile %s, which is being deleted: ignored", blob_name, profile_id)
        return
    lock = VerificationLock(account, profile_id)
    while True:
        lease = lock.try_acquire()
        if lease is None:
            # Another verification of this profile runs; it re-checks the folder when it ends.
            _LOG.info("Upload %s for profile %s: a verification is running, coalesced", blob_name, profile_id)
            return
        try:
            record = _record(account, profile_id)
            if record is None:
                return
            try:
                folder, result = verify_current(account, record, settings, heartbeat=lease.renew)
            except ProfileGone:
                _LOG.info("Profile %s was deleted during its verification: its results removed", profile_id)
                purge_data(account, profile_id)
                return
            _LOG.info("Profile %s verified (%s): %d messages, errors: %s", profile_id,
                      folder.fingerprint, len(result.messages), result.has_errors)
        finally:
            lease.release()
        # Uploads that arrived while the lease was held found it taken: look once more.
        record = _record(account, profile_id)
        if record is None:
            return
        now = current_folder(account, record, settings)
        if VerificationStore(account, profile_id).result(now.fingerprint) is not None:
            return


def _remove_stray(account: StorageAccount, blob_name: str) -> None:
    """An upload whose name the app does not use: removed exactly (by its listed ETag) or left."""
    container = account.blobs.get_container_client(UPLOAD_CONTAINER)
    listed = [b for b in container.list_blobs(name_starts_with=blob_name) if b.name == blob_name]
    if not listed:
        return
    removed = remove_exactly(account, UPLOAD_CONTAINER, blob_name, listed[0].etag)
    _LOG.warning(
        "Upload %r is not named {profileId}/{file}: %s", blob_name, "removed" if removed else "left"
    )


def _record(account: StorageAccount, profile_id: str) -> ProfileRecord | None:
    found = ProfileStore(account).get(profile_id)
    return None if found is None else found[0]
