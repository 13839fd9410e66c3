"""`start`: use (or make) the verification of the current uploads, freeze them, enqueue one run."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sds_app.settings import Settings
from sds_app.storage.account import StorageAccount
from sds_app.storage.profiles import ProfileGone, ProfileStore
from sds_app.storage.purge import purge_data
from sds_app.storage.sync_queue import enqueue_run
from sds_app.storage.uploads import UploadChanged, UploadFolder
from sds_app.storage.verifications import VerificationResult, VerificationStore
from sds_app.verification import Folder, current_folder, verify_current
from sds_core.models import status as run_status
from sds_core.models.profiles import ProfileRecord
from sds_core.verification.fileformats import V1_NAME, V21_FILE_NAMES, V21_NAME
from sds_core.verification.newsds import dropped_class_files
from sds_core.verification.spec import FILES_BY_NAME

_LOG = logging.getLogger("sds_app.start")
KEEP_FROZEN_RUNS = 3
V21_NOT_SYNCED = (
    "SDS v2.1 files go to School Data Sync only, and this deployment syncs to its own tables "
    "(SDS_SYNC_TARGET includes directory): upload the classic six files, or set "
    "SDS_SYNC_TARGET=schoolDataSync to forward these."
)
MAX_ATTEMPTS = 5


class TooLargeToVerifyInline(Exception):
    """The stored result is stale and the uploads exceed SDS_INLINE_VERIFY_MAX_BYTES."""


class EnqueueFailed(Exception):
    """The run message could not be sent; the profile was left startable."""


@dataclass(frozen=True)
class Started:
    """What `start` answers: the messages, and whether a run was queued."""

    result: VerificationResult
    run_id: str | None


def start(account: StorageAccount, settings: Settings, record: ProfileRecord) -> Started:
    """Verify (if the stored result is stale), then either refuse the files or queue one run.

    ProfileGone when the profile is deleted meanwhile; what this call wrote is removed first.
    """
    try:
        return _start(account, settings, record)
    except ProfileGone:
        purge_data(account, record.profile.id)
        raise


def _start(account: StorageAccount, settings: Settings, record: ProfileRecord) -> Started:
    refusal = run_status.start_refusal(record.run)
    if refusal:
        raise run_status.Refused(refusal)
    profile_id = record.profile.id
    for _ in range(MAX_ATTEMPTS):
        folder = current_folder(account, record, settings)
        result = VerificationStore(account, profile_id).result(folder.fingerprint)
        if result is None:
            if folder.size > settings.inline_verify_max_bytes:
                raise TooLargeToVerifyInline(folder.fingerprint)
            folder, result = verify_current(account, record, settings)
        if folder.options.format == V21_NAME and settings.to_directory:
            result = _v21_not_synced(result)
        elif settings.to_school_data_sync:
            result = _with_dropped_class_files(result, record, folder)
        if result.has_errors:
            if record.status.status != run_status.SyncStatus.VALIDATION_ERROR:
                _refuse(account, profile_id)  # already refused for these files: nothing to write
            return Started(result, None)
        try:
            run_id = _queue_run(account, profile_id, folder, result)
        except UploadChanged:
            continue  # a file changed after verification: verify what is there now
        return Started(result, run_id)
    raise UploadChanged("the uploads kept changing")


def _v21_not_synced(result: VerificationResult) -> VerificationResult:
    """An Error among the messages: v2.1 files go to School Data Sync only, not to the tables."""
    refusal = {"type": "Error", "fileName": "orgs.csv", "description": V21_NOT_SYNCED}
    messages = sorted([*result.messages, refusal], key=lambda m: m["fileName"])
    return result.model_copy(update={"messages": messages, "has_errors": True})


def _with_dropped_class_files(
    result: VerificationResult, record: ProfileRecord, folder: Folder
) -> VerificationResult:
    """Message 23 among the messages: the new SDS takes each upload as the whole data set."""
    if record.run is None:
        return result
    dropped = dropped_class_files(record.run.snapshots, [u.name for u in folder.uploads])
    if not dropped:
        return result
    # Stable: the verification's own order within a file is kept, the warnings join by file name.
    messages = sorted([*result.messages, *(m.graph() for m in dropped)], key=lambda m: m["fileName"])
    return result.model_copy(update={"messages": messages})


def _refuse(account: StorageAccount, profile_id: str) -> None:
    now = datetime.now(UTC)

    def failed(current: ProfileRecord) -> ProfileRecord:
        transition = run_status.validation_failed(current.status, current.run, now)
        return current.model_copy(update={"status": transition.status, "run": transition.run})

    ProfileStore(account).update_live(profile_id, failed)


def _queue_run(account: StorageAccount, profile_id: str, folder: Folder, result: VerificationResult) -> str:
    """Freeze the verified files, record the run (If-Match: one winner), enqueue it."""
    uploads = UploadFolder(account, profile_id)
    run_id = str(uuid.uuid4())
    file_format = folder.options.format
    frozen: dict[str, run_status.FrozenFile] = {}
    for upload in folder.uploads:
        # v1 names match in any case (kept lower-case); v2.1 names are exact (case-sensitive).
        name = upload.name.lower() if file_format == V1_NAME else upload.name
        if name in (FILES_BY_NAME if file_format == V1_NAME else V21_FILE_NAMES):
            snapshot = uploads.freeze(upload, run_id)
            frozen[name] = run_status.FrozenFile(
                blob=uploads.blob_name(upload), snapshot=snapshot, etag=upload.etag
            )
    now = datetime.now(UTC)
    previous: dict[str, object] = {}

    def queued(current: ProfileRecord) -> ProfileRecord:
        previous["status"], previous["run"] = current.status, current.run
        transition = run_status.start(
            current.status, current.run, run_id, frozen, now, file_format
        )
        return current.model_copy(update={"status": transition.status, "run": transition.run})

    store = ProfileStore(account)
    try:
        record = store.update_live(profile_id, queued)
    except (run_status.Refused, ProfileGone):
        uploads.drop_run(run_id)  # another start won: its snapshots are not needed
        raise
    try:
        enqueue_run(account, run_status.SyncMessage.for_run(profile_id, record.run, "start"))
    except Exception as failure:
        _LOG.exception("Enqueueing run %s of profile %s failed", run_id, profile_id)
        _undo(store, profile_id, record, previous)
        uploads.drop_run(run_id)
        raise EnqueueFailed(run_id) from failure
    VerificationStore(account, profile_id).set_state(last_run_fingerprint=folder.fingerprint)
    try:
        uploads.prune_snapshots(run_id, KEEP_FROZEN_RUNS)
    except Exception:  # noqa: BLE001 - retention is housekeeping; the run is queued
        _LOG.exception("Pruning frozen snapshots of profile %s failed", profile_id)
    return run_id


def _undo(store: ProfileStore, profile_id: str, queued: ProfileRecord, previous: dict[str, object]) -> None:
    """Put status and run back as they were, unless something else changed them since."""

    def restore(current: ProfileRecord) -> ProfileRecord:
        if current.run == queued.run and current.status == queued.status:
            return current.model_copy(update={"status": previous["status"], "run": previous["run"]})
        return current

    store.update(profile_id, restore)
