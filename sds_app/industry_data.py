"""A profile's objects in the tenant's new School Data Sync: made once, kept in step, removed.

With schoolDataSync in SDS_SYNC_TARGET a CSV profile becomes `provisioned` only once its source
system, connector, year and inbound flow exist (or a connector given at creation is found), and
`provisioningFailed` when Graph refuses; its statusMessage then names the Graph error. Their ids
are the record's extra field `industryData`. A transient failure (throttled, unreachable, 5xx)
while provisioning leaves the profile `provisioning`, and the next read tries again.

Only one request or worker makes or changes a profile's objects at a time: it first writes a
lease into the record (ETag compare-and-set), and a live lease held by another makes the others
leave the objects alone, so concurrent reads and PATCHes never make a second set. A flow belongs
to one school year: the first run after its year has ended makes the next year and its flow,
then deletes the old ones (`roll_over`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from azure.core.exceptions import ClientAuthenticationError

from sds_app.graph import GraphError, IndustryDataClient, get_graph
from sds_app.storage.account import StorageAccount
from sds_app.storage.connector_bindings import ConnectorBindings, ConnectorTaken
from sds_app.storage.documents import DocumentMissing
from sds_app.storage.forwarding import TenantRunStore
from sds_app.storage.profiles import ProfileStore
from sds_core.models import industry_data as model
from sds_core.models.industry_data import IndustryData, ObjectKind
from sds_core.models.profiles import ProfileRecord, ProfileSettings, ProfileState
from sds_core.models.status import NOT_STARTED, SyncStatus
from sds_core.schooldatasync.state import Stage

_LOG = logging.getLogger("sds_app.industry_data")
CONNECTOR_FIELD = "industryDataConnectorId"  # in a create body: bind to the tenant's own connector
FAILED = "Provisioning in School Data Sync failed: {reason}"
WAITING = "Provisioning in School Data Sync is waiting: {reason}"
LEASE = timedelta(minutes=5)  # longer than the Graph calls of one provisioning (their deadlines)
# A profile whose forwarding is here has files in the connector that a run may still take.
UNRUN_STAGES = (Stage.UPLOADING, Stage.VALIDATING, Stage.STARTING)


class Refused(Exception):
    """The objects cannot be made or used, for a reason found here (not Graph's)."""


class Busy(Exception):
    """Another request or worker holds the profile's lease."""


def record_data(record: ProfileRecord) -> IndustryData | None:
    """The record's industryData, if any (None when it is unreadable)."""
    try:
        return model.of_record(record.model_extra)
    except ValueError:
        return None


def with_data(record: ProfileRecord, data: IndustryData) -> ProfileRecord:
    """The record with its industryData set (the record's extra field)."""
    setattr(record, model.RECORD_FIELD, data.to_json())
    return record


def bound_to(connector_id: Any) -> IndustryData:
    """industryData of a profile created with `industryDataConnectorId`; ValueError when invalid."""
    if not model.is_object_id(connector_id):
        raise ValueError(
            f"{CONNECTOR_FIELD} is the id of a dataConnector: 1 to 128 letters, digits, '.', '_', '~' or '-'."
        )
    return IndustryData(connector_id=connector_id)


def refusal(settings: ProfileSettings) -> str | None:
    """Why the new SDS would refuse this profile's settings (the 400 of create and PATCH)."""
    found = model.matching_refusal(settings)
    return found.message if found else None


def _creators(graph: IndustryDataClient) -> dict[ObjectKind, Callable[[dict[str, Any]], dict[str, Any]]]:
    return {"sourceSystem": graph.create_source_system, "connector": graph.create_connector,
            "year": graph.create_year, "inboundFlow": graph.create_inbound_flow}


def _updaters(graph: IndustryDataClient) -> dict[ObjectKind, Callable[[str, dict[str, Any]], Any]]:
    return {"sourceSystem": graph.update_source_system, "connector": graph.update_connector,
            "year": graph.update_year, "inboundFlow": graph.update_inbound_flow}


def _deleters(graph: IndustryDataClient) -> dict[ObjectKind, Callable[[str], bool]]:
    return {"sourceSystem": graph.delete_source_system, "connector": graph.delete_connector,
            "year": graph.delete_year, "inboundFlow": graph.delete_inbound_flow}


def _body(kind: ObjectKind, settings: ProfileSettings, data: IndustryData, now: datetime,
          graph: IndustryDataClient) -> dict[str, Any]:
    if kind == "sourceSystem":
        return model.source_system_body(settings, graph.bind)
    if kind == "connector":
        return model.connector_body(settings, str(data.source_system_id), graph.bind,
                                    data.file_format or model.FILE_FORMAT)
    if kind == "year":
        return model.year_body(now)
    return model.flow_body(settings, str(data.connector_id), str(data.year_id), now, graph.bind,
                           data.year_end)


def _year_end(graph: IndustryDataClient, year_id: str) -> date | None:
    """endDate of a year made before the app recorded it (records of earlier versions)."""
    value = graph.get_year(year_id).get("endDate")
    try:
        return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        return None


def ensure(graph: IndustryDataClient, settings: ProfileSettings, data: IndustryData, now: datetime,
           align: bool, progress: Callable[[IndustryData], None]) -> IndustryData:
    """Make what is missing (each new id goes to `progress` at once), or check a bound connector.

    `align` also sends the PATCH bodies that bring objects made earlier in step with the profile.
    """
    if data.bound:
        connector = graph.get_connector(str(data.connector_id))
        code = (connector.get("fileFormat") or {}).get("code")
        if code not in model.FILE_FORMATS:
            raise Refused(f"the dataConnector {data.connector_id} takes fileFormat {str(code)[:60]!r}, "
                          f"not {' or '.join(repr(c) for c in model.FILE_FORMATS)}.")
        return data.model_copy(update={"file_format": code})
    if model.expired(settings, now):
        raise Refused(f"the profile's expirationDate {settings.expiration_date} has passed.")
    refused = refusal(settings)
    if refused:
        raise Refused(refused)
    made: set[ObjectKind] = set()
    for kind in model.SETUP_ORDER:
        if data.id_of(kind) is None:
            body = _body(kind, settings, data, now, graph)
            created = _creators(graph)[kind](body)
            data = data.with_id(kind, created["id"])
            if kind == "connector":
                data = data.model_copy(update={"file_format": body["fileFormat"]["code"]})
            if kind == "year":
                data = data.model_copy(update={"year_end": date.fromisoformat(body["endDate"])})
            made.add(kind)
            progress(data)
        elif kind == "year" and data.year_end is None and "year" in data.created:
            data = data.model_copy(update={"year_end": _year_end(graph, str(data.year_id))})
            progress(data)
    if align:
        updaters = _updaters(graph)
        for kind, body in model.updates(settings, graph.bind, data.year_end).items():
            object_id = data.id_of(kind)
            if kind in data.created and kind not in made and object_id:
                updaters[kind](object_id, body)
    return data


class _Lease:
    """The profile's lease, taken before its objects are made or changed and given back after."""

    def __init__(self, store: ProfileStore, profile_id: str, now: datetime) -> None:
        self.store = store
        self.profile_id = profile_id
        self.id = str(uuid.uuid4())
        self.now = now

    def take(self) -> ProfileRecord:
        """The record with the lease taken; Busy when another holds it, DocumentMissing if gone."""

        def take(current: ProfileRecord) -> ProfileRecord:
            data = record_data(current) or IndustryData()
            if data.leased_by(self.id, self.now):
                raise Busy(self.profile_id)
            return with_data(current, data.model_copy(
                update={"lease_id": self.id, "lease_until": self.now + LEASE}))

        return self.store.update(self.profile_id, take)

    def keep(self, data: IndustryData) -> None:
        """Record new ids while the lease is ours (a profile deleted meanwhile keeps nothing)."""
        def write(current: ProfileRecord) -> ProfileRecord:
            held = record_data(current)
            if held is not None and held.lease_id not in (None, self.id):
                raise Busy(self.profile_id)  # expired and taken over: stop making objects
            return with_data(current, self.mine(data))

        try:
            self.store.update(self.profile_id, write)
        except DocumentMissing:
            pass  # deleted meanwhile: settle below says so

    def mine(self, data: IndustryData) -> IndustryData:
        """`data` still holding this lease."""
        return data.model_copy(update={"lease_id": self.id, "lease_until": self.now + LEASE})

    @staticmethod
    def released(data: IndustryData) -> IndustryData:
        """`data` without a lease."""
        return data.model_copy(update={"lease_id": None, "lease_until": None})


def provision(account: StorageAccount, profile_id: str, record: ProfileRecord, align: bool = False,
              graph: IndustryDataClient | None = None) -> ProfileRecord:
    """Make (or check, or with `align` bring in step) the profile's objects and set its state."""
    store = ProfileStore(account)
    now = datetime.now(UTC)
    lease = _Lease(store, profile_id, now)
    try:
        record = lease.take()
    except (Busy, DocumentMissing):
        return record  # another request is at it (or the profile is gone): nothing to do here
    graph = graph or get_graph()
    data = record_data(record) or IndustryData()
    latest = [data]

    def keep(current_data: IndustryData) -> None:
        latest[0] = current_data
        lease.keep(current_data)
        if current_data.connector_id and "connector" in current_data.created:
            ConnectorBindings(account).bind(current_data.connector_id, profile_id)

    failure: str | None = None
    waiting = False
    try:
        data = ensure(graph, record.profile, data, now, align, keep)
    except Busy:
        return record  # the lease expired and another took it over: it settles the record
    except (Refused, ConnectorTaken) as refusal_:
        failure = str(refusal_)
    except GraphError as error:
        _LOG.warning("Industry Data provisioning of profile %s: %s", profile_id, error.message)
        failure = error.message
        waiting = error.transient and record.profile.state == ProfileState.PROVISIONING
    except ClientAuthenticationError as error:  # no token: the identity or SDS_GRAPH_AUTH is wrong
        failure = f"no token for Microsoft Graph ({str(error).splitlines()[0][:300]})."
    if failure is not None:
        data = latest[0]  # what was made before the refusal stays recorded
    data = lease.released(data)

    def settle(current: ProfileRecord) -> ProfileRecord:
        held = record_data(current)
        if held is not None and held.lease_id not in (None, lease.id):
            return current  # taken over meanwhile: the new holder settles
        current = with_data(current, data)
        if current.is_gone:
            return current  # being deleted: only the ids matter now (the purge removes the objects)
        if failure is None:
            if current.profile.state == ProfileState.PROVISIONING_FAILED and current.run is None:
                current.status.status, current.status.status_message = SyncStatus.PAUSED, NOT_STARTED
            current.profile.state = ProfileState.PROVISIONED
        elif waiting:
            current.status.status_message = WAITING.format(reason=failure)
        else:
            current.profile.state = ProfileState.PROVISIONING_FAILED
            current.status.status = SyncStatus.ERROR
            current.status.status_message = FAILED.format(reason=failure)
        return current

    try:
        return store.update(profile_id, settle)
    except DocumentMissing:
        return with_data(record, data)  # deleted meanwhile: the purge step finds nothing to remove


def roll_over(account: StorageAccount, profile_id: str, record: ProfileRecord, now: datetime,
              graph: IndustryDataClient | None = None) -> ProfileRecord:
    """Before a run: a profile whose flow's school year has ended gets the next year and its flow.

    The new year and flow are made first (each id recorded at once), then the old flow and year
    are deleted. Bound profiles are the tenant's own setup and are left alone. Raises Busy while
    another holds the lease, Refused or GraphError when Graph refuses.
    """
    data = record_data(record)
    if data is None or data.bound or "inboundFlow" not in data.created:
        return record
    if not model.year_over(data, now):
        return record
    made, old = _replace(account, profile_id, now, graph, ("inboundFlow", "year"),
                         {"year_end": None})
    _LOG.info("Profile %s: school year ended; the next year's flow %s replaces flow %s",
              profile_id, made.inbound_flow_id, old.get("inboundFlow"))
    return _released(account, profile_id, made)


def switch_format(account: StorageAccount, profile_id: str, record: ProfileRecord, code: str,
                  now: datetime, graph: IndustryDataClient | None = None) -> ProfileRecord:
    """A connector of fileFormat `code` (and its flow) in place of the profile's connector.

    For a run whose files are in the other format (a profile that moves from the classic six to
    v2.1, or back): the new connector and flow are made first, under the same source system and
    year, then the old flow and connector are deleted. Only for objects the app made.
    """
    data = record_data(record)
    if data is None or data.bound or (data.file_format or model.FILE_FORMAT) == code:
        return record
    made, old = _replace(
        account, profile_id, now, graph, ("inboundFlow", "connector"), {"file_format": code},
        lambda made: ConnectorBindings(account).bind(str(made.connector_id), profile_id),
    )
    if old.get("connector"):
        ConnectorBindings(account).release(str(old["connector"]), profile_id)
    _LOG.info("Profile %s: connector %s (%s) replaces connector %s", profile_id,
              made.connector_id, code, old.get("connector"))
    return _released(account, profile_id, made)


def _replace(
    account: StorageAccount,
    profile_id: str,
    now: datetime,
    graph: IndustryDataClient | None,
    kinds: tuple[str, ...],
    update: dict[str, object],
    made_hook: Callable[[IndustryData], None] | None = None,
) -> tuple[IndustryData, dict[str, str | None]]:
    """Under the lease, new objects of `kinds` made first (with `update`), then the old deleted.

    `made_hook` runs on what was made before the old objects go (a failure gives the lease back).
    Returns what was made, still leased, and the old ids by kind.
    """
    store = ProfileStore(account)
    lease = _Lease(store, profile_id, now)
    record = lease.take()
    graph = graph or get_graph()
    data = record_data(record) or IndustryData()
    old = {kind: data.id_of(kind) for kind in kinds if kind in data.created}
    fresh = data
    for kind in kinds:
        fresh = fresh.with_id(kind, None)
    fresh = fresh.model_copy(update=update)
    try:
        made = ensure(graph, record.profile, fresh, now, False, lease.keep)
        if made_hook is not None:
            made_hook(made)
    except BaseException:
        store.update(profile_id, lambda current: _give_back(current, lease.id))
        raise
    deleters = _deleters(graph)
    for kind, object_id in old.items():
        if object_id and model.is_object_id(object_id):
            deleters[kind](object_id)  # type: ignore[index]
    return made, old


def _released(account: StorageAccount, profile_id: str, made: IndustryData) -> ProfileRecord:
    """The record with what was made, the lease given up."""
    done = _Lease.released(made)
    return ProfileStore(account).update(profile_id, lambda current: with_data(current, done))


def _give_back(current: ProfileRecord, lease_id: str) -> ProfileRecord:
    """The record without the lease `lease_id` (what was made under it stays recorded)."""
    held = record_data(current)
    if held is None or held.lease_id != lease_id:
        return current
    return with_data(current, _Lease.released(held))


def _reset_session(graph: IndustryDataClient, connector_id: str) -> None:
    """A new, empty upload session: files uploaded or validated for a deleted profile never run."""
    try:
        graph.get_upload_session(connector_id, reset=True)
    except GraphError as error:
        if error.status != 404:
            raise


def purge_industry_data(account: StorageAccount, profile_id: str) -> None:
    """Purge step: files not yet run discarded; the objects the app made deleted, flow first.

    Bound objects stay (the tenant's own setup), but their upload session is reset when the
    profile's last files may not have been run yet, and the connector is released.
    """
    found = ProfileStore(account).get(profile_id)
    if found is None or not found[0].is_gone:
        return  # only a profile being deleted loses its objects
    record = found[0]
    data = record_data(record)
    TenantRunStore(account).update(lambda doc: doc.model_copy(
        update={"validating": {p: t for p, t in doc.validating.items() if p != profile_id}}))
    if data is None:
        return
    graph = get_graph()
    forwarding = record.run.forwarding if record.run else None
    unrun = forwarding is not None and forwarding.stage in UNRUN_STAGES and record.run.is_open
    if unrun and model.is_object_id(data.connector_id):
        _reset_session(graph, str(data.connector_id))
    deleters = _deleters(graph)
    for kind in reversed(model.SETUP_ORDER):
        object_id = data.id_of(kind)
        if kind in data.created and object_id:
            if not model.is_object_id(object_id):
                _LOG.warning("Profile %s: its %s id %r is not an Industry Data id; not deleted",
                             profile_id, kind, object_id[:200])
                continue
            deleters[kind](object_id)  # a 404 counts as deleted; another refusal fails the purge
    if data.connector_id:
        ConnectorBindings(account).release(data.connector_id, profile_id)
