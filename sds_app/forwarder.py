"""Forwarding a run's frozen files to the tenant's new School Data Sync, one queue delivery per step.

Each delivery reads the run's `forwarding` progress from the profile record, does one step
against Graph, records the new progress (ETag compare-and-set on the record, with the re-check
number `check` it expected), and enqueues the next re-check with a visibility delay: waiting
never blocks a function. The non-repeatable calls are guarded by what is recorded before and
after them: files are uploaded and validated only while no operation is recorded, and
`runs/start` is called only by the worker holding the tenant document's claim; the run it
starts is recorded there at once, so a redelivered message joins it instead of starting another.
A worker that stops between Graph's 202 to `runs/start` and the write of the run id leaves a
claim without a run: the next worker to find that claim expired (CLAIM_TTL) lists the tenant's
runs first and adopts one started at or after the claim (less CLOCK_SKEW) instead of starting a
second; only when there is none does it claim anew.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from sds_app.graph import GraphError, IndustryDataClient
from sds_app.industry_data import Busy, Refused, record_data, roll_over, switch_format
from sds_app.graph.upload import UploadFile
from sds_app.session_upload import upload_session_files
from sds_app.storage.account import StorageAccount
from sds_app.storage.forwarding import TenantRunStore
from sds_app.storage.sync_errors import SyncErrorStore
from sds_app.storage.sync_queue import enqueue_run
from sds_core.models.industry_data import FILE_FORMAT, expired
from sds_core.models.profiles import ProfileRecord
from sds_core.models.status import RunState, SyncMessage, SyncStatus
from sds_core.schooldatasync import forwarding as fw
from sds_core.verification.fileformats import (
    CONNECTOR_FORMAT_CODES,
    V1_NAME,
    V21_FILE_NAMES,
    V21_NAME,
)
from sds_core.schooldatasync.state import (
    INDUSTRY_DATA_FIELD,
    Forwarding,
    IndustryDataIds,
    Stage,
    TenantRun,
)

log = logging.getLogger("sds_app.sync")
V1_FILES = tuple(fw.ENTRY_TYPES)  # the names the new SDS expects for schoolDataSyncV1
NO_CONNECTOR = (
    "The profile has no School Data Sync connector (industryData.connectorId): it was not "
    "provisioned for School Data Sync. Create the profile again with SDS_SYNC_TARGET including "
    "schoolDataSync."
)
WRONG_FORMAT = (
    "The dataConnector {connector} takes fileFormat {code!r}, and these files are SDS {files}: "
    "upload files of the connector's format, or use a profile bound to a connector of fileFormat "
    "{wanted!r}."
)
LEASE_WAIT = 30  # seconds: another request or worker is making or changing the profile's objects


class Superseded(Exception):
    """The record's forwarding is not at the check this delivery expected: another delivery has it."""


def connector_of(record: ProfileRecord) -> str | None:
    """The connector id the profile forwards to (`industryData.connectorId` of its record)."""
    data = (record.model_extra or {}).get(INDUSTRY_DATA_FIELD)
    if not isinstance(data, dict):
        return None
    try:
        ids = IndustryDataIds.model_validate(data)
    except ValidationError:
        return None
    return ids.connector_id or None


