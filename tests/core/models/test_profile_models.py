"""The pure core of the profile API: @odata.type spellings, PATCH merging, the status table."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sds_core.models import status as s
from sds_core.models.profiles import Invalid, merge_patch, odata_type_name, parse_settings
from sds_core.models.status import RunState, StatusFields, SyncStatus

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
EARLIER = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "spelling",
    [
        "#microsoft.graph.educationCsvDataProvider",
        "microsoft.graph.educationCsvDataProvider",
        "microsoft.graph.educationcsvdataprovider",
        "#Microsoft.Education.DataSync.educationCsvDataProvider",
        " #MICROSOFT.GRAPH.EDUCATIONCSVDATAPROVIDER ",
    ],
)
def test_every_spelling_names_the_same_type(spelling: str) -> None:
    assert odata_type_name(spelling) == "educationcsvdataprovider"


def test_non_strings_name_no_type() -> None:
    assert [odata_type_name(v) for v in (None, 5, ["x"])] == [None, None, None]


def test_merge_patch_merges_objects_and_replaces_lists_and_changed_types() -> None:
    current = {
        "displayName": "a",
        "dataProvider": {
            "@odata.type": "#microsoft.graph.educationCsvDataProvider",
            "customizations": {"school": {"isSyncDeferred": True}},
        },
        "licensesToAssign": [{"appliesTo": "student"}],
    }
    assert merge_patch(
        current,
        {
            "dataProvider": {"customizations": {"school": {"allowDisplayNameUpdate": True}}},
            "licensesToAssign": [],
        },
    ) == {
        "displayName": "a",
        "dataProvider": {
            "@odata.type": "#microsoft.graph.educationCsvDataProvider",
            "customizations": {"school": {"isSyncDeferred": True, "allowDisplayNameUpdate": True}},
        },
        "licensesToAssign": [],
    }
    switched = {"@odata.type": "microsoft.graph.educationPowerSchoolDataProvider", "clientId": "c"}
    assert merge_patch(current, {"dataProvider": switched})["dataProvider"] == switched
    same_type = {"@odata.type": "microsoft.graph.educationcsvdataprovider", "customizations": None}
    assert merge_patch(current, {"dataProvider": same_type})["dataProvider"] == {
        "@odata.type": "microsoft.graph.educationcsvdataprovider",
        "customizations": None,
    }


def test_read_only_properties_are_ignored_and_annotations_dropped() -> None:
    parsed = parse_settings(
        {
            "id": "x",
            "state": "deleting",
            "profileStatus": {},
            "errors": [],
            "@odata.context": "c",
            "displayName": "n",
            "dataProvider": {
                "@odata.type": "#microsoft.graph.educationCsvDataProvider",
                "customizations@odata.type": "x",
            },
        }
    )
    assert not isinstance(parsed, Invalid)
    assert parsed.display_name == "n" and parsed.is_csv


def run(state: RunState) -> s.Run:
    """A run in `state`."""
    return s.Run(run_id="r1", state=state, snapshots={}, enqueued_date_time=EARLIER)


def fields(status: SyncStatus) -> StatusFields:
    """Stored status fields with `status`."""
    return StatusFields(status=status, status_message="m", last_activity_date_time=EARLIER)


def test_start_queues_a_run_unless_one_is_open() -> None:
    moved = s.start(StatusFields(), None, "r2", {}, NOW)
    assert (moved.status.status, moved.status.status_message, moved.enqueue) == (
        SyncStatus.IN_PROGRESS,
        "Queued",
        "start",
    )
    assert (moved.run.run_id, moved.run.state, moved.run.enqueued_date_time) == (
        "r2",
        RunState.QUEUED,
        NOW,
    )
    for state in (RunState.QUEUED, RunState.IN_PROGRESS, RunState.PAUSED):
        with pytest.raises(s.Refused):
            s.start(fields(SyncStatus.IN_PROGRESS), run(state), "r2", {}, NOW)
    for state in (RunState.SUCCESS, RunState.ERROR):
        assert s.start(fields(SyncStatus.SUCCESS), run(state), "r2", {}, NOW).run.run_id == "r2"


def test_validation_errors_leave_runs_alone() -> None:
    moved = s.validation_failed(fields(SyncStatus.SUCCESS), run(RunState.SUCCESS), NOW)
    assert (moved.status.status, moved.run, moved.enqueue) == (
        SyncStatus.VALIDATION_ERROR,
        run(RunState.SUCCESS),
        None,
    )
    with pytest.raises(s.Refused):
        s.validation_failed(fields(SyncStatus.PAUSED), run(RunState.PAUSED), NOW)


@pytest.mark.parametrize(
    ("status", "state", "allowed"),
    [
        (SyncStatus.IN_PROGRESS, RunState.QUEUED, True),
        (SyncStatus.IN_PROGRESS, RunState.IN_PROGRESS, True),
        (SyncStatus.PAUSED, RunState.PAUSED, False),
        (SyncStatus.SUCCESS, RunState.SUCCESS, False),
        (SyncStatus.ERROR, RunState.ERROR, False),
        (SyncStatus.VALIDATION_ERROR, None, False),
        (SyncStatus.PAUSED, None, False),
    ],
)
def test_pause_only_in_progress(status: SyncStatus, state: RunState | None, allowed: bool) -> None:
    current = run(state) if state else None
    if not allowed:
        with pytest.raises(s.Refused, match="Only a synchronization in progress can be paused."):
            s.pause(fields(status), current, NOW)
        return
    moved = s.pause(fields(status), current, NOW)
    assert moved == s.Transition(
        status=StatusFields(
            status=SyncStatus.PAUSED, status_message="Paused", last_activity_date_time=NOW
        ),
        run=run(RunState.PAUSED),
        enqueue=None,
    )


@pytest.mark.parametrize(
    ("status", "state", "allowed"),
    [
        (SyncStatus.PAUSED, RunState.PAUSED, True),
        (SyncStatus.PAUSED, None, False),
        (SyncStatus.PAUSED, RunState.SUCCESS, False),
        (SyncStatus.IN_PROGRESS, RunState.IN_PROGRESS, False),
        (SyncStatus.SUCCESS, RunState.SUCCESS, False),
    ],
)
def test_resume_only_paused_with_an_open_run(
    status: SyncStatus, state: RunState | None, allowed: bool
) -> None:
    current = run(state) if state else None
    if not allowed:
        with pytest.raises(s.Refused, match="Only a paused synchronization can be resumed."):
            s.resume(fields(status), current, NOW)
        return
    moved = s.resume(fields(status), current, NOW)
    assert moved.enqueue == "resume"
    assert (moved.status.status, moved.run.state, moved.run.run_id, moved.run.reason) == (
        SyncStatus.IN_PROGRESS,
        RunState.QUEUED,
        "r1",
        "resume",
    )


@pytest.mark.parametrize("state", list(RunState))
def test_reset_whenever_a_run_exists(state: RunState) -> None:
    moved = s.reset(fields(SyncStatus.ERROR), run(state), "r9", NOW)
    assert (moved.status.status, moved.enqueue) == (SyncStatus.IN_PROGRESS, "reset")
    assert (moved.run.run_id, moved.run.state, moved.run.reason, moved.run.enqueued_date_time) == (
        "r9",
        RunState.QUEUED,
        "reset",
        NOW,
    )


def test_reset_without_a_run_is_refused() -> None:
    with pytest.raises(s.Refused, match="There is no synchronization to reset: call start first."):
        s.reset(StatusFields(), None, "r9", NOW)


def test_unknown_fields_of_a_run_survive_a_round_trip() -> None:
    stored = {
        "runId": "r1",
        "state": "inProgress",
        "enqueuedDateTime": "2024-05-01T09:00:00Z",
        "stage": "teachers",
        "cursor": 400,
    }
    assert s.Run.model_validate(stored).model_dump(mode="json")["cursor"] == 400


def test_evolvable_members_are_hidden_unless_asked_for() -> None:
    validating = StatusFields(status=SyncStatus.VALIDATING)
    assert s.status_view("p", validating, 0, False).status == SyncStatus.UNKNOWN_FUTURE_VALUE
    assert s.status_view("p", validating, 0, True).status == SyncStatus.VALIDATING
    assert s.status_view("p", fields(SyncStatus.SUCCESS), 0, False).status == SyncStatus.SUCCESS
