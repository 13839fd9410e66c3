"""The forwarding state machine: schedule, deadlines, verdicts, entries and the tenant's run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sds_core.schooldatasync import forwarding as fw
from sds_core.schooldatasync.state import Stage, TenantRun

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def test_validation_every_5_s_at_first_then_less_often() -> None:
    delays = [fw.next_delay(Stage.VALIDATING, n) for n in range(30)]
    assert delays == [5] * 12 + [15] * 12 + [30] * 6


def test_a_run_first_within_30_s_backing_off_to_10_minutes() -> None:
    assert [fw.next_delay(Stage.RUNNING, n) for n in range(8)] == [
        30,
        60,
        120,
        240,
        480,
        600,
        600,
        600,
    ]
    assert fw.next_delay(Stage.RUNNING, 10_000) == 600


def test_deadlines_name_what_was_waited_for() -> None:
    since = NOW - timedelta(hours=2)
    assert fw.deadline_message(Stage.VALIDATING, since, NOW, "op1") is None  # exactly at the limit
    assert fw.deadline_message(Stage.VALIDATING, since, NOW + timedelta(seconds=1), "op1") == (
        "Stopped waiting: School Data Sync did not finish validating the files (operation op1) within 2 hours."
    )
    assert fw.deadline_message(Stage.RUNNING, NOW - timedelta(hours=25), NOW, "r1") == (
        "Stopped waiting: School Data Sync run r1 did not end within 24 hours."
    )
    assert fw.deadline_message(Stage.STARTING, NOW - timedelta(hours=25), NOW, None) == (
        "Stopped waiting: School Data Sync did not allow a run for the validated files within 24 hours."
    )
    assert fw.deadline_message(Stage.UPLOADING, NOW - timedelta(hours=2), NOW, None) == (
        "Stopped waiting: the upload to School Data Sync did not finish within 1 hour."
    )


def _error(code: str, target: str) -> dict[str, object]:
    return {
        "code": code,
        "details": [],
        "innerError": None,
        "message": f"{code} in {target}",
        "target": target,
    }


def test_succeeded_with_errors_is_a_refusal() -> None:
    verdict = fw.judge_operation(
        {
            "status": "succeeded",
            "errors": [_error("RequiredFileNotFound", "orgs.csv")],
            "warnings": [_error("OptionalFileNotFound", "classes.csv")],
        }
    )
    assert (verdict.finished, verdict.refused, verdict.errors, verdict.warnings) == (
        True,
        True,
        1,
        1,
    )
    assert fw.refusal_message(verdict) == (
        "School Data Sync refused the files: 1 validation error(s), 1 warning(s) (see errors)."
    )


def test_warnings_only_are_accepted_and_running_is_not_finished() -> None:
    accepted = fw.judge_operation(
        {"status": "succeeded", "errors": [], "warnings": [_error("W", "school.csv")]}
    )
    assert (accepted.finished, accepted.refused) == (True, False)
    running = fw.judge_operation({"status": "running", "errors": None})
    assert (running.finished, running.refused) == (False, False)
    failed = fw.judge_operation({"status": "failed", "errors": []})
    assert failed.refused and fw.refusal_message(failed) == (
        "School Data Sync could not validate the files: operation failed (see errors)."
    )


def test_hostile_operations_are_bounded() -> None:
    verdict = fw.judge_operation(
        {"status": "succeeded", "errors": ["x", {"message": "m" * 5000}] * 2000}
    )
    assert len(verdict.issues) == fw.MAX_ENTRIES // 2
    assert all(len(i.message) == fw.MAX_TEXT and i.code == "unknown" for i in verdict.issues)


def test_entries_file_code_message() -> None:
    verdict = fw.judge_operation(
        {
            "status": "succeeded",
            "errors": [_error("E", "Student.csv")],
            "warnings": [_error("W", "other.csv")],
        }
    )
    entries = fw.issue_entries("run1/validation", verdict.issues, NOW)
    assert [e.model_dump(by_alias=True, exclude={"id"}) for e in entries] == [
        {
            "entryType": "Student",
            "errorCode": "E",
            "errorMessage": "E in Student.csv",
            "joiningValue": "Student.csv",
            "recordedDateTime": NOW,
            "reportableIdentifier": "Student.csv",
        },
        {
            "entryType": "File",
            "errorCode": "W",
            "errorMessage": "Warning: W in other.csv",
            "joiningValue": "other.csv",
            "recordedDateTime": NOW,
            "reportableIdentifier": "other.csv",
        },
    ]
    again = fw.issue_entries("run1/validation", verdict.issues, NOW)
    assert [e.id for e in entries] == [e.id for e in again]  # a redelivery writes the same rows


def test_runs_judged_by_status_and_blocking_error() -> None:
    failed = fw.judge_run({"status": "failed", "blockingError": _error("B", "")})
    assert (failed.finished, failed.failed) == (True, True)
    assert fw.run_failed_message("r1", failed) == "School Data Sync run r1 failed: B in "
    assert fw.judge_run({"status": "running"}).finished is False
    for status in ("completed", "completedWithErrors", "completedWithWarnings"):
        verdict = fw.judge_run({"status": status})
        assert (verdict.finished, verdict.failed) == (True, False)


def test_the_run_done_message_counts() -> None:
    stats = {
        "inboundTotals": {
            "errors": 2,
            "groups": 5,
            "memberships": 9,
            "organizations": 1,
            "people": 30,
            "warnings": True,
        }
    }
    assert fw.run_done_message("r1", "completedWithErrors", stats) == (
        "School Data Sync run r1: completedWithErrors. 30 people, 5 groups, 9 memberships, 1 organizations; "
        "2 record(s) left out, 0 warning(s) (per-record logs are in the School Data Sync portal)."
    )


def test_decide_start() -> None:
    validated = NOW - timedelta(seconds=10)
    assert fw.decide_start(None, validated, NOW).action == "claim"
    asked_after = TenantRun(run_id="r1", requested_date_time=validated)
    assert fw.decide_start(asked_after, validated, NOW) == fw.StartDecision("join", "r1")
    asked_before = TenantRun(run_id="r1", requested_date_time=validated - timedelta(seconds=1))
    assert fw.decide_start(asked_before, validated, NOW) == fw.StartDecision("wait_run", "r1")
    ended = asked_before.model_copy(update={"ended": True})
    assert fw.decide_start(ended, validated, NOW).action == "claim"
    claimed = ended.model_copy(
        update={"claim_id": "c", "claim_date_time": NOW - timedelta(seconds=30)}
    )
    assert fw.decide_start(claimed, validated, NOW).action == "wait_claim"
    stale = claimed.model_copy(update={"claim_date_time": NOW - fw.CLAIM_TTL})
    assert fw.decide_start(stale, validated, NOW).action == "claim"
    throttled = ended.model_copy(update={"throttled_until": NOW + timedelta(hours=1)})
    assert fw.decide_start(throttled, validated, NOW) == fw.StartDecision(
        "throttled", until=NOW + timedelta(hours=1)
    )
    others = ended.model_copy(
        update={
            "validating": {
                "me": NOW,
                "p2": NOW - timedelta(seconds=20),
                "gone": NOW - fw.VALIDATING_TTL,
            }
        }
    )
    assert fw.decide_start(others, validated, NOW, "me") == fw.StartDecision(
        "wait_others", others=1
    )
