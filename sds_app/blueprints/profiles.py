"""The synchronizationProfiles routes of graph-api.md, plus the `/uploads` extensions."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import azure.functions as func
from azure.core.exceptions import ResourceNotFoundError

from sds_app import industry_data
from sds_app.auth import Access
from sds_app.http.body import read_json_object
from sds_app.http.context import RequestContext
from sds_app.http.errors import (
    bad_request,
    conflict,
    not_found,
    unavailable,
)
from sds_app.http.handler import handle
from sds_app.http.paging import page_body, parse_paging
from sds_app.http.query import query_options
from sds_app.http.profile_access import (
    csv_only,
    load,
    profile_id_of,
    profiles,
    provision,
    writable,
)
from sds_app.http.responses import empty_response, json_response
from sds_app.settings import UPLOAD_CONTAINER, get_settings
from sds_app.storage.clients import get_account
from sds_app.storage.connector_bindings import ConnectorBindings, ConnectorTaken
from sds_app.storage.directory import SyncStateStore
from sds_app.storage.documents import DocumentExists
from sds_app.storage.names import is_plain_file_name, upload_blob
from sds_app.storage.provisioning import ensure_state_container
from sds_app.storage.sas import upload_url
from sds_app.storage.sync_errors import SyncErrorStore
from sds_app.storage.sync_queue import enqueue_purge, enqueue_run
from sds_app.storage.uploads import UploadFolder
from sds_core.models import status as run_status
from sds_core.models.ids import canonical_profile_id
from sds_core.models.industry_data import IndustryData
from sds_core.verification.checks import shorten
from sds_core.models.profiles import (
    Invalid,
    Profile,
    ProfileRecord,
    ProfileSettings,
    ProfileState,
    new_profile,
    parse_settings,
    patch_settings,
    provider_change,
    with_settings,
)

profile_routes = func.Blueprint()

ROOT = "beta/education/synchronizationProfiles"
ITEM = ROOT + "/{id}"
UNKNOWN_ENUM_MEMBERS = "include-unknown-enum-members"


def _now() -> datetime:
    return datetime.now(UTC)


def _errors() -> SyncErrorStore:
    return SyncErrorStore(get_account())


def _entity(ctx: RequestContext, profile: Profile) -> dict[str, Any]:
    return {
        "@odata.context": f"{ctx.base}/$metadata#education/synchronizationProfiles/$entity",
        **profile.model_dump(mode="json"),
    }


def _valid(parsed: ProfileSettings | Invalid) -> ProfileSettings:
    if isinstance(parsed, Invalid):
        raise bad_request(parsed.message)
    return parsed


def _location(ctx: RequestContext, profile_id: str) -> dict[str, str]:
    return {"Location": f"{ctx.base}/education/synchronizationProfiles/{profile_id}"}


def _connector(body: dict[str, Any]) -> IndustryData | None:
    """`industryDataConnectorId` of a create body (taken out of it): the connector to bind to."""
    if industry_data.CONNECTOR_FIELD not in body:
        return None
    try:
        bound = industry_data.bound_to(body.pop(industry_data.CONNECTOR_FIELD))
    except ValueError as invalid:
        raise bad_request(str(invalid)) from None
    return bound if get_settings().to_school_data_sync else None


def _same_connector(current: ProfileRecord, wanted: IndustryData | None) -> None:
    """400 when a body names another connector than the profile's: it is chosen at creation."""
    if wanted is None:
        return
    data = industry_data.record_data(current)
    if data is None or data.connector_id != wanted.connector_id:
        raise bad_request(f"{industry_data.CONNECTOR_FIELD} is chosen when the profile is created.")


def _school_data_sync_ok(settings: ProfileSettings, current: ProfileRecord | None = None) -> None:
    """400 for settings the new School Data Sync would refuse, when runs are forwarded there."""
    if not (get_settings().to_school_data_sync and settings.is_csv):
        return
    data = industry_data.record_data(current) if current is not None else None
    if data is not None and data.bound:
        return  # the tenant's own source system matches users; the app sends no settings
    refused = industry_data.refusal(settings)
    if refused:
        raise bad_request(refused)


def _in_step(ctx: RequestContext, record: ProfileRecord) -> ProfileRecord:
    """After PATCH or PUT: the profile's Industry Data objects follow its settings (or are made)."""
    ready = (ProfileState.PROVISIONED, ProfileState.PROVISIONING_FAILED)
    if not (get_settings().to_school_data_sync and record.profile.is_csv and record.profile.state in ready):
        return record
    return industry_data.provision(get_account(), record.profile.id, record, align=True)


