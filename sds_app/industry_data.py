"""A profile's objects in the tenant's new School Data Sync: made, kept in step, removed.

With schoolDataSync in SDS_SYNC_TARGET a CSV profile becomes `provisioned` only once its source
system, connector, year and inbound flow exist (or a connector given at creation is found), and
`provisioningFailed` when Graph refuses; its statusMessage then names the Graph error. Their ids
are the record's extra field `industryData`. A transient failure (throttled, unreachable, 5xx)
while provisioning leaves the profile `provisioning`, and the next read tries again.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from azure.core.exceptions import ClientAuthenticationError

from sds_app.graph import GraphError, IndustryDataClient, get_graph
from sds_app.storage.account import StorageAccount
from sds_app.storage.documents import DocumentMissing
from sds_app.storage.profiles import ProfileStore
from sds_core.models import industry_data as model
from sds_core.models.industry_data import IndustryData, ObjectKind
from sds_core.models.profiles import ProfileRecord, ProfileSettings, ProfileState
from sds_core.models.status import NOT_STARTED, SyncStatus

_LOG = logging.getLogger("sds_app.industry_data")
CONNECTOR_FIELD = "industryDataConnectorId"  # in a create body: bind to the tenant's own connector
_CONNECTOR_ID = re.compile(r"(?!\.\.?$)[A-Za-z0-9._~-]{1,128}")  # not a dot segment
FAILED = "Provisioning in School Data Sync failed: {reason}"
WAITING = "Provisioning in School Data Sync is waiting: {reason}"


class Refused(Exception):
    """The objects cannot be made or used, for a reason found here (not Graph's)."""


def record_data(record: ProfileRecord) -> IndustryData | None:
    """The record's industryData, if any."""
    return model.of_record(record.model_extra)


def with_data(record: ProfileRecord, data: IndustryData) -> ProfileRecord:
    """The record with its industryData set (the record's extra field)."""
    setattr(record, model.RECORD_FIELD, data.to_json())
    return record


def bound_to(connector_id: Any) -> IndustryData:
    """industryData of a profile created with `industryDataConnectorId`; ValueError when invalid."""
    if not isinstance(connector_id, str) or not _CONNECTOR_ID.fullmatch(connector_id):
        raise ValueError(
            f"{CONNECTOR_FIELD} is the id of a dataConnector: 1 to 128 letters, digits, '.', '_', '~' or '-'."
        )
    return IndustryData(connector_id=connector_id)


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
        return model.connector_body(settings, str(data.source_system_id), graph.bind)
    if kind == "year":
        return model.year_body(now.date())
    return model.flow_body(settings, str(data.connector_id), str(data.year_id), now, graph.bind)


def ensure(graph: IndustryDataClient, settings: ProfileSettings, data: IndustryData, now: datetime,
           align: bool, progress: Callable[[IndustryData], None]) -> IndustryData:
    """Make what is missing (each new id goes to `progress` at once), or check a bound connector.

    `align` also sends the PATCH bodies that bring objects made earlier in step with the profile.
    """
    if data.bound:
        connector = graph.get_connector(str(data.connector_id))
        code = (connector.get("fileFormat") or {}).get("code")
        if code != model.FILE_FORMAT:
            raise Refused(f"the dataConnector {data.connector_id} takes fileFormat {code!r}, "
                          f"not {model.FILE_FORMAT!r}.")
        return data
    if model.expired(settings, now):
        raise Refused(f"the profile's expirationDate {settings.expiration_date} has passed.")
    made: set[ObjectKind] = set()
    for kind in model.SETUP_ORDER:
        if data.id_of(kind) is None:
            created = _creators(graph)[kind](_body(kind, settings, data, now, graph))
            data = data.with_id(kind, created["id"])
            made.add(kind)
            progress(data)
    if align:
        updaters = _updaters(graph)
        for kind, body in model.updates(settings, graph.bind).items():
            object_id = data.id_of(kind)
            if kind in data.created and kind not in made and object_id:
                updaters[kind](object_id, body)
    return data


def _transient(error: GraphError) -> bool:
    return error.throttled or error.status is None or error.status >= 500


def provision(account: StorageAccount, profile_id: str, record: ProfileRecord, align: bool = False,
              graph: IndustryDataClient | None = None) -> ProfileRecord:
    """Make (or check, or with `align` bring in step) the profile's objects and set its state."""
    store = ProfileStore(account)
    graph = graph or get_graph()
    data = record_data(record) or IndustryData()
    now = datetime.now(UTC)

    latest = [data]

    def keep(current_data: IndustryData) -> None:
        latest[0] = current_data
        try:
            store.update(profile_id, lambda current: with_data(current, current_data))
        except DocumentMissing:
            pass  # deleted meanwhile: settle below says so

    failure: str | None = None
    waiting = False
    try:
        data = ensure(graph, record.profile, data, now, align, keep)
    except Refused as refusal:
        failure = str(refusal)
    except GraphError as error:
        _LOG.warning("Industry Data provisioning of profile %s: %s", profile_id, error.message)
        failure = error.message
        waiting = _transient(error) and record.profile.state == ProfileState.PROVISIONING
    except ClientAuthenticationError as error:  # no token: the identity or SDS_GRAPH_AUTH is wrong
        failure = f"no token for Microsoft Graph ({str(error).splitlines()[0][:300]})."
    if failure is not None:
        data = latest[0]  # what was made before the refusal stays recorded

    def settle(current: ProfileRecord) -> ProfileRecord:
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


def purge_industry_data(account: StorageAccount, profile_id: str) -> None:
    """Purge step: delete the objects the app made for the profile (never bound ones), flow first."""
    found = ProfileStore(account).get(profile_id)
    if found is None or not found[0].is_gone:
        return  # only a profile being deleted loses its objects
    data = record_data(found[0])
    if data is None or not data.created:
        return
    graph = get_graph()
    deleters = _deleters(graph)
    for kind in reversed(model.SETUP_ORDER):
        object_id = data.id_of(kind)
        if kind in data.created and object_id:
            deleters[kind](object_id)  # a 404 counts as deleted; another refusal fails the purge
