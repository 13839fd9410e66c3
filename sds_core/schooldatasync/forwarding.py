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

from sds_core.models.industry_data import is_object_id
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
RESOLVING = "School Data Sync accepted a run request at {requested}; waiting for it to name the run"
START_FAILED = "School Data Sync did not start a run: {reason}"
NO_RUN_APPEARED = (
    "School Data Sync accepted the run request of {requested} but no run started at or after it "
    "appeared within {minutes} minutes"
)
PROFILE_EXPIRED = (
    "The profile's expirationDate {date} has passed: School Data Sync takes no more files for it."
)

# Re-checks: validation every 5 s at first (Microsoft: no more often), then every 15, then 30 s;
# a run first within 30 s, doubling to at most 10 minutes.
VALIDATION_FAST_CHECKS = 12
RUN_FIRST_DELAY = 30
RUN_MAX_DELAY = 600
CLAIM_WAIT = 5  # seconds between looks while another worker asks for a run
RESOLVE_WINDOW = timedelta(minutes=30)  # runs/start accepted: how long its run may take to appear
CLAIM_TTL = timedelta(minutes=2)  # a claim older than this is a worker that stopped
CLOCK_SKEW = timedelta(minutes=5)  # Graph's startDateTime against the app's clock
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


def operation_failure(operation: dict[str, Any]) -> str:
    """Why a failed long-running operation failed: its first error, its statusDetail, or that."""
    issues = judge_operation(operation).issues
    if issues and issues[0].message:
        return issues[0].message
    detail = operation.get("statusDetail")
    return _text(detail, 300) if isinstance(detail, str) and detail.strip() else "its operation failed"


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

    action: str  # join | resolve | wait_claim | wait_others | wait_run | throttled | claim
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
    if tenant.starting and tenant.requested_date_time:
        return StartDecision("resolve")  # find the run first: ours, or one to wait for
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


def capped_delay(stage: Stage, since: datetime, now: datetime, seconds: float) -> int:
    """A re-check delay Graph asked for (Retry-After), within what is left of the stage's deadline:
    the check after the deadline ends the run instead of waiting past it."""
    left = (since + DEADLINES[stage] - now).total_seconds()
    return max(1, int(min(seconds, max(left, 0))) + 1)


def started(tenant: TenantRun, run_id: str, requested: datetime) -> TenantRun:
    """The tenant document once the run a runs/start of `requested` started is known."""
    return tenant.model_copy(
        update={
            "run_id": run_id,
            "requested_date_time": requested,
            "ended": False,
            "starting": False,
            "start_operation": None,
            "claim_id": None,
            "claim_date_time": None,
            "throttled_until": None,
        }
    )


def accepted(tenant: TenantRun, requested: datetime, operation: str | None) -> TenantRun:
    """The tenant document once runs/start of `requested` was accepted, its run not yet known."""
    return tenant.model_copy(
        update={
            "run_id": None,
            "requested_date_time": requested,
            "ended": False,
            "starting": True,
            "start_operation": operation,
            "claim_id": None,
            "claim_date_time": None,
            "throttled_until": None,
        }
    )


def unstarted(tenant: TenantRun, requested: datetime) -> TenantRun:
    """The tenant document once the accepted start of `requested` turned out to start no run."""
    if not tenant.starting or tenant.requested_date_time != requested:
        return tenant
    return tenant.model_copy(update={"starting": False, "start_operation": None})


def orphaned_claim(tenant: TenantRun | None, now: datetime) -> datetime | None:
    """The time of an expired claim (its holder stopped, maybe after its run started); else None.

    A claim is cleared when its run id is written or its runs/start refused, so one still there
    after CLAIM_TTL has no recorded run: the tenant's runs must be looked at before claiming anew.
    """
    if tenant is None or not tenant.claim_id or tenant.claim_date_time is None:
        return None
    return tenant.claim_date_time if now - tenant.claim_date_time >= CLAIM_TTL else None


def _start_of(run: Any) -> datetime | None:
    """An industryDataRun's startDateTime (untrusted: None unless an aware ISO 8601 time)."""
    value = run.get("startDateTime") if isinstance(run, dict) else None
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def adoptable_run(runs: list[dict[str, Any]], claimed: datetime) -> str | None:
    """The id of the run a stopped claim holder started: startDateTime at or after the claim.

    CLOCK_SKEW allows for Graph's clock behind the app's; of several candidates the one started
    nearest to the claim is the one its runs/start asked for.
    """
    earliest = claimed - CLOCK_SKEW
    found: list[tuple[timedelta, str]] = []
    for run in runs:
        run_id, start = run.get("id"), _start_of(run)
        if is_object_id(run_id) and start and start >= earliest:
            found.append((abs(start - claimed), run_id))
    return min(found)[1] if found else None


def adopted(tenant: TenantRun, claim_id: str, run_id: str) -> TenantRun:
    """The tenant document with `run_id` as the run of the stopped claim `claim_id` (unchanged if
    that claim is no longer there): requested at the claim's time, so the profiles whose files
    were validated before it join the run and later ones wait for it to end."""
    if tenant.claim_id != claim_id or tenant.claim_date_time is None:
        return tenant
    return started(tenant, run_id, tenant.claim_date_time)
