"""What the worker keeps while it forwards a run: in the profile's run, and one document per tenant."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class _Stored(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="allow", serialize_by_alias=True
    )


INDUSTRY_DATA_FIELD = "industryData"  # the profile record's field (extra) with the ids below


class IndustryDataIds(_Stored):
    """A profile's Industry Data objects, in its record as `industryData` (camelCase JSON)."""

    connector_id: str | None = None
    source_system_id: str | None = None
    year_id: str | None = None
    inbound_flow_id: str | None = None


class Stage(StrEnum):
    """Where the forwarding of one run is."""

    UPLOADING = "uploading"  # upload session, files, validate: until the operation's URL is kept
    VALIDATING = "validating"  # following the validate operation
    STARTING = "starting"  # validated: joining or starting the tenant's run
    RUNNING = "running"  # following the School Data Sync run


class Forwarding(_Stored):
    """Progress of a run's forwarding, kept in the profile record's run (`run.forwarding`).

    `check` numbers the re-check messages: only the message carrying the current number works
    on the run, so a redelivered or duplicated message neither uploads again nor starts a run.
    """

    stage: Stage = Stage.UPLOADING
    check: int = 0
    started_date_time: datetime
    stage_date_time: datetime
    checks_in_stage: int = 0
    connector_id: str | None = None
    uploads: int = 0  # upload attempts (a crash inside one makes the next attempt start over)
    uploaded_files: list[str] = []
    operation: str | None = None
    validated_date_time: datetime | None = None
    warnings: int = 0
    sds_run_id: str | None = None
    waiting_for: str | None = None  # what a STARTING run waits for, for the status message


class TenantRun(_Stored):
    """The tenant's current School Data Sync run, shared by every profile (runs cover all flows).

    `claim_*`: a worker asking for a run right now (others wait); `starting`: runs/start was
    accepted at `requested_date_time` and the run it started is not known yet (`start_operation`:
    the long-running operation its Location named, None when it named none); `throttled_until`:
    the new SDS refused a run and said when to try again; `validating`: profiles whose upload or
    validation is not finished yet, so that profiles started together are taken by one run.
    """

    schema_version: int = 1
    run_id: str | None = None
    requested_date_time: datetime | None = None
    ended: bool = False
    starting: bool = False
    start_operation: str | None = None
    claim_id: str | None = None
    claim_date_time: datetime | None = None
    throttled_until: datetime | None = None
    validating: dict[str, datetime] = {}
    """Profiles uploading or validating now (id -> last look): a run waits for them."""


class TenantCodes(_Stored):
    """The tenant's own code lists, as the last tenant check read them (`referenceDefinitions`).

    Codes not disabled, in the tenant's order. `grade_levels` is None when the tenant listed no
    grade level: `start` then keeps the default list of values.
    """

    schema_version: int = 1
    read_date_time: datetime
    grade_levels: list[str] | None = None
    identifier_types: list[str] = []
    match_targets: list[str] = []

    def grade_set(self) -> frozenset[str] | None:
        """The grade codes as VerifyOptions.grade_levels takes them (lower case), or None."""
        return frozenset(c.lower() for c in self.grade_levels) if self.grade_levels else None
