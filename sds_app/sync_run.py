"""One sync run's orchestration, called by the sds-sync queue triggers (blueprints/sync_worker.py).

A run reads the frozen snapshots of its files, plans against the profile's baseline and applies
the plan in batches. After each batch it records a checkpoint (run id, steps done) and reads the
profile record: a pause stops it there, a newer run (reset) makes it stale. Redelivered, it
plans again from the same snapshots and baseline (the baseline only moves when a run succeeds)
and continues from the checkpoint; the writes are idempotent, so repeating a batch is harmless.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import azure.functions as func
from azure.core.exceptions import ResourceNotFoundError
from pydantic import ValidationError

from sds_app import telemetry
from sds_app.forwarder import Forwarder, Superseded
from sds_app.graph import get_graph
from sds_app.graph.upload import UploadFile
from sds_app.session_upload import from_blob
from sds_app.settings import (
    UPLOAD_CONTAINER,
    get_settings,
)
from sds_app.storage.account import StorageAccount
from sds_app.storage.directory import SyncStateStore, TableDirectory
from sds_app.storage.documents import DocumentMissing
from sds_app.storage.profiles import ProfileGone, ProfileStore
from sds_app.storage.purge import purge_data, purge_deleted
from sds_app.storage.sync_errors import SyncErrorStore
from sds_core.models.profiles import ProfileRecord, ProfileState
from sds_core.models.status import RunState, SyncErrorEntry, SyncMessage, SyncStatus
from sds_core.schooldatasync.state import Forwarding
from sds_core.sync import (
    Batch,
    SyncIssue,
    SyncOptions,
    apply_plan,
    dump_baseline,
    load_baseline,
    plan_sync,
    read_source,
)


log = logging.getLogger("sds_app.sync")

BATCH_STEPS = 2000  # steps between checkpoints: where a pause takes effect
MAX_DEQUEUE_COUNT = 5  # host.json extensions.queues.maxDequeueCount
READING = "Reading the frozen files"
PLANNING = "Comparing the files with the last synchronization"
FAILED_REPEATEDLY = (
    "The synchronization failed repeatedly and was stopped; call reset to try again."
)
_ERROR_IDS = uuid.UUID("0d7c5b7e-2f5a-4a51-9a39-3c7f0e8b6a21")


class Stop(Exception):
    """The run must not go on: paused, superseded by a reset, finished, or the profile is gone."""


class Gone(Stop):
    """The profile is deleted or being deleted: the run stops and removes what it wrote."""


def _now() -> datetime:
    return datetime.now(UTC)


def _delay(seconds: int) -> int:
    """The visibility delay of a forwarding re-check (tests record the asks and wait 0)."""
    return seconds


def _error_entries(
    run_id: str, issues: list[SyncIssue], start: int, now: datetime
) -> list[SyncErrorEntry]:
    # Ids from the run and the position: a redelivered run writes the same rows again.
    return [
        SyncErrorEntry(
            id=str(uuid.uuid5(_ERROR_IDS, f"{run_id}/{start + i}")).upper(),
            entry_type=issue.entry_type,
            error_code=issue.error_code,
            error_message=issue.error_message,
            joining_value=issue.joining_value,
            recorded_date_time=now,
            reportable_identifier=issue.reportable_identifier,
        )
        for i, issue in enumerate(issues)
    ]


class SyncRun:
    """One delivery of one run message."""

    def __init__(self, account: StorageAccount, message: SyncMessage, dequeue_count: int = 1) -> None:
        self.account = account
        self.message = message
        self.dequeue_count = dequeue_count
        self.profiles = ProfileStore(account)
        self.errors = SyncErrorStore(account)
        self.state = SyncStateStore(account)
        self.target = TableDirectory(account)
        self.pid = message.profile_id

    def _move(
        self,
        message: str,
        status: SyncStatus | None = None,
        run_state: RunState | None = None,
        synced: bool = False,
        whatever_state: bool = False,
        forward: Callable[[Forwarding | None], Forwarding] | None = None,
    ) -> ProfileRecord:
        """Update the status of our run; Stop when the run is no longer ours to work on."""
        now = _now()

        def mutate(record: ProfileRecord) -> ProfileRecord:
            run = record.run
            if run is None or run.run_id != self.message.run_id:
                raise Stop(f"run {self.message.run_id} was superseded")
            if run.state == RunState.PAUSED and not whatever_state:
                raise Stop("paused")
            if run.state in (RunState.SUCCESS, RunState.ERROR) and not whatever_state:
                raise Stop(f"already ended ({run.state.value})")
            fields = {"status_message": message, "last_activity_date_time": now}
            if status is not None:
                fields["status"] = status
            if synced:
                fields["last_synchronization_date_time"] = now
            new_run = run.model_copy(update={"state": run_state}) if run_state else run
            if forward is not None:
                new_run = new_run.model_copy(update={"forwarding": forward(run.forwarding)})
            return record.model_copy(
                update={"status": record.status.model_copy(update=fields), "run": new_run}
            )

        try:
            return self.profiles.update_live(self.pid, mutate)
        except ProfileGone as gone:
            raise Gone(str(gone)) from None

    def execute(self) -> None:
        """Run, or continue, the run: the directory part, then the forwarding (SDS_SYNC_TARGET)."""
        settings = get_settings()
        if settings.to_school_data_sync:
            found = self.profiles.get(self.pid)
            run = found[0].run if found else None
            if run is not None and run.run_id == self.message.run_id and (
                run.forwarding is not None or self.message.check is not None or not settings.to_directory
            ):
                self._forward(found[0])  # type: ignore[index]
                return
        if self.message.check is not None:
            log.info("Dropped a forwarding re-check of profile %s: not forwarding", self.pid)
            return
        if self._directory() and settings.to_school_data_sync:
            found = self.profiles.get(self.pid)
            if found is not None:
                self._forward(found[0])

    def _forward(self, record: ProfileRecord) -> None:
        """One step of the forwarding to School Data Sync."""
        if record.is_gone:
            raise Gone(f"profile {self.pid} is being deleted")
        forwarder = Forwarder(
            self.account, self.message, get_graph(), self._move, lambda: _now(),
            lambda seconds: _delay(seconds), self.dequeue_count,
            clear_errors=not get_settings().to_directory,
        )
        forwarder.step(record, lambda name: self._file(record, name))

    def _directory(self) -> bool:
        """Run, or continue, the directory part; whether it finished."""
        record = self._move(READING, SyncStatus.IN_PROGRESS, RunState.IN_PROGRESS)
        checkpoint = self.state.load_checkpoint(self.pid) or {}
        done = (
            int(checkpoint.get("done", 0)) if checkpoint.get("runId") == self.message.run_id else 0
        )
        if checkpoint.get("runId") != self.message.run_id:
            # A new run: last run's errors go; a reset also forgets the baseline.
            self.errors.clear(self.pid)
            if self.message.reason == "reset":
                self.state.drop_baseline(self.pid)
            self.state.save_checkpoint(
                self.pid, {"runId": self.message.run_id, "done": 0, "errors": 0}
            )
            checkpoint = {"runId": self.message.run_id, "done": 0, "errors": 0}
        files = self._files(record)
        options = SyncOptions.from_profile(
            record.profile.model_dump(mode="json", by_alias=True), _now()
        )
        source = read_source(files, options)
        self._move(PLANNING)
        plan = plan_sync(
            self.pid, source, options, load_baseline(self.state.load_baseline(self.pid))
        )
        errors = int(checkpoint.get("errors", 0))
        if done == 0 and plan.issues:
            self.errors.add_many(
                self.pid, _error_entries(self.message.run_id, plan.issues, 0, _now())
            )
        errors = max(errors, len(plan.issues))
        progress = {"errors": errors}

        def after_batch(batch: Batch) -> bool:
            if batch.issues:
                start = progress["errors"]
                self.errors.add_many(
                    self.pid, _error_entries(self.message.run_id, list(batch.issues), start, _now())
                )
                progress["errors"] += len(batch.issues)
            self.state.save_checkpoint(
                self.pid,
                {"runId": self.message.run_id, "done": batch.done, "errors": progress["errors"]},
            )
            try:
                self._move(f"{batch.stage} ({batch.done} of {batch.total})")
            except Gone:
                raise  # not a pause: the profile's rows must go, not wait
            except Stop as stop:
                log.info(
                    "Sync of profile %s run %s stops after %d of %d steps: %s",
                    self.pid,
                    self.message.run_id,
                    batch.done,
                    batch.total,
                    stop,
                )
                return False
            return True

        applied = apply_plan(plan, self.target, done, BATCH_STEPS, after_batch)
        telemetry.record_sync_applied(applied - done)
        finished = applied >= len(plan.steps)
        if not finished:
            return False
        self.state.save_baseline(self.pid, dump_baseline(plan.baseline))
        counts = plan.counts()
        summary = (
            f"Synchronized: {counts['add']} added, {counts['update']} updated, "
            f"{counts['deactivate']} deactivated, {counts['remove']} removed, "
            f"{progress['errors']} not synced (see errors)."
        )
        log.info("Sync of profile %s run %s: %s", self.pid, self.message.run_id, summary)
        if get_settings().to_school_data_sync:
            return True  # the run goes on: forwarding
        self._move(summary, SyncStatus.SUCCESS, RunState.SUCCESS, synced=True)
        return True

    def _file(self, record: ProfileRecord, name: str) -> UploadFile:
        """One frozen file, as verified, streamed from its snapshot when it is sent."""
        assert record.run is not None
        frozen = record.run.snapshots[name]
        container = self.account.blobs.get_container_client(UPLOAD_CONTAINER)
        return from_blob(name, container.get_blob_client(frozen.blob, snapshot=frozen.snapshot))

    def _files(self, record: ProfileRecord) -> dict[str, bytes]:
        container = self.account.blobs.get_container_client(UPLOAD_CONTAINER)
        files: dict[str, bytes] = {}
        for name, frozen in (record.run.snapshots if record.run else {}).items():
            data = (
                container.get_blob_client(frozen.blob, snapshot=frozen.snapshot)
                .download_blob(decompress=False)  # the bytes verified, as stored
                .readall()
            )
            files[name] = data
        return files

    def fail(self, message: str, whatever_state: bool = False) -> None:
        """End the run with status error (`whatever_state`: even if paused or ended)."""
        try:
            self._move(message, SyncStatus.ERROR, RunState.ERROR, whatever_state=whatever_state)
        except Stop as stop:
            log.info("Profile %s run %s not set to error: %s", self.pid, self.message.run_id, stop)


def _message(body: bytes) -> SyncMessage | None:
    try:
        message = SyncMessage.model_validate(json.loads(body))
    except (ValueError, ValidationError):
        return None
    return message if message.schema_version == 1 else None


def handle_sync(msg: func.QueueMessage, account: StorageAccount) -> None:
    """Work on one sds-sync message; exceptions go back to the host, which retries, then poisons."""
    message = _message(msg.get_body())
    if message is None:
        log.error("Dropped an sds-sync message that is not a run message (id %s)", msg.id)
        return
    telemetry.bind_profile(message.profile_id)
    telemetry.record_queue_age(msg.insertion_time)
    if message.reason == "delete":
        _purge(account, message.profile_id, msg.dequeue_count or 0)
        return
    run = SyncRun(account, message, msg.dequeue_count or 1)
    log.info(
        "Sync of profile %s run %s (%s), delivery %s",
        message.profile_id,
        message.run_id,
        message.reason,
        msg.dequeue_count,
    )
    try:
        run.execute()
    except Gone as gone:
        log.info("Profile %s run %s stopped: %s; removing what it wrote",
                 message.profile_id, message.run_id, gone)
        purge_data(account, message.profile_id)
    except (Stop, Superseded) as stop:
        log.info(
            "Dropped the message of profile %s run %s: %s", message.profile_id, message.run_id, stop
        )
    except ResourceNotFoundError:
        log.exception(
            "Profile %s run %s: a frozen file is gone", message.profile_id, message.run_id
        )
        run.fail(
            "The frozen files of this synchronization are gone; upload the files and call start."
        )
    except Exception:
        if (msg.dequeue_count or 0) >= MAX_DEQUEUE_COUNT:
            # The last delivery: the message goes to the poison queue; say so now.
            run.fail(FAILED_REPEATEDLY)
        raise


def _purge(account: StorageAccount, profile_id: str, dequeue_count: int) -> None:
    """Purge a profile being deleted; on the last failed delivery it becomes deletionFailed."""
    try:
        if not purge_deleted(account, profile_id):
            log.info("Purge of profile %s dropped: the profile is not being deleted", profile_id)
            return
    except Exception:
        if dequeue_count >= MAX_DEQUEUE_COUNT:
            _deletion_failed(account, profile_id)
        raise
    log.info("Profile %s purged", profile_id)


def _deletion_failed(account: StorageAccount, profile_id: str) -> None:
    """State deletionFailed: a new DELETE queues the purge again."""

    def failed(record: ProfileRecord) -> ProfileRecord:
        if record.is_gone:
            record.profile.state = ProfileState.DELETION_FAILED
        return record

    try:
        ProfileStore(account).update(profile_id, failed)
    except DocumentMissing:
        pass


def handle_poison(msg: func.QueueMessage, account: StorageAccount) -> None:
    """A run message the host gave up on: its profile's status becomes error."""
    message = _message(msg.get_body())
    if message is None:
        log.error("Dropped an sds-sync-poison message that is not a run message (id %s)", msg.id)
        return
    telemetry.bind_profile(message.profile_id)
    if message.reason == "delete":
        log.error("The purge of profile %s failed repeatedly (poison queue)", message.profile_id)
        _deletion_failed(account, message.profile_id)
        return
    log.error(
        "Profile %s run %s failed repeatedly (poison queue)", message.profile_id, message.run_id
    )
    SyncRun(account, message).fail(FAILED_REPEATEDLY, whatever_state=True)