class Forwarder:
    """One delivery's work on the forwarding of one run."""

    def __init__(
        self,
        account: StorageAccount,
        message: SyncMessage,
        graph: IndustryDataClient,
        move: Callable[..., ProfileRecord],
        now: Callable[[], datetime],
        delay: Callable[[int], int],
        dequeue_count: int,
        clear_errors: bool = True,
    ) -> None:
        self.account = account
        self.message = message
        self.graph = graph
        self.move = move  # SyncRun._move: status update of our run, Stop when it is not ours
        self.now = now
        self.delay = delay  # seconds asked -> seconds used (tests make it 0 and record the asks)
        self.dequeue_count = dequeue_count
        self.clear_errors = clear_errors  # False when the directory part of the run cleared them
        self._latest: Forwarding | None = None  # the progress this delivery last recorded
        self.errors = SyncErrorStore(account)
        self.tenant = TenantRunStore(account)
        self.pid = message.profile_id

    # -- progress --------------------------------------------------------------------------------

    def _save(
        self,
        expect: int | None,
        change: Callable[[Forwarding | None], Forwarding],
        message: str,
        status: SyncStatus | None = None,
        run_state: RunState | None = None,
        synced: bool = False,
    ) -> Forwarding:
        """Record new progress if the record is still at check `expect` (None: not begun)."""
        kept: dict[str, Forwarding] = {}

        def forward(current: Forwarding | None) -> Forwarding:
            found = current.check if current is not None else None
            if found != expect:
                raise Superseded(f"forwarding is at check {found}, this delivery expected {expect}")
            kept["f"] = change(current)
            return kept["f"]

        # Until it ends, the run is in progress (a resumed run is `queued` until its first step).
        status = status or SyncStatus.IN_PROGRESS
        run_state = run_state or RunState.IN_PROGRESS
        self.move(message, status, run_state, synced=synced, forward=forward)
        self._latest = kept["f"]
        return kept["f"]

    def _advance(self, f: Forwarding, message: str, delay: int | None, **update: Any) -> Forwarding:
        """Next check number (with `update`), recorded; then the re-check after `delay` seconds."""
        now = self.now()
        if "stage" in update and update["stage"] != f.stage:
            update.setdefault("stage_date_time", now)
            update.setdefault("checks_in_stage", 0)
        else:
            update.setdefault("checks_in_stage", f.checks_in_stage + 1)
        new = self._save(
            f.check, lambda cur: cur.model_copy(update={**update, "check": f.check + 1}), message
        )
        if delay is not None:
            self._enqueue(new.check, delay)
        return new

    def _enqueue(self, check: int, seconds: int) -> None:
        again = self.message.model_copy(update={"check": check})
        enqueue_run(self.account, again, self.delay(seconds))

    def _fail(self, f: Forwarding | None, message: str) -> None:
        expect = f.check if f is not None else None
        if f is not None and f.stage in (Stage.UPLOADING, Stage.VALIDATING):
            self._validating_mark(False)
        self._save(
            expect,
            lambda cur: (
                cur.model_copy(update={"check": cur.check + 1}) if cur else _begin(self.now())
            ),
            message,
            SyncStatus.ERROR,
            RunState.ERROR,
        )
        log.info(
            "Profile %s run %s forwarding ended in error: %s",
            self.pid,
            self.message.run_id,
            message,
        )

    # -- one delivery ----------------------------------------------------------------------------

    def step(self, record: ProfileRecord, frozen: Callable[[str], UploadFile]) -> None:
        """Do the step the record's progress is at (beginning it on the run's first delivery)."""
        run = record.run
        assert run is not None
        f = run.forwarding
        if f is None:
            if self.message.check is not None:
                log.info(
                    "Dropped a re-check of profile %s run %s: not forwarding", self.pid, run.run_id
                )
                return
            if self.clear_errors:
                self.errors.clear(self.pid)  # a new run: the last run's errors go
            f = self._save(
                None,
                lambda _: _begin(self.now(), connector_of(record)),
                fw.UPLOADING,
                SyncStatus.IN_PROGRESS,
                RunState.IN_PROGRESS,
            )
        elif self.message.check != f.check:
            if self.message.check is None and f.stage == Stage.UPLOADING and f.operation is None:
                pass  # resume of a run paused before its files were forwarded (or a redelivery)
            elif self.message.check is None or (
                self.message.check == f.check - 1 and self.dequeue_count > 1
            ):
                # A redelivery of the message before the last recorded step: its successor may
                # never have been sent. Send it (a duplicate loses the compare-and-set later).
                self._enqueue(f.check, 0)
                return
            else:
                log.info(
                    "Dropped a stale re-check %s of profile %s run %s (now at %s)",
                    self.message.check,
                    self.pid,
                    run.run_id,
                    f.check,
                )
                return
        try:
            self._dispatch(f, record, frozen)
        except GraphError as error:
            self._graph_error(f, error)

    def _dispatch(
        self, f: Forwarding, record: ProfileRecord, frozen: Callable[[str], UploadFile]
    ) -> None:
        now = self.now()
        operation = (f.operation or "").rstrip("/").rsplit("/", 1)[-1] or None
        ref = {Stage.VALIDATING: operation, Stage.RUNNING: f.sds_run_id}.get(f.stage)
        late = fw.deadline_message(f.stage, f.stage_date_time, now, ref)
        if late:
            self._fail(f, late)
            return
        if f.stage == Stage.UPLOADING:
            self._upload(f, record, frozen)
        elif f.stage == Stage.VALIDATING:
            self._validating(f)
        elif f.stage == Stage.STARTING:
            self._starting(f)
        else:
            self._running(f)

    def _graph_error(self, f: Forwarding, error: GraphError) -> None:
        """Throttled: re-check when Graph says; transient: the host retries; else the run ends."""
        current = self._current(f)
        if error.throttled and error.retry_after is not None:
            delay = fw.capped_delay(current.stage, current.stage_date_time, self.now(),
                                    error.retry_after)
            self._enqueue(current.check, delay)
            log.info(
                "Profile %s run %s: Graph throttled (%s); re-check in %s s",
                self.pid,
                self.message.run_id,
                error.code,
                error.retry_after,
            )
            return
        if error.transient:
            raise error  # the host delivers the message again (then poisons it)
        self._fail(current, error.message)

    def _current(self, f: Forwarding) -> Forwarding:
        """The progress as last recorded by this delivery (`f` when it recorded nothing)."""
        return self._latest or f

    # -- the stages ------------------------------------------------------------------------------

    def _upload(
        self, f: Forwarding, record: ProfileRecord, frozen: Callable[[str], UploadFile]
    ) -> None:
        connector = f.connector_id
        if connector is None:
            self._fail(f, NO_CONNECTOR)
            return
        if expired(record.profile, self.now()):
            self._fail(f, fw.PROFILE_EXPIRED.format(date=record.profile.expiration_date))
            return
        file_format = record.run.file_format if record.run else V1_NAME
        wanted = CONNECTOR_FORMAT_CODES.get(file_format, CONNECTOR_FORMAT_CODES[V1_NAME])
        data = record_data(record)
        if data is not None and data.bound and (data.file_format or FILE_FORMAT) != wanted:
            self._fail(f, WRONG_FORMAT.format(connector=connector, code=data.file_format or FILE_FORMAT,
                                              files=file_format, wanted=wanted))
            return
        try:
            # A flow belongs to one school year: the first run after its end makes the next one.
            record = roll_over(self.account, self.pid, record, self.now(), self.graph)
            # Files in the other format than the profile's connector takes: a connector for them.
            record = switch_format(self.account, self.pid, record, wanted, self.now(), self.graph)
        except Busy:
            self._enqueue(f.check, LEASE_WAIT)  # the profile's objects are being changed now
            return
        except Refused as refused:
            self._fail(f, str(refused))
            return
        connector = connector_of(record) or connector
        snapshots = record.run.snapshots if record.run else {}
        expected = V21_FILE_NAMES if file_format == V21_NAME else V1_FILES
        names = [name for name in expected if name in snapshots]  # the names the new SDS expects
        # Recorded before the first byte: a delivery that finds it without an operation knows an
        # upload was cut off (a new session, resetSession=true, starts it over).
        f = self._latest = self._save(
            f.check,
            lambda cur: cur.model_copy(update={"uploads": cur.uploads + 1, "connector_id": connector}),
            fw.UPLOADING,
        )
        self._validating_mark(True)  # a run asked for meanwhile waits for these files too
        session = self.graph.get_upload_session(connector, reset=True)
        upload_session_files(self.graph, session.session_url, (frozen(name) for name in names))
        location = self.graph.validate(connector)
        self._latest = self._advance(
            f,
            fw.VALIDATING,
            fw.next_delay(Stage.VALIDATING, 0),
            stage=Stage.VALIDATING,
            operation=location,
            uploaded_files=names,
        )
        log.info(
            "Profile %s run %s: %d files uploaded to School Data Sync, validating",
            self.pid,
            self.message.run_id,
            len(names),
        )

    def _validating(self, f: Forwarding) -> None:
        assert f.operation is not None
        verdict = fw.judge_operation(self.graph.get_operation(f.operation))
        self._validating_mark(not verdict.finished)
        if not verdict.finished:
            self._advance(f, fw.VALIDATING, fw.next_delay(Stage.VALIDATING, f.checks_in_stage + 1))
            return
        key = f"{self.message.run_id}/validation"
        if verdict.refused:
            self.errors.add_many(self.pid, fw.issue_entries(key, verdict.issues, self.now()))
            self._fail(f, fw.refusal_message(verdict))
            return
        if verdict.issues:
            self.errors.add_many(self.pid, fw.issue_entries(key, verdict.issues, self.now()))
        f = self._latest = self._advance(
            f,
            fw.STARTING,
            None,
            stage=Stage.STARTING,
            validated_date_time=self.now(),
            warnings=verdict.warnings,
        )
        self._starting(f)

    def _starting(self, f: Forwarding, looked: int = 0) -> None:
        assert f.validated_date_time is not None
        now = self.now()
        decision = fw.decide_start(self.tenant.get(), f.validated_date_time, now, self.pid)
        if decision.action == "resolve":
            self._resolve_start(f, looked)
        elif decision.action == "join":
            self._join(f, decision.run_id or "")
        elif decision.action == "wait_others":
            message = fw.WAITING_FOR_OTHERS.format(count=decision.others)
            self._advance(f, message, fw.CLAIM_WAIT, waiting_for="validations")
        elif decision.action == "wait_claim":
            self._advance(f, fw.STARTING, fw.CLAIM_WAIT, waiting_for="claim")
        elif decision.action == "throttled":
            self._throttled(f, decision.until or now)
        elif decision.action == "wait_run":
            if looked < 2 and self._ended(decision.run_id or ""):
                self._starting(f, looked + 1)
                return
            message = fw.WAITING_FOR_RUN.format(run_id=decision.run_id)
            self._advance(
                f, message, fw.next_delay(Stage.RUNNING, f.checks_in_stage), waiting_for="run"
            )
        elif looked < 3:
            self._claim_and_start(f, looked)
        else:
            self._advance(f, fw.STARTING, fw.CLAIM_WAIT, waiting_for="claim")

    def _validating_mark(self, under_way: bool) -> None:
        """Enter, refresh or remove this profile in the tenant's list of validations under way."""
        now = self.now()

        def mark(doc: TenantRun) -> TenantRun:
            validating = {p: t for p, t in doc.validating.items() if now - t < fw.VALIDATING_TTL}
            validating.pop(self.pid, None)
            if under_way:
                validating[self.pid] = now
            return doc.model_copy(update={"validating": validating})

        self.tenant.update(mark)

    def _ended(self, run_id: str) -> bool:
        """Whether the tenant's run ended (marked so in the tenant document when it did)."""
        try:
            ended = fw.judge_run(self.graph.get_run(run_id)).finished
        except GraphError as error:
            if error.status != 404:
                raise
            ended = True
        if ended:
            self._mark_ended(run_id)
        return ended

    def _mark_ended(self, run_id: str) -> None:
        def ended(doc: TenantRun) -> TenantRun:
            return doc.model_copy(update={"ended": True}) if doc.run_id == run_id else doc

        self.tenant.update(ended)

    def _claim_and_start(self, f: Forwarding, looked: int) -> None:
        if self._adopt():
            self._starting(f, looked + 1)  # join the adopted run, or wait for it to end
            return
        claim = str(uuid.uuid4())
        requested = self.now()
        validated = f.validated_date_time
        assert validated is not None

        def take(doc: TenantRun) -> TenantRun:
            if fw.decide_start(doc, validated, requested, self.pid).action != "claim":
                return doc  # somebody else moved first: decide again
            return doc.model_copy(update={"claim_id": claim, "claim_date_time": requested})

        if self.tenant.update(take).claim_id != claim:
            self._starting(f, looked + 1)
            return
        try:
            answer = self.graph.start_run()
        except GraphError as error:
            until = None
            if error.throttled:
                until = self.now() + (
                    timedelta(seconds=error.retry_after)
                    if error.retry_after
                    else fw.THROTTLE_DEFAULT
                )
            self.tenant.update(lambda doc: _released(doc, claim, until))
            if until is None:
                raise
            log.info(
                "Profile %s run %s: runs/start throttled until %s",
                self.pid,
                self.message.run_id,
                until,
            )
            self._throttled(f, until)
            return
        if answer.run_id:
            self.tenant.update(lambda doc: fw.started(doc, answer.run_id or "", requested))
            log.info(
                "Profile %s run %s: School Data Sync run %s started",
                self.pid,
                self.message.run_id,
                answer.run_id,
            )
            self._join(f, answer.run_id)
            return
        # The documented answer: 202 and the operation in Location (or, per an older version of
        # the page, no Location at all). Recorded at once, so that no other worker starts a run.
        self.tenant.update(lambda doc: fw.accepted(doc, requested, answer.operation))
        log.info(
            "Profile %s run %s: runs/start accepted (operation %s)",
            self.pid,
            self.message.run_id,
            answer.operation or "none",
        )
        self._resolve_start(f, looked + 1)

    def _resolve_start(self, f: Forwarding, looked: int) -> None:
        """Find the run an accepted runs/start started: from its operation, else in GET runs.

        Any worker waiting for the tenant's run does this; the first to find the run records it.
        A run started at or after the request (less CLOCK_SKEW) has every file validated before
        it, so it is the run wanted, whoever started it. Never a second runs/start meanwhile.
        """
        tenant = self.tenant.get()
        if tenant is None or not tenant.starting or tenant.requested_date_time is None:
            self._starting(f, looked + 1)
            return
        requested = tenant.requested_date_time
        run_id, failure, pending = None, None, False
        if tenant.start_operation:
            try:
                operation = self.graph.get_operation(tenant.start_operation)
                run_id = self.graph.run_of_operation(operation)
            except GraphError as error:
                if error.transient or error.throttled or error.code != "invalidResponse":
                    raise
                # Not what Graph documents: this start is over (a later start may claim anew).
                self.tenant.update(lambda doc: fw.unstarted(doc, requested))
                self._fail(f, fw.START_FAILED.format(reason=error.message))
                return
            status = str(operation.get("status") or "")[:50]
            pending = run_id is None and status in ("", "notStarted", "running")
            if run_id is None and status == "failed":
                failure = fw.operation_failure(operation)
        if run_id is None and not pending:
            run_id = fw.adoptable_run(self.graph.list_runs(), requested)
        now = self.now()
        if run_id is not None:
            after = self.tenant.update(
                lambda doc: fw.started(doc, run_id, requested)
                if doc.starting and doc.requested_date_time == requested
                else doc
            )
            log.info("Profile %s run %s: runs/start of %s started School Data Sync run %s",
                     self.pid, self.message.run_id, requested.isoformat(), after.run_id)
            self._starting(f, looked + 1)
            return
        if failure is None and not pending and now - requested > fw.RESOLVE_WINDOW:
            failure = fw.NO_RUN_APPEARED.format(
                requested=requested.strftime("%Y-%m-%d %H:%M UTC"),
                minutes=int(fw.RESOLVE_WINDOW.total_seconds() // 60),
            )
        if failure is not None:
            self.tenant.update(lambda doc: fw.unstarted(doc, requested))
            assert f.validated_date_time is not None
            if requested >= f.validated_date_time:  # the failed start was to take our files
                self._fail(f, fw.START_FAILED.format(reason=failure))
            else:
                self._starting(f, looked + 1)
            return
        message = fw.RESOLVING.format(requested=requested.strftime("%Y-%m-%d %H:%M UTC"))
        delay = fw.next_delay(Stage.VALIDATING, f.checks_in_stage)  # 5 s, then 15 s, then 30 s
        self._advance(f, message, delay, waiting_for="run start")

    def _adopt(self) -> bool:
        """Over an expired claim, record the run its stopped holder started; whether there was one.

        Graph's 202 to that runs/start may have come without the run id ever being written: the
        tenant's runs are listed, and one started at or after the claim is the tenant's run.
        """
        tenant = self.tenant.get()
        claimed = fw.orphaned_claim(tenant, self.now())
        if tenant is None or claimed is None or tenant.claim_id is None:
            return False
        stopped = tenant.claim_id
        run_id = fw.adoptable_run(self.graph.list_runs(), claimed)
        if run_id is None:
            return False  # the holder stopped before Graph started a run: claim anew
        after = self.tenant.update(lambda doc: fw.adopted(doc, stopped, run_id))
        if after.run_id != run_id:
            return False  # another worker moved first: decide again over what it wrote
        log.warning(
            "Profile %s run %s: the claim of %s expired without a run id; adopted School Data "
            "Sync run %s, started after it",
            self.pid,
            self.message.run_id,
            claimed.isoformat(),
            run_id,
        )
        return True

    def _throttled(self, f: Forwarding, until: datetime) -> None:
        seconds = max(1, int((until - self.now()).total_seconds()) + 1)
        message = fw.THROTTLED.format(until=until.strftime("%Y-%m-%d %H:%M UTC"))
        self._advance(f, message, seconds, waiting_for="throttle")

    def _join(self, f: Forwarding, run_id: str) -> None:
        self._advance(
            f,
            fw.RUNNING.format(run_id=run_id),
            fw.next_delay(Stage.RUNNING, 0),
            stage=Stage.RUNNING,
            sds_run_id=run_id,
            waiting_for=None,
        )

    def _running(self, f: Forwarding) -> None:
        run_id = f.sds_run_id or ""
        verdict = fw.judge_run(self.graph.get_run(run_id))
        if not verdict.finished:
            self._advance(
                f,
                fw.RUNNING.format(run_id=run_id),
                fw.next_delay(Stage.RUNNING, f.checks_in_stage + 1),
            )
            return
        self._mark_ended(run_id)
        if verdict.failed:
            if verdict.blocking is not None:
                self.errors.add_many(
                    self.pid,
                    fw.issue_entries(f"{self.message.run_id}/run", [verdict.blocking], self.now()),
                )
            self._fail(f, fw.run_failed_message(run_id, verdict))
            return
        statistics = self.graph.get_statistics(run_id)
        message = fw.run_done_message(run_id, verdict.status, statistics)
        self._save(
            f.check,
            lambda cur: cur.model_copy(update={"check": cur.check + 1}),
            message,
            SyncStatus.SUCCESS,
            RunState.SUCCESS,
            synced=True,
        )
        log.info("Profile %s run %s: %s", self.pid, self.message.run_id, message)


def _begin(now: datetime, connector_id: str | None = None) -> Forwarding:
    return Forwarding(
        stage=Stage.UPLOADING, started_date_time=now, stage_date_time=now, connector_id=connector_id
    )


def _released(doc: TenantRun, claim: str, until: datetime | None) -> TenantRun:
    if doc.claim_id != claim:
        return doc
    update: dict[str, Any] = {"claim_id": None, "claim_date_time": None}
    if until is not None:
        update["throttled_until"] = until
    return doc.model_copy(update=update)