def _create_record(
    profile_id: str, settings: ProfileSettings, bound: IndustryData | None = None
) -> ProfileRecord:
    record = ProfileRecord(profile=new_profile(profile_id, settings))
    ensure_state_container(get_account())
    if bound is not None:
        industry_data.with_data(record, bound)
        try:
            ConnectorBindings(get_account()).bind(str(bound.connector_id), profile_id)
        except ConnectorTaken as taken:
            raise conflict(str(taken)) from None
    else:
        _school_data_sync_ok(settings)
    profiles().create(record)
    return record


# --- the collection -------------------------------------------------------------------------


@profile_routes.route(route=ROOT, methods=["GET"])
def list_profiles(req: func.HttpRequest) -> func.HttpResponse:
    """GET /synchronizationProfiles: a page of profiles ($top, $skip, $count)."""

    def run(ctx: RequestContext) -> func.HttpResponse:
        paging = parse_paging(query_options(req))
        records, total = profiles().list(paging.skip, paging.top)
        items = [r.profile.model_dump(mode="json") for r in records]
        context = f"{ctx.base}/$metadata#education/synchronizationProfiles"
        more = paging.skip + paging.top < total
        return json_response(ctx, page_body(ctx, context, items, paging, more, total))

    return handle(req, Access.READ, run)


@profile_routes.route(route=ROOT, methods=["POST"])
def create_profile(req: func.HttpRequest) -> func.HttpResponse:
    """POST /synchronizationProfiles: 202 with the profile, `provisioning`."""

    def run(ctx: RequestContext) -> func.HttpResponse:
        body = read_json_object(req)
        bound = _connector(body)
        settings = _valid(parse_settings(body))
        record = _create_record(str(uuid.uuid4()), settings, bound)
        provision(ctx, record.profile.id, record)
        return json_response(
            ctx, _entity(ctx, record.profile), 202, _location(ctx, record.profile.id)
        )

    return handle(req, Access.WRITE, run)


# --- one profile ----------------------------------------------------------------------------


@profile_routes.route(route=ITEM, methods=["GET"])
def get_profile(req: func.HttpRequest) -> func.HttpResponse:
    """GET /synchronizationProfiles/{id}."""

    def run(ctx: RequestContext) -> func.HttpResponse:
        return json_response(ctx, _entity(ctx, load(ctx, profile_id_of(req)).profile))

    return handle(req, Access.READ, run)


@profile_routes.route(route=ITEM, methods=["PUT"])
def replace_profile(req: func.HttpRequest) -> func.HttpResponse:
    """PUT /synchronizationProfiles/{id}: create or replace the profile with that id (202)."""

    def run(ctx: RequestContext) -> func.HttpResponse:
        profile_id = canonical_profile_id(req.route_params.get("id", ""))
        if profile_id is None:
            raise bad_request(
                "A profile id is a GUID, or 1 to 64 letters, digits, '.', '_' or '-' "
                "starting with a letter or a digit."
            )
        body = read_json_object(req)
        if canonical_profile_id(body.get("id", profile_id)) != profile_id:
            raise bad_request("The id in the body differs from the id in the URL.")
        bound = _connector(body)
        settings = _valid(parse_settings(body))
        if profiles().get(profile_id) is None:
            try:
                record = _create_record(profile_id, settings, bound)
            except DocumentExists:
                pass  # created meanwhile: replace it below
            else:
                provision(ctx, profile_id, record)
                return json_response(
                    ctx, _entity(ctx, record.profile), 202, _location(ctx, profile_id)
                )

        def replace(current: ProfileRecord) -> ProfileRecord:
            _valid(provider_change(writable(current).profile, settings) or settings)
            _same_connector(current, bound)
            _school_data_sync_ok(settings, current)
            current.profile = with_settings(current.profile, settings)
            return current

        record = _in_step(ctx, profiles().update(profile_id, replace))
        return json_response(ctx, _entity(ctx, record.profile), 202)

    return handle(req, Access.WRITE, run)


@profile_routes.route(route=ITEM, methods=["PATCH"])
def update_profile(req: func.HttpRequest) -> func.HttpResponse:
    """PATCH /synchronizationProfiles/{id}: merge the body into the profile (202)."""

    def run(ctx: RequestContext) -> func.HttpResponse:
        profile_id = profile_id_of(req)
        body = read_json_object(req)
        if canonical_profile_id(body.get("id", profile_id)) != profile_id:
            raise bad_request("The id of a profile cannot be changed.")
        load(ctx, profile_id)
        bound = _connector(body)

        def patch(current: ProfileRecord) -> ProfileRecord:
            settings = _valid(patch_settings(writable(current).profile, body))
            _valid(provider_change(current.profile, settings) or settings)
            _same_connector(current, bound)
            _school_data_sync_ok(settings, current)
            current.profile = with_settings(current.profile, settings)
            return current

        record = _in_step(ctx, profiles().update(profile_id, patch))
        return json_response(ctx, _entity(ctx, record.profile), 202)

    return handle(req, Access.WRITE, run)


