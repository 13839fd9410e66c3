"""Sync run status of a profile: the status table of decisions.md as pure transitions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer
from pydantic.alias_generators import to_camel

from sds_core.schooldatasync.state import Forwarding, Stage
from sds_core.text import inert

SCHEMA_VERSION = 1
NOT_STARTED = "Not started: upload the files, then call start."
QUEUED = "Queued"
PAUSED = "Paused"
RESUMED = "Resumed: queued"
RESET = "Reset: errors cleared, the last frozen files are queued to sync again"
FORWARDED_NO_PAUSE = (
    "The files were forwarded to School Data Sync, which cannot be paused: wait for its run to "
    "end, or call reset to forward the last frozen files again."
)
VALIDATION_FAILED = "The uploaded files have errors: see the verification messages of start."


# statusMessage holds outside text (file names, Graph's error messages): it is one line, inert,
# whoever writes it. Validated when a model is built or read, and again when it is written out,
# because model_copy(update=...) builds without validating.
StatusMessage = Annotated[str, AfterValidator(inert), PlainSerializer(inert, return_type=str)]


class SyncStatus(StrEnum):
    """educationSynchronizationStatus, in metadata order."""

    PAUSED = "paused"
    IN_PROGRESS = "inProgress"
    SUCCESS = "success"
    ERROR = "error"
    VALIDATION_ERROR = "validationError"
    QUARANTINED = "quarantined"
    UNKNOWN_FUTURE_VALUE = "unknownFutureValue"
    EXTRACTING = "extracting"
    VALIDATING = "validating"


# Members after unknownFutureValue are shown only to clients that send
# `Prefer: include-unknown-enum-members` (Graph's evolvable-enum rule).
_EVOLVED = {SyncStatus.EXTRACTING, SyncStatus.VALIDATING}


class RunState(StrEnum):
    """Lifecycle of one sync run."""

    QUEUED = "queued"
    IN_PROGRESS = "inProgress"
    PAUSED = "paused"
    SUCCESS = "success"
    ERROR = "error"


OPEN_RUN_STATES = frozenset({RunState.QUEUED, RunState.IN_PROGRESS, RunState.PAUSED})
BUSY_RUN_STATES = frozenset({RunState.QUEUED, RunState.IN_PROGRESS})
RunReason = Literal["start", "reset", "resume"]
# "delete": not a run; the worker purges what the app keeps for a profile being deleted.
MessageReason = Literal["start", "reset", "resume", "delete"]


class _Stored(BaseModel):
    """Stored JSON with Graph camelCase names; unknown fields survive a read-modify-write."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="allow", serialize_by_alias=True
    )


class FrozenFile(_Stored):
    """A blob snapshot taken when a run was enqueued."""

    blob: str
    snapshot: str
    etag: str


class Run(_Stored):
    """The current or last sync run of a profile."""

    run_id: str
    state: RunState
    reason: RunReason = "start"
    snapshots: dict[str, FrozenFile] = Field(default_factory=dict)
    file_format: str = "v1"
    """The CSV format of the frozen files: "v1" (the classic six) or "v2.1" (the new SDS's own)."""
    enqueued_date_time: datetime
    forwarding: Forwarding | None = None
    """Progress of the forwarding to School Data Sync (SDS_SYNC_TARGET), once it began."""

    @property
    def forwarded(self) -> bool:
        """The files reached School Data Sync (validate was called): it cannot be paused there."""
        return self.forwarding is not None and (
            self.forwarding.operation is not None or self.forwarding.stage != Stage.UPLOADING
        )

    @property
    def is_open(self) -> bool:
        """Queued, in progress or paused."""
        return self.state in OPEN_RUN_STATES

    @property
    def is_busy(self) -> bool:
        """Queued or in progress: uploads are blocked."""
        return self.state in BUSY_RUN_STATES


class StatusFields(_Stored):
    """The stored fields of profileStatus (errorCount is counted from the error store)."""

    status: SyncStatus = SyncStatus.PAUSED
    status_message: StatusMessage = NOT_STARTED
    last_activity_date_time: datetime | None = None
    last_synchronization_date_time: datetime | None = None


class ProfileStatusView(BaseModel):
    """educationSynchronizationProfileStatus as served on GET .../profileStatus."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True
    )

    id: str
    status: SyncStatus
    status_message: StatusMessage
    error_count: int
    last_activity_date_time: datetime | None
    last_synchronization_date_time: datetime | None


def status_view(
    profile_id: str, fields: StatusFields, error_count: int, include_unknown_enum_members: bool
) -> ProfileStatusView:
    """The served status; evolvable members become unknownFutureValue unless the client opted in."""
    status = fields.status
    if status in _EVOLVED and not include_unknown_enum_members:
        status = SyncStatus.UNKNOWN_FUTURE_VALUE
    return ProfileStatusView(
        id=profile_id,
        status=status,
        status_message=fields.status_message,
        error_count=error_count,
        last_activity_date_time=fields.last_activity_date_time,
        last_synchronization_date_time=fields.last_synchronization_date_time,
    )


class SyncErrorEntry(BaseModel):
    """educationSynchronizationError: one entry the sync could not write."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True
    )

    id: str
    entry_type: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    joining_value: str | None = None
    recorded_date_time: datetime | None = None
    reportable_identifier: str | None = None


