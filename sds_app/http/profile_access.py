"""Loading the profile a request names: 404, provisioning on first read, and the usual refusals."""

from __future__ import annotations

import azure.functions as func

from sds_app.http.context import RequestContext
from sds_app.http.errors import conflict, not_found, not_supported
from sds_app import industry_data
from sds_app.settings import get_settings
from sds_app.storage.clients import get_account
from sds_app.storage.profiles import ProfileStore
from sds_app.storage.provisioning import ensure_storage
from sds_core.models.ids import canonical_profile_id
from sds_core.models.profiles import ProfileRecord, ProfileState
from sds_core.verification.checks import shorten



def profiles() -> ProfileStore:
    """The profile store of the process's account."""
    return ProfileStore(get_account())


def profile_id_of(req: func.HttpRequest) -> str:
    """The `{id}` of the route in its stored spelling; 404 when it cannot be an id."""
    raw = req.route_params.get("id", "")
    profile_id = canonical_profile_id(raw)
    if profile_id is None:
        raise not_found(f"No synchronization profile has the id {shorten(raw)!r}.")
    return profile_id


def load(ctx: RequestContext, profile_id: str) -> ProfileRecord:
    """The profile's record; 404 when there is none."""
    found = profiles().get(profile_id)
    if found is None:
        raise not_found(f"No synchronization profile has the id {profile_id!r}.")
    record = found[0]
    if record.profile.state == ProfileState.PROVISIONING:
        record = provision(ctx, profile_id, record)
    return record


def provision(ctx: RequestContext, profile_id: str, record: ProfileRecord) -> ProfileRecord:
    """The profile becomes `provisioned` once its storage exists (and, forwarding to the new
    School Data Sync, its Industry Data objects); else the next read retries."""
    try:
        ensure_storage(get_account())
    except Exception:  # noqa: BLE001 - it stays provisioning and the next read tries again
        ctx.log.exception("Provisioning storage for profile %s failed", profile_id)
        return record
    if get_settings().to_school_data_sync and record.profile.is_csv:
        return industry_data.provision(get_account(), profile_id, record)

    def ready(current: ProfileRecord) -> ProfileRecord:
        if current.profile.state == ProfileState.PROVISIONING:
            current.profile.state = ProfileState.PROVISIONED
        return current

    return profiles().update(profile_id, ready)


def writable(record: ProfileRecord) -> ProfileRecord:
    """409 while the profile is being deleted."""
    if record.is_gone:
        raise conflict("The profile is being deleted.")
    return record


def csv_only(record: ProfileRecord) -> ProfileRecord:
    """400 notSupported unless the profile takes CSV uploads."""
    if not record.profile.is_csv:
        raise not_supported("Only profiles with an educationCsvDataProvider take uploads.")
    return record
