"""The tenant check: first contact with a tenant, before the first sync (docs/check.md).

Four steps against the tenant's Industry Data API: the identity the app calls Graph with, each
permission it needs (one harmless read each, the token's roles where there is none), the
tenant's code lists (stored for `start`), and on request a dry upload: a check source system and
connector, an upload session, three small files, `validate` followed to its end, then everything
made deleted. It makes no year and no flow, so no run can take the files, and it never calls
runs/start. The whole check stays within CHECK_SECONDS, well inside the 230 s an HTTP function
has on Azure: validate's operation is polled every POLL_SECONDS (Microsoft: no more often) until
CLEANUP_SECONDS before the end, which are kept for the deletions.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sds_app.graph import GraphError, IndustryDataClient, client_for
from sds_app.graph.pipeline import GraphDeadline
from sds_app.session_upload import in_memory, upload_session_files
from sds_app.settings import Settings
from sds_app.storage.account import StorageAccount
from sds_app.storage.provisioning import ensure_state_container
from sds_app.storage.tenant_codes import TenantCodesStore
from sds_core.models import industry_data as model
from sds_core.models.profiles import ProfileSettings
from sds_core.schooldatasync import check as ck
from sds_core.schooldatasync.forwarding import OperationVerdict, judge_operation, refusal_message
from sds_core.schooldatasync.state import TenantCodes
from sds_core.text import inert

_LOG = logging.getLogger("sds_app.check")
CHECK_SECONDS = 120.0
CLEANUP_SECONDS = 30.0
POLL_SECONDS = 5.0
# Shorter than the forwarder's: a check that waits long answers nothing useful. With a call's 20 s
# past the last step's start and two deletions, a check ends within about 150 s (Azure: 230 s).
DEADLINE = GraphDeadline(connect_seconds=5, read_seconds=15, call_seconds=20)
MAX_WAIT = 5.0  # seconds of Retry-After slept in the check; a longer one fails the call
OUT_OF_TIME = f"The check's {CHECK_SECONDS:g} s ran out before this step."


class Clock(Protocol):
    """Seconds since some start, and waiting (a fake in tests, so that no test sleeps)."""

    def monotonic(self) -> float: ...  # noqa: D102

    def sleep(self, seconds: float) -> None: ...  # noqa: D102


class SystemClock:
    """time.monotonic and time.sleep."""

    def monotonic(self) -> float:  # noqa: D102
        return time.monotonic()

    def sleep(self, seconds: float) -> None:  # noqa: D102
        time.sleep(seconds)


CLOCK: Clock = SystemClock()


def refusal(error: GraphError) -> ck.GraphRefusal:
    """The Graph error of a step, as data."""
    return ck.GraphRefusal(error.status, error.code, error.graph_message, error.request_id)


@dataclass
class DryUpload:
    """What the dry upload did, and what it showed of the permissions."""

    step: ck.Step
    shown: dict[str, list[str]] = field(default_factory=dict)  # permission -> calls that worked
    refused: dict[str, tuple[str, ck.GraphRefusal]] = field(default_factory=dict)


def check_profile(name: str) -> ProfileSettings:
    """The settings the check's objects are made from: a CSV profile `name`, default matching."""
    provider = {"@odata.type": "#microsoft.graph.educationCsvDataProvider"}
    return ProfileSettings.model_validate({"displayName": name, "dataProvider": provider})


