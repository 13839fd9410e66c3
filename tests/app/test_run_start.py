"""runs/start as Microsoft documents it, end to end: the operation, its run, and when neither comes.

industrydata-industrydatarun-start.md (2025): 202 with a Location naming a long-running operation,
whose resourceLocation names the run; an older version of the page: 202 alone. Either way the run
this app asked for is found (from the operation, else in GET runs), one runs/start per request,
and `error` only when no run took the files.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sds_app import sync_run
from sds_app.storage.forwarding import TenantRunStore
from sds_core.schooldatasync import forwarding as fw
from tests.app.test_forwarding import FROZEN, _expected, _profile, _step, sds  # noqa: F401
from tests.fakegraph.server import Fault, RunOutcome, ValidationOutcome


def _validated(sds: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """A profile whose next delivery is validated and asks for the run."""
    sds["fake"].validations.append(ValidationOutcome(running_polls=0))
    sds["fake"].runs_script.append(RunOutcome(running_polls=0))
    pid, ids = _profile(sds)
    assert _step(sds, pid)["statusMessage"] == "School Data Sync is validating the files"
    return pid, ids


def _requested(sds: dict[str, Any]) -> datetime:
    tenant = TenantRunStore(sds["env"].account).get()
    assert tenant is not None and tenant.requested_date_time is not None
    return tenant.requested_date_time


@pytest.mark.parametrize("style", ["none", "unnamed"])
def test_a_start_that_names_no_run_finds_it_in_the_tenants_runs(
    sds: dict[str, Any], style: str
) -> None:
    fake = sds["fake"]
    fake.start_style = style
    fake.add_run(datetime.now(UTC) - timedelta(hours=3))  # a scheduled run of the morning: not ours
    pid, ids = _validated(sds)
    seen = _step(sds, pid)
    (run_id,) = [r for r in fake.started_runs if r]
    assert seen == _expected(pid, "inProgress", f"School Data Sync run {run_id}: running")
    assert _step(sds, pid)["status"] == "success"
    assert fake.runs[run_id]["files"] == {ids["connectorId"]: FROZEN}
    assert len(fake.calls("POST", r"/runs/start$")) == 1
    assert len(fake.calls("GET", r"/runs$")) == 1
    assert len(fake.calls("GET", r"/operations/")) == (1 if style == "none" else 2)
    assert fake.violations == []


def test_a_run_that_shows_up_late_in_the_listing_is_joined_at_a_later_look(
    sds: dict[str, Any],
) -> None:
    fake = sds["fake"]
    fake.start_style = "none"
    fake.faults.append(Fault("GET", r"/runs$", 200, {}, {"value": []}))  # not listed yet
    pid, _ = _validated(sds)
    seen = _step(sds, pid)
    assert seen == _expected(
        pid, "inProgress",
        f"School Data Sync accepted a run request at {_requested(sds):%Y-%m-%d %H:%M} UTC; waiting "
        "for it to name the run",
    )
    assert sds["delays"][-1] == 5
    (run_id,) = fake.started_runs
    assert _step(sds, pid) == _expected(pid, "inProgress", f"School Data Sync run {run_id}: running")
    assert len(fake.calls("POST", r"/runs/start$")) == 1 and fake.violations == []


def test_a_start_whose_run_never_appears_ends_in_error_after_the_window(
    sds: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = sds["fake"]
    fake.start_style = "none"
    fake.faults.append(Fault("GET", r"/runs$", 200, {}, {"value": []}, times=100))
    pid, _ = _validated(sds)
    _step(sds, pid)
    requested = _requested(sds)
    later = requested + fw.RESOLVE_WINDOW + timedelta(seconds=1)
    monkeypatch.setattr(sync_run, "_now", lambda: later)
    seen = _step(sds, pid)
    assert seen == _expected(
        pid, "error",
        "School Data Sync did not start a run: School Data Sync accepted the run request of "
        f"{requested:%Y-%m-%d %H:%M} UTC but no run started at or after it appeared within 30 minutes",
    )
    tenant = TenantRunStore(sds["env"].account).get()
    assert tenant is not None and not tenant.starting  # the next start may ask again
    assert len(fake.calls("POST", r"/runs/start$")) == 1


def test_a_failed_start_operation_ends_in_error_naming_it(sds: dict[str, Any]) -> None:
    fake = sds["fake"]
    fake.start_style = "failed"
    pid, _ = _validated(sds)
    seen = _step(sds, pid)
    assert seen == _expected(
        pid, "error", "School Data Sync did not start a run: The run could not be started."
    )
    assert len(fake.calls("GET", r"/runs$")) == 1  # looked for a run before saying there is none
    assert not TenantRunStore(sds["env"].account).get().starting  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "location",
    ["https://evil.example/beta/external/industryData/runs/1",
     "https://graph.microsoft.com/beta/external/industryData/runs/a%2Fb/..",
     "runs/\r\nX-Injected: 1"],
)
def test_a_resource_location_that_is_no_run_url_ends_in_error_naming_it(
    sds: dict[str, Any], location: str
) -> None:
    fake = sds["fake"]
    fake.start_resource_location = location
    pid, _ = _validated(sds)
    seen = _step(sds, pid)
    assert seen["status"] == "error"
    assert seen["statusMessage"] == (
        "School Data Sync did not start a run: Microsoft Graph's answer is not usable: the "
        "runs/start operation's resourceLocation is not what Graph documents: "
        + location.replace("\r", "\\r").replace("\n", "\\n")
    )
    assert "\n" not in seen["statusMessage"] and "\r" not in seen["statusMessage"]
    assert len(fake.calls("POST", r"/runs/start$")) == 1


def test_two_profiles_waiting_on_one_accepted_start_share_its_run(sds: dict[str, Any]) -> None:
    fake = sds["fake"]
    fake.start_running_polls = 2
    fake.validations.extend([ValidationOutcome(running_polls=0), ValidationOutcome(running_polls=0)])
    first, a = _profile(sds)
    second, b = _profile(sds)
    _step(sds, first)
    _step(sds, second)
    _step(sds, first)  # waits for the second's validation
    accepted = _step(sds, second)  # asks for the run; its operation is still running
    assert accepted["statusMessage"].startswith("School Data Sync accepted a run request at")
    assert _step(sds, first)["statusMessage"].startswith("School Data Sync accepted a run request")
    (run_id,) = fake.started_runs
    assert _step(sds, second)["statusMessage"] == f"School Data Sync run {run_id}: running"
    assert _step(sds, first)["statusMessage"] == f"School Data Sync run {run_id}: running"
    assert fake.runs[run_id]["files"] == {a["connectorId"]: FROZEN, b["connectorId"]: FROZEN}
    assert len(fake.calls("POST", r"/runs/start$")) == 1 and fake.violations == []


def test_a_retry_after_beyond_the_stage_deadline_waits_only_until_the_deadline(
    sds: dict[str, Any],
) -> None:
    fake = sds["fake"]
    fake.faults.append(Fault("GET", r"/operations/", 429, {"Retry-After": "604800"}, None))
    pid, _ = _profile(sds)
    _step(sds, pid)
    assert _step(sds, pid)["statusMessage"] == "School Data Sync is validating the files"
    # validating has 2 hours: the re-check comes at its deadline, which then ends the run
    assert 7100 <= sds["delays"][-1] <= 7202