@profile_routes.route(route=ITEM, methods=["DELETE"])
def delete_profile(req: func.HttpRequest) -> func.HttpResponse:
    """DELETE /synchronizationProfiles/{id}: 202 and `deleting`; the worker then purges it all.

    Writers that still run for the profile (a sync, a verification) see `deleting` or the missing
    record at their next step, stop, and purge what they wrote; so nothing outlives the purge.
    """

    def run(ctx: RequestContext) -> func.HttpResponse:
        profile_id = profile_id_of(req)
        load(ctx, profile_id)

        def deleting(current: ProfileRecord) -> ProfileRecord:
            current.profile.state = ProfileState.DELETING
            return current

        profiles().update(profile_id, deleting)
        try:
            enqueue_purge(get_account(), profile_id)
        except Exception:
            ctx.log.exception("Queueing the purge of profile %s failed", profile_id)
            raise unavailable("The deletion could not be queued; send DELETE again.") from None
        return empty_response(ctx, 202)

    return handle(req, Access.WRITE, run)


# --- uploads --------------------------------------------------------------------------------


def _upload_url(req: func.HttpRequest) -> func.HttpResponse:
    def run(ctx: RequestContext) -> func.HttpResponse:
        profile_id = profile_id_of(req)
        record = csv_only(writable(load(ctx, profile_id)))
        if record.profile.state != ProfileState.PROVISIONED:
            raise conflict("The profile is not provisioned yet; try again shortly.")
        if record.run is not None and record.run.is_busy:
            raise conflict("Uploads are blocked while a synchronization is queued or in progress.")
        url = upload_url(get_account(), profile_id, get_settings().upload_url_ttl_minutes, _now())
        return json_response(ctx, {"@odata.context": f"{ctx.base}/$metadata#String", "value": url})

    return handle(req, Access.WRITE, run)


@profile_routes.route(route=ITEM + "/uploadUrl", methods=["GET"])
def get_upload_url(req: func.HttpRequest) -> func.HttpResponse:
    """GET .../{id}/uploadUrl: a write-only SAS URL for the profile's upload folder."""
    return _upload_url(req)


@profile_routes.route(route=ITEM + "/uploadUrl()", methods=["GET"])
def get_upload_url_call(req: func.HttpRequest) -> func.HttpResponse:
    """GET .../{id}/uploadUrl(): the same, as the Graph SDK spells the function call."""
    return _upload_url(req)


@profile_routes.route(route=ITEM + "/uploads", methods=["GET"])
def list_uploads(req: func.HttpRequest) -> func.HttpResponse:
    """GET .../{id}/uploads (extension): the files now in the profile's upload folder."""

    def run(ctx: RequestContext) -> func.HttpResponse:
        profile_id = profile_id_of(req)
        csv_only(load(ctx, profile_id))
        files = [upload.to_json() for upload in UploadFolder(get_account(), profile_id).list()]
        return json_response(ctx, {"value": files})

    return handle(req, Access.READ, run)


@profile_routes.route(route=ITEM + "/uploads/{fileName}", methods=["DELETE"])
def delete_upload(req: func.HttpRequest) -> func.HttpResponse:
    """DELETE .../{id}/uploads/{fileName} (extension): remove a stray upload (204)."""

    def run(ctx: RequestContext) -> func.HttpResponse:
        profile_id = profile_id_of(req)
        file_name = req.route_params.get("fileName", "")
        if not is_plain_file_name(file_name):
            raise bad_request(
                "A file name is 1 to 255 characters without '/', '\\' or control characters, "
                "and not '.' or '..'."
            )
        record = csv_only(writable(load(ctx, profile_id)))
        blob_name = upload_blob(profile_id, file_name)
        if record.run is not None:
            if record.run.is_busy:
                raise conflict(
                    "Uploads are blocked while a synchronization is queued or in progress."
                )
            if any(f.blob == blob_name for f in record.run.snapshots.values()):
                raise conflict(
                    "The file is frozen for the last synchronization, which reset syncs again."
                )
        container = get_account().blobs.get_container_client(UPLOAD_CONTAINER)
        try:
            container.delete_blob(blob_name, delete_snapshots="include")
        except ResourceNotFoundError:
            raise not_found(f"No upload named {shorten(file_name)!r}.") from None
        return empty_response(ctx, 204)

    return handle(req, Access.WRITE, run)


# --- status and errors ----------------------------------------------------------------------


