"""The forwarding state machine: stage texts, the re-check schedule, deadlines, outcomes.

A run's files go through: an upload session (resetSession=true), the uploads, `validate`, the
validate operation followed to its end, a tenant-wide run (`runs/start` names no flow, so one run
covers every profile's files), the run followed to its end, and its statistics. Each step is one
queue delivery; waiting is a queue message with a visibility delay (`next_delay`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sds_core.models.status import SyncErrorEntry
from sds_core.schooldatasync.state import Stage, TenantRun

UPLOADING = "Uploading to School Data Sync"
VALIDATING = "School Data Sync is validating the files"
STARTING = "Starting a School Data Sync run"
RUNNING = "School Data Sync run {run_id}: running"
WAITING_FOR_OTHERS = (
    "Validated; waiting for School Data Sync to validate the files of {count} other profile(s), "
    "so that one run takes them all"
)
WAITING_FOR_RUN = (
    "School Data Sync run {run_id} started before these files were validated: a new run starts "
    "when it ends"
)
THROTTLED = (
    "School Data Sync allows no run now (at most 5 on-demand runs in 12 hours): the validated "
    "files wait for the next run; the next try is at {until}"
)
REFUSED = "School Data Sync refused the files: {errors} validation error(s), {warnings} warning(s) (see errors)."
VALIDATION_FAILED = (
    "School Data Sync could not validate the files: operation {status} (see errors)."
)
RUN_FAILED = "School Data Sync run {run_id} failed: {message}"
RUN_DONE = (
    "School Data Sync run {run_id}: {status}. {people} people, {groups} groups, {memberships} "
    "memberships, {organizations} organizations; {errors} record(s) left out, {warnings} "
    "warning(s) (per-record logs are in the School Data Sync portal)."
)
DEADLINE_PASSED = "Stopped waiting: {what} within {hours}."

# Re-checks: validation every 5 s at first (Microsoft: no more often), then every 15, then 30 s;
# a run first within 30 s, doubling to at most 10 minutes.
VALIDATION_FAST_CHECKS = 12
RUN_FIRST_DELAY = 30
RUN_MAX_DELAY = 600
CLAIM_WAIT = 5  # seconds between looks while another worker asks for a run
CLAIM_TTL = timedelta(minutes=2)  # a claim older than this is a worker that stopped
VALIDATING_TTL = timedelta(
    minutes=2
)  # each validation look refreshes its entry (at most 30 s apart)
THROTTLE_DEFAULT = timedelta(hours=1)  # when the refusal says no Retry-After
DEADLINES = {
    Stage.UPLOADING: timedelta(hours=1),
    Stage.VALIDATING: timedelta(hours=2),
    Stage.STARTING: timedelta(hours=24),
    Stage.RUNNING: timedelta(hours=24),
}
_WAITED_FOR = {
    Stage.UPLOADING: "the upload to School Data Sync did not finish",
    Stage.VALIDATING: "School Data Sync did not finish validating the files (operation {ref})",
    Stage.STARTING: "School Data Sync did not allow a run for the validated files",
    Stage.RUNNING: "School Data Sync run {ref} did not end",
}
ENTRY_TYPES = {
    "school.csv": "School",
    "section.csv": "Section",
    "student.csv": "Student",
    "teacher.csv": "Teacher",
    "studentenrollment.csv": "StudentEnrollment",
    "teacherroster.csv": "TeacherRoster",
}
RUN_ENDED = {"failed", "completed", "completedWithErrors", "completedWithWarnings"}
MAX_ENTRIES = 1000  # a validation answer is untrusted: bounded
MAX_TEXT = 1000
_ENTRY_IDS = uuid.UUID("5b0e4c1e-8a0c-4a53-9d55-8f0f6c2a4e10")


def next_delay(stage: Stage, checks_in_stage: int) -> int:
    """Seconds until the next re-check of a stage, after `checks_in_stage` checks in it."""
    if stage == Stage.VALIDATING:
        if checks_in_stage < VALIDATION_FAST_CHECKS:
            return 5
        return 15 if checks_in_stage < 2 * VALIDATION_FAST_CHECKS else 30
    if stage == Stage.RUNNING:
        return min(RUN_MAX_DELAY, RUN_FIRST_DELAY * 2 ** min(checks_in_stage, 10))
    return CLAIM_WAIT


def deadline_message(stage: Stage, since: datetime, now: datetime, ref: str | None) -> str | None:
    """The `error` statusMessage when the stage has waited past its deadline; None before."""
    limit = DEADLINES[stage]
    if now - since <= limit:
        return None
    what = _WAITED_FOR[stage].format(ref=ref or "?")
    hours = limit.total_seconds() / 3600
    return DEADLINE_PASSED.format(what=what, hours="1 hour" if hours == 1 else f"{hours:g} hours")


@dataclass(frozen=True)
class Issue:
    """One validation error or warning of the new SDS, as data."""

    warning: bool
    file: str
    code: str
    message: str


@dataclass(frozen=True)
class OperationVerdict:
    """What a validate operation says: still running, refused (errors) or accepted."""

    finished: bool
    refused: bool
    status: str
    issues: tuple[Issue, ...]

    @property
    def errors(self) -> int:
        return sum(1 for i in self.issues if not i.warning)

    @property
    def warnings(self) -> int:
        return sum(1 for i in self.issues if i.warning)


def _text(value: Any, limit: int = MAX_TEXT) -> str:
    return str(value)[:limit] if value is not None else ""


def _issues(values: Any, warning: bool) -> list[Issue]:
    if not isinstance(values, list):
        return []
    found = []
    for item in values[:MAX_ENTRIES]:
        if isinstance(item, dict):
            found.append(
                Issue(
                    warning=warning,
                    file=_text(item.get("target"), 256),
                    code=_text(item.get("code"), 200) or "unknown",
                    message=_text(item.get("message")),
                )
            )
    return found


def judge_operation(operation: dict[str, Any]) -> OperationVerdict:
    """Judge `errors`, not `status`: `succeeded` with errors is a refusal."""
    status = _text(operation.get("status"), 50)
    issues = _issues(operation.get("errors"), False) + _issues(operation.get("warnings"), True)
    finished = status not in ("notStarted", "running", "")
    refused = finished and (status != "succeeded" or any(not i.warning for i in issues))
    return OperationVerdict(finished=finished, refused=refused, status=status, issues=tuple(issues))


def refusal_message(verdict: OperationVerdict) -> str:
    """statusMessage of a refused validation."""
    if verdict.errors:
        return REFUSED.format(errors=verdict.errors, warnings=verdict.warnings)
    return VALIDATION_FAILED.format(status=verdict.status)


@dataclass(frozen=True)
class RunVerdict:
    """What a run says: still running, failed (with its blocking error) or ended."""

    finished: bool
    failed: bool
    status: str
    blocking: Issue | None


def judge_run(run: dict[str, Any]) -> RunVerdict:
    """A run ends in failed, completed, completedWithErrors or completedWithWarnings."""
    status = _text(run.get("status"), 50)
    blocking = (
        _issues([run["blockingError"]], False) if isinstance(run.get("blockingError"), dict) else []
    )
    finished = status in RUN_ENDED or (status not in ("running", "") and bool(blocking))
    failed = status == "failed" or (finished and bool(blocking))
    return RunVerdict(finished, failed, status, blocking[0] if blocking else None)


def run_failed_message(run_id: str, verdict: RunVerdict) -> str:
    """statusMessage of a failed run, naming its blocking error."""
    message = verdict.blocking.message if verdict.blocking else f"status {verdict.status}"
    return RUN_FAILED.format(run_id=run_id, message=message or verdict.blocking.code)  # type: ignore[union-attr]


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def run_done_message(run_id: str, status: str, statistics: dict[str, Any]) -> str:
    """statusMessage of an ended run, with the counts of its statistics."""
    totals = (
        statistics.get("inboundTotals") if isinstance(statistics.get("inboundTotals"), dict) else {}
    )
    return RUN_DONE.format(
        run_id=run_id,
        status=status,
        **{
            k: _count(totals.get(k))
            for k in ("people", "groups", "memberships", "organizations", "errors", "warnings")
        },
    )


def issue_entries(
    key: str, issues: list[Issue] | tuple[Issue, ...], now: datetime
) -> list[SyncErrorEntry]:
    """educationSynchronizationError entries of validation issues (ids stable per key and position)."""
    return [
        SyncErrorEntry(
            id=str(uuid.uuid5(_ENTRY_IDS, f"{key}/{i}")).upper(),
            entry_type=ENTRY_TYPES.get(issue.file.lower(), "File"),
            error_code=issue.code,
            error_message=f"Warning: {issue.message}" if issue.warning else issue.message,
            joining_value=issue.file or None,
            recorded_date_time=now,
            reportable_identifier=issue.file or None,
        )
        for i, issue in enumerate(issues)
    ]


@dataclass(frozen=True)
class StartDecision:
    """What a validated run does about the tenant's run."""

    action: str  # join | wait_claim | wait_others | wait_run | throttled | claim
    run_id: str | None = None
    until: datetime | None = None
    others: int = 0