class SyncMessage(BaseModel):
    """A message on the sds-sync queue: which run of which profile to work on, and why."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True
    )

    schema_version: int = SCHEMA_VERSION
    profile_id: str
    run_id: str
    reason: MessageReason
    snapshots: dict[str, str] = Field(default_factory=dict)
    """Snapshot id of each frozen file (also in the profile record's run), for the logs and checks."""
    check: int | None = None
    """A forwarding re-check: the number the run's `forwarding.check` must have (None: the run's first)."""

    @classmethod
    def for_purge(cls, profile_id: str, purge_id: str) -> SyncMessage:
        """The message that has the worker purge a profile being deleted."""
        return cls(profile_id=profile_id, run_id=purge_id, reason="delete")

    @classmethod
    def for_run(cls, profile_id: str, run: Run, reason: RunReason) -> SyncMessage:
        """The message that queues `run`."""
        frozen = {name: file.snapshot for name, file in run.snapshots.items()}
        return cls(profile_id=profile_id, run_id=run.run_id, reason=reason, snapshots=frozen)


class Refused(Exception):
    """A transition the status table does not allow (HTTP 409 conflict)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Transition(BaseModel):
    """Status and run after an allowed event; `enqueue` names the reason of the message to send."""

    status: StatusFields
    run: Run | None
    enqueue: RunReason | None = None


def _moved(fields: StatusFields, status: SyncStatus, message: str, now: datetime) -> StatusFields:
    return fields.model_copy(
        update={"status": status, "status_message": message, "last_activity_date_time": now}
    )


def pause(fields: StatusFields, run: Run | None, now: datetime) -> Transition:
    """Pause: allowed while the status is inProgress; the worker stops at its next batch."""
    if fields.status != SyncStatus.IN_PROGRESS or run is None or not run.is_busy:
        raise Refused("Only a synchronization in progress can be paused.")
    if run.forwarded:
        raise Refused(FORWARDED_NO_PAUSE)
    return Transition(
        status=_moved(fields, SyncStatus.PAUSED, PAUSED, now),
        run=run.model_copy(update={"state": RunState.PAUSED}),
    )


def resume(fields: StatusFields, run: Run | None, now: datetime) -> Transition:
    """Resume: allowed when paused with an open run; the run is queued again where it stopped."""
    if fields.status != SyncStatus.PAUSED or run is None or run.state != RunState.PAUSED:
        raise Refused("Only a paused synchronization can be resumed.")
    return Transition(
        status=_moved(fields, SyncStatus.IN_PROGRESS, RESUMED, now),
        run=run.model_copy(update={"state": RunState.QUEUED, "reason": "resume"}),
        enqueue="resume",
    )


def reset(fields: StatusFields, run: Run | None, new_run_id: str, now: datetime) -> Transition:
    """Reset: allowed once a run exists; a new run syncs the last frozen files again."""
    if run is None:
        raise Refused("There is no synchronization to reset: call start first.")
    fresh = run.model_copy(
        update={
            "run_id": new_run_id,
            "state": RunState.QUEUED,
            "reason": "reset",
            "enqueued_date_time": now,
            "forwarding": None,
        }
    )
    return Transition(
        status=_moved(fields, SyncStatus.IN_PROGRESS, RESET, now), run=fresh, enqueue="reset"
    )


def start_refusal(run: Run | None) -> str | None:
    """Why `start` may not enqueue a run now (None when it may)."""
    if run is not None and run.is_open:
        return "A synchronization is already queued, in progress or paused."
    return None


def start(
    fields: StatusFields,
    run: Run | None,
    new_run_id: str,
    snapshots: dict[str, FrozenFile],
    now: datetime,
    file_format: str = "v1",
) -> Transition:
    """Start without verification Errors: a new run with the frozen files is queued."""
    refusal = start_refusal(run)
    if refusal:
        raise Refused(refusal)
    fresh = Run(
        run_id=new_run_id,
        state=RunState.QUEUED,
        reason="start",
        snapshots=snapshots,
        file_format=file_format,
        enqueued_date_time=now,
    )
    return Transition(
        status=_moved(fields, SyncStatus.IN_PROGRESS, QUEUED, now), run=fresh, enqueue="start"
    )


def validation_failed(fields: StatusFields, run: Run | None, now: datetime) -> Transition:
    """Start found an Error: status validationError, nothing queued, an open run is kept."""
    refusal = start_refusal(run)
    if refusal:
        raise Refused(refusal)
    return Transition(
        status=_moved(fields, SyncStatus.VALIDATION_ERROR, VALIDATION_FAILED, now), run=run
    )