class TenantCheck:
    """One run of the check."""

    def __init__(self, account: StorageAccount, settings: Settings, graph: IndustryDataClient,
                 clock: Clock) -> None:
        self.account = account
        self.settings = settings
        self.graph = graph
        self.clock = clock
        self.started = clock.monotonic()
        self.now = datetime.now(UTC)

    def left(self) -> float:
        """Seconds left of CHECK_SECONDS."""
        return CHECK_SECONDS - (self.clock.monotonic() - self.started)

    # -- the steps -------------------------------------------------------------------------------

    def run(self, dry_upload: bool, context: str) -> dict[str, Any]:
        """Every step, then the verdict: the JSON answer."""
        identity, claims = self.identity()
        if identity.status == "failed":
            why = "The app has no token for Microsoft Graph (see identity)."
            steps = [identity, ck.skipped("permissions", why), ck.skipped("referenceCodes", why),
                     ck.skipped("dryUpload", why)]
            return self.answer(steps, context)
        grants = ck.grants_of(claims)
        probes = self.probes()
        first = self.permissions(probes, grants, None)
        codes = self.codes()
        if not dry_upload:
            upload = DryUpload(ck.skipped("dryUpload", 'Not asked: send {"dryUpload": true} '
                                          "(scripts/check.sh --dry-upload)."))
        elif blocked := [r.permission for r in first if r.status == "missing"
                         and r.permission in ck.DRY_UPLOAD_NEEDS]:
            why = f"Not tried: {', '.join(blocked)} is missing."
            upload = DryUpload(ck.skipped("dryUpload", why))
        elif self.left() < CLEANUP_SECONDS + 2 * POLL_SECONDS:
            upload = DryUpload(ck.skipped("dryUpload", OUT_OF_TIME))
        else:
            upload = self.dry_upload()
        principal = ((identity.extra.get("identity") or {}).get("objectId")
                     if identity.status == "ok" else None)
        permissions = ck.permissions_step(self.permissions(probes, grants, upload), principal)
        return self.answer([identity, permissions, codes, upload.step], context)

    def answer(self, steps: list[ck.Step], context: str) -> dict[str, Any]:
        """The JSON answer, logged in one line."""
        seconds = self.clock.monotonic() - self.started
        body = ck.answer(steps, self.now, seconds, sorted(self.settings.sync_targets), context)
        _LOG.info("Tenant check: %s in %.1f s%s", body["verdict"], seconds,
                  f"; first fix: {body['firstFix']}" if body["firstFix"] else "")
        return body

    def identity(self) -> tuple[ck.Step, dict[str, Any] | None]:
        """Step a: the token's claims (SDS_GRAPH_AUTH=default) or that there is no token."""
        mode, endpoint = self.settings.graph_auth, self.settings.graph_endpoint
        if mode == "none":
            return ck.identity_step(mode, endpoint, None), None
        try:
            claims = self.graph.token_claims()
        except GraphError as error:
            return ck.identity_step(mode, endpoint, None, refusal(error), error.message), None
        return ck.identity_step(mode, endpoint, claims or {}), claims or {}

    def probes(self) -> dict[str, bool | ck.GraphRefusal]:
        """The harmless read of each permission that has one: True, or Graph's refusal."""
        answered: dict[str, bool | ck.GraphRefusal] = {}
        for needed in ck.NEEDED:
            if needed.probe is None or self.left() <= CLEANUP_SECONDS:
                continue
            try:
                self.graph.first_page(needed.probe)
                answered[needed.permission] = True
            except GraphError as error:
                answered[needed.permission] = refusal(error)
        return answered

    def permissions(self, probes: dict[str, bool | ck.GraphRefusal], grants: frozenset[str] | None,
                    upload: DryUpload | None) -> list[ck.PermissionResult]:
        """Step b's judgement of each permission (the dry upload's calls count once it ran)."""
        results = []
        for needed in ck.NEEDED:
            found = probes.get(needed.permission)
            answered = found is True
            failure = found if isinstance(found, ck.GraphRefusal) else None
            shown = refused_call = None
            if upload is not None:
                calls = upload.shown.get(needed.permission)
                shown = ", ".join(calls) if calls else None
                if failure is None and needed.permission in upload.refused:
                    refused_call, failure = upload.refused[needed.permission]
            results.append(ck.judge_permission(needed, answered if found is not None else None,
                                               failure, grants, shown, refused_call))
        return results

    def codes(self) -> ck.Step:
        """Step c: every page of referenceDefinitions; the lists stored for `start`."""
        if self.left() <= CLEANUP_SECONDS:
            return ck.skipped("referenceCodes", OUT_OF_TIME)
        try:
            definitions = self.graph.list_reference_definitions()
        except GraphError as error:
            return ck.Step("referenceCodes", "failed", error.message, fix=error.message,
                           graph_error=refusal(error))
        codes = ck.reference_codes(definitions)
        grades = list(codes["gradeLevels"].enabled)
        ensure_state_container(self.account)
        TenantCodesStore(self.account).put(TenantCodes(
            read_date_time=self.now, grade_levels=grades or None,
            identifier_types=list(codes["identifierTypes"].enabled),
            match_targets=list(codes["matchTargets"].enabled)))
        return ck.codes_step(codes, stored=bool(grades))

    # -- d. the dry upload -----------------------------------------------------------------------

    def dry_upload(self) -> DryUpload:
        """Step d: make, upload, validate, follow; then delete what was made, whatever happened."""
        name = ck.check_name(self.now)
        profile = check_profile(name)
        graph = self.graph
        actions: list[ck.Action] = []
        made: list[tuple[str, str]] = []  # (kind, id) in the order made
        result = DryUpload(ck.skipped("dryUpload", ""))
        validation: dict[str, Any] | None = None
        doing = "createSourceSystem"

        def worked(permission: str, action: ck.Action) -> None:
            actions.append(action)
            result.shown.setdefault(permission, []).append(action.name)

        try:
            source = graph.create_source_system(model.source_system_body(profile, graph.bind))
            made.append(("sourceSystem", source["id"]))
            worked("IndustryData-SourceSystem.ReadWrite.All", ck.Action(
                doing, "ok", f"Made the source system {source['id']}."))
            doing = "createConnector"
            connector = graph.create_connector(
                model.connector_body(profile, source["id"], graph.bind))
            connector_id = connector["id"]
            made.append(("connector", connector_id))
            writes = "IndustryData-DataConnector.ReadWrite.All"
            worked(writes, ck.Action(doing, "ok", f"Made the connector {connector_id} (fileFormat "
                                     f"{model.FILE_FORMAT}), with no year and no flow."))
            doing = "uploadSession"
            session = graph.get_upload_session(connector_id, reset=True)
            worked(writes, ck.Action(doing, "ok", "Got a new upload session (resetSession=true), "
                                     f"open until {inert(str(session.session_expiration), 40)}."))
            doing = "upload"
            files = ck.sample_files()
            upload_session_files(graph, session.session_url,
                                 [in_memory(file, data) for file, data in files.items()])
            actions.append(ck.Action(doing, "ok", f"Uploaded {', '.join(files)} (one school, "
                                     "student and teacher)."))
            doing = "validate"
            location = graph.validate(connector_id)
            operation_id = graph.reference(location, ("operations",), "validate: Location")[1]
            worked(writes, ck.Action(doing, "ok", f"validate accepted the files: operation "
                                     f"{operation_id}."))
            doing = "operation"
            verdict = self.follow(location)
            validation = ck.validation_json(operation_id, verdict)
            outcome = self.judged(operation_id, verdict)
            if verdict is not None:
                worked("IndustryData.ReadBasic.All", outcome)
            else:
                actions.append(outcome)
        except GraphError as error:
            actions.append(ck.Action(doing, "failed", error.message, refusal(error)))
            if error.status == 403 and error.permission:
                call = f"{error.method} {error.path.rsplit('/industryData/', 1)[-1]}"
                result.refused[error.permission] = (call, refusal(error))
        except Exception as failure:  # noqa: BLE001 - a failed check is an answer; the objects go
            _LOG.exception("Tenant check: the dry upload failed at %s", doing)
            actions.append(ck.Action(doing, "failed", f"{type(failure).__name__}: "
                                     f"{inert(str(failure), 300)}"))
        finally:
            actions.extend(self.delete(made))
        result.step = ck.dry_upload_step(name, actions, validation)
        return result

    def follow(self, location: str) -> OperationVerdict | None:
        """validate's operation, polled every POLL_SECONDS to its end; None when time runs out."""
        while self.left() - POLL_SECONDS > CLEANUP_SECONDS:
            self.clock.sleep(POLL_SECONDS)
            verdict = judge_operation(self.graph.get_operation(location))
            if verdict.finished:
                return verdict
        return None

    def judged(self, operation_id: str, verdict: OperationVerdict | None) -> ck.Action:
        """The action of validate's outcome: judged by its errors, not its status."""
        if verdict is None:
            return ck.Action("operation", "failed", "School Data Sync did not finish validating "
                             f"within the check's time (operation {operation_id}): run the check "
                             "again later.")
        if verdict.refused:
            first = next((i for i in verdict.issues if not i.warning), None)
            why = f" First: {first.file}: {first.code}: {first.message}" if first else ""
            return ck.Action("operation", "failed", f"{refusal_message(verdict)}{why}")
        return ck.Action("operation", "ok", f"Validated (status {verdict.status}, "
                         f"{verdict.warnings} warning(s)).")

    def delete(self, made: list[tuple[str, str]]) -> list[ck.Action]:
        """Delete what the dry upload made, the connector first; each deletion reported."""
        deleters = {"connector": self.graph.delete_connector,
                    "sourceSystem": self.graph.delete_source_system}
        labels = {"connector": "connector", "sourceSystem": "source system"}
        actions = []
        for kind, object_id in reversed(made):
            name = f"delete{kind[0].upper()}{kind[1:]}"
            try:
                gone = deleters[kind](object_id)
            except GraphError as error:
                actions.append(ck.Action(name, "failed", f"The check's {labels[kind]} {object_id} "
                                         f"is left in the tenant: delete it in School Data Sync "
                                         f"({error.message})", refusal(error)))
                continue
            actions.append(ck.Action(name, "ok", f"Deleted the {labels[kind]} {object_id}." if gone
                                     else f"The {labels[kind]} {object_id} was already gone."))
        return actions


def run_check(
    account: StorageAccount, settings: Settings, dry_upload: bool, context: str,
    graph: IndustryDataClient | None = None, clock: Clock | None = None,
) -> dict[str, Any]:
    """The tenant check's JSON answer (`context` is its @odata.context)."""
    graph = graph or client_for(settings, deadline=DEADLINE, max_wait=MAX_WAIT)
    return TenantCheck(account, settings, graph, clock or CLOCK).run(dry_upload, context)