@profile_routes.route(route=ITEM + "/profileStatus", methods=["GET"])
def get_profile_status(req: func.HttpRequest) -> func.HttpResponse:
    """GET .../{id}/profileStatus."""

    def run(ctx: RequestContext) -> func.HttpResponse:
        profile_id = profile_id_of(req)
        record = load(ctx, profile_id)
        opted_in = UNKNOWN_ENUM_MEMBERS in (req.headers.get("prefer") or "").lower()
        view = run_status.status_view(
            profile_id, record.status, _errors().count(profile_id), opted_in
        )
        context = (
            f"{ctx.base}/$metadata#education/synchronizationProfiles('{profile_id}')"
            "/profileStatus/$entity"
        )
        return json_response(ctx, {"@odata.context": context, **view.model_dump(mode="json")})

    return handle(req, Access.READ, run)


@profile_routes.route(route=ITEM + "/errors", methods=["GET"])
def list_errors(req: func.HttpRequest) -> func.HttpResponse:
    """GET .../{id}/errors: a page of sync errors ($top, $skip, $count)."""

    def run(ctx: RequestContext) -> func.HttpResponse:
        profile_id = profile_id_of(req)
        paging = parse_paging(query_options(req))
        load(ctx, profile_id)
        store = _errors()
        found = store.list(profile_id, paging.skip, paging.top + 1)
        total = store.count(profile_id) if paging.count else None
        items = [e.model_dump(mode="json") for e in found[: paging.top]]
        context = f"{ctx.base}/$metadata#education/synchronizationProfiles('{profile_id}')/errors"
        return json_response(
            ctx, page_body(ctx, context, items, paging, len(found) > paging.top, total)
        )

    return handle(req, Access.READ, run)


# --- pause, resume, reset -------------------------------------------------------------------

Step = Callable[[ProfileRecord, datetime], run_status.Transition]


def _transition(req: func.HttpRequest, step: Step, reset: bool = False) -> func.HttpResponse:
    """Apply a status-table event with If-Match; enqueue its message, undone if that fails."""

    def run(ctx: RequestContext) -> func.HttpResponse:
        profile_id = profile_id_of(req)
        load(ctx, profile_id)
        now = _now()
        before: dict[str, Any] = {}
        after: dict[str, run_status.Transition] = {}

        def apply(current: ProfileRecord) -> ProfileRecord:
            writable(current)
            before["status"], before["run"] = current.status, current.run
            after["t"] = transition = step(current, now)
            return current.model_copy(update={"status": transition.status, "run": transition.run})

        profiles().update(profile_id, apply)
        transition = after["t"]
        if reset:
            # Dropped here, not by the worker: a reset run paused before it started and then
            # resumed arrives as "resume", and must still write everything again.
            _errors().clear(profile_id)
            SyncStateStore(get_account()).drop_baseline(profile_id)
        if transition.enqueue is not None and transition.run is not None:
            message = run_status.SyncMessage.for_run(profile_id, transition.run, transition.enqueue)
            try:
                enqueue_run(get_account(), message)
            except Exception:
                ctx.log.exception("Enqueueing run %s of %s failed", message.run_id, profile_id)
                _undo(profile_id, transition, before)
                raise unavailable("The synchronization could not be queued; try again.") from None
        return empty_response(ctx, 200)

    return handle(req, Access.WRITE, run)


def _undo(profile_id: str, transition: run_status.Transition, before: dict[str, Any]) -> None:
    def restore(current: ProfileRecord) -> ProfileRecord:
        if current.status == transition.status and current.run == transition.run:
            return current.model_copy(update={"status": before["status"], "run": before["run"]})
        return current

    profiles().update(profile_id, restore)


@profile_routes.route(route=ITEM + "/pause", methods=["POST"])
def pause_profile(req: func.HttpRequest) -> func.HttpResponse:
    """POST .../{id}/pause: 200 while in progress, else 409."""
    return _transition(req, lambda r, now: run_status.pause(r.status, r.run, now))


@profile_routes.route(route=ITEM + "/resume", methods=["POST"])
def resume_profile(req: func.HttpRequest) -> func.HttpResponse:
    """POST .../{id}/resume: 200 when paused with an open run (queued again), else 409."""
    return _transition(req, lambda r, now: run_status.resume(r.status, r.run, now))


@profile_routes.route(route=ITEM + "/reset", methods=["POST"])
def reset_profile(req: func.HttpRequest) -> func.HttpResponse:
    """POST .../{id}/reset: 200 when a run exists (errors cleared, files queued again), else 409."""
    return _transition(
        req,
        lambda r, now: run_status.reset(r.status, r.run, str(uuid.uuid4()), now),
        reset=True,
    )


__all__ = ["profile_routes"]