def others_validating(tenant: TenantRun, profile_id: str, now: datetime) -> int:
    """How many other profiles' validations are under way (entries refreshed within VALIDATING_TTL)."""
    return sum(
        1
        for pid, seen in tenant.validating.items()
        if pid != profile_id and now - seen < VALIDATING_TTL
    )


def decide_start(
    tenant: TenantRun | None, validated: datetime, now: datetime, profile_id: str = ""
) -> StartDecision:
    """Join a run requested after our validation ended, or wait, or ask for one.

    A run includes the files validated before it was requested: one requested at or after our
    validation (both times from the app's clock, the request's taken before calling) has ours.
    Before asking for a run, wait while other profiles' files are still being validated: runs
    are few (5 on demand in 12 hours) and each covers every flow, so profiles started together
    share one.
    """
    if tenant is None:
        return StartDecision("claim")
    if tenant.run_id and tenant.requested_date_time and tenant.requested_date_time >= validated:
        return StartDecision("join", tenant.run_id)
    if tenant.claim_id and tenant.claim_date_time and now - tenant.claim_date_time < CLAIM_TTL:
        return StartDecision("wait_claim")
    if tenant.throttled_until and tenant.throttled_until > now:
        return StartDecision("throttled", until=tenant.throttled_until)
    if tenant.run_id and not tenant.ended:
        return StartDecision("wait_run", tenant.run_id)
    others = others_validating(tenant, profile_id, now)
    if others:
        return StartDecision("wait_others", others=others)
    return StartDecision("claim")
