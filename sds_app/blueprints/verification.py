"""Verify on upload (blob trigger), `POST .../start`, and `GET .../verificationReport`.

No `from __future__ import annotations` here: the worker reads the trigger's real annotation
(blob.BlobClient) to bind it as an SDK type, so the host never loads the blob itself.
"""


import logging
import os

import azure.functions as func
import azurefunctions.extensions.bindings.blob as blob

from sds_app import telemetry
from sds_app.auth import Access
from sds_app.http.context import RequestContext
from sds_app.http.errors import bad_request, conflict, unavailable
from sds_app.http.handler import handle
from sds_app.http.profile_access import csv_only, load, profile_id_of, writable
from sds_app.http.query import query_options
from sds_app.http.responses import json_response, text_response
from sds_app.settings import STORAGE_CONNECTION, UPLOAD_CONTAINER, get_settings
from sds_app.start import EnqueueFailed, TooLargeToVerifyInline, start
from sds_app.storage.clients import get_account
from sds_app.storage.provisioning import ensure_storage
from sds_app.storage.uploads import UploadChanged
from sds_app.storage.verifications import VerificationStore
from sds_app.verification import current_folder, verify_on_upload
from sds_core.models.profiles import ProfileState
from sds_core.verification.page import CONTENT_SECURITY_POLICY, render_page
from sds_core.verification.report import report_csv, start_body

verification_functions = func.Blueprint()
_LOG = logging.getLogger("sds_app.verification")
ITEM = "beta/education/synchronizationProfiles/{id}"
# The trigger's source is fixed when the host indexes the app: EventGrid in Azure (Flex Consumption
# has no other), LogsAndContainerScan with Azurite, which emits no events.
TRIGGER_SOURCE = os.environ.get("SDS_BLOB_TRIGGER_SOURCE", "EventGrid").strip() or "EventGrid"
RETRY_AFTER_SECONDS = 30


@verification_functions.blob_trigger(
    arg_name="upload",
    path=UPLOAD_CONTAINER + "/{profileId}/{name}",
    connection=STORAGE_CONNECTION,
    source=TRIGGER_SOURCE,
)
def verify_upload(upload: blob.BlobClient) -> None:
    """Verify the whole current file set of the uploaded blob's profile (streamed through the SDK)."""
    name = upload.blob_name
    with telemetry.operation("verify_upload", profile_id=name.partition("/")[0]):
        try:
            ensure_storage(get_account())
            verify_on_upload(get_account(), get_settings(), name)
        except Exception:
            # The host retries, then moves the blob to the poison queue.
            _LOG.exception("Verification failed: profile %s, blob %s", name.partition("/")[0], name)
            raise


@verification_functions.route(route=ITEM + "/start", methods=["POST"])
def start_profile(req: func.HttpRequest) -> func.HttpResponse:
    """POST .../{id}/start: the verification messages; 200 and one queued run, or 400 and none."""

    def run(ctx: RequestContext) -> func.HttpResponse:
        record = csv_only(writable(load(ctx, profile_id_of(req))))
        if record.profile.state != ProfileState.PROVISIONED:
            raise conflict("The profile is not provisioned yet.")
        try:
            started = start(get_account(), get_settings(), record)
        except TooLargeToVerifyInline:
            raise unavailable(
                "The uploads are being verified; try again shortly.", RETRY_AFTER_SECONDS
            ) from None
        except (UploadChanged, EnqueueFailed):
            raise unavailable("The uploads changed or the run could not be queued; try again.") from None
        status = 400 if started.run_id is None else 200
        ctx.log.info("start of %s: %s, run %s", record.profile.id, status, started.run_id)
        return json_response(ctx, start_body(started.result.messages, ctx.base), status)

    return handle(req, Access.WRITE, run)


@verification_functions.route(route=ITEM + "/verificationReport", methods=["GET"])
def verification_report(req: func.HttpRequest) -> func.HttpResponse:
    """GET .../{id}/verificationReport (extension): row-level detail of the current uploads, as
    JSON, as CSV (`$format=csv`, `Accept: text/csv`) or as a page (`$format=html`, `Accept: text/html`)."""

    def run(ctx: RequestContext) -> func.HttpResponse:
        wanted = _report_format(req)
        record = csv_only(load(ctx, profile_id_of(req)))
        account = get_account()
        folder = current_folder(account, record, get_settings())
        store = VerificationStore(account, record.profile.id)
        result = store.result(folder.fingerprint)
        detail = store.detail(folder.fingerprint) if result else None
        messages = detail.details if detail else []
        if wanted == "csv":
            return text_response(ctx, report_csv(messages), "text/csv")
        state = store.state()
        body: dict[str, object] = {
            "@odata.context": f"{ctx.base}/$metadata#education/synchronizationProfiles"
            f"('{record.profile.id}')/verificationReport/$entity",
            "profileId": record.profile.id,
            "fingerprint": folder.fingerprint,
            "state": "done" if result else ("running" if state.state == "running" else "notVerified"),
            "startedDateTime": _iso(result.started_date_time if result else state.started_date_time),
            "finishedDateTime": _iso(result.finished_date_time) if result else None,
            "seconds": result.seconds if result else None,
            "hasErrors": result.has_errors if result else None,
            "files": result.files if result else [u.to_json() for u in folder.uploads],
            "messages": messages,
        }
        if wanted == "html":
            return text_response(ctx, _report_page(record.profile.display_name, body), "text/html",
                                 headers=PAGE_HEADERS)
        return json_response(ctx, body)

    return handle(req, Access.READ, run)


# The page's inline script and style are allowed by their hashes; nothing else may load or run.
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_FORMATS = {"json": "json", "application/json": "json", "csv": "csv", "text/csv": "csv",
            "html": "html", "text/html": "html"}


def _report_format(req: func.HttpRequest) -> str:
    """json, csv or html: `$format` first, then the Accept header; 400 for another `$format`."""
    asked = query_options(req).get("$format")
    if asked is not None:
        wanted = _FORMATS.get(asked.strip().lower())
        if wanted is None:
            raise bad_request("$format must be json, csv or html.")
        return wanted
    accept = req.headers.get("Accept", "").lower()
    if "text/csv" in accept:
        return "csv"
    return "html" if "text/html" in accept else "json"


def _report_page(display_name: str, body: dict[str, object]) -> str:
    """The report's JSON body as the HTML page."""
    facts = [("Profile", display_name), ("Profile id", str(body["profileId"]))]
    if body["finishedDateTime"]:
        facts.append(("Verified", str(body["finishedDateTime"])[:16].replace("T", " ") + " UTC"))
    if body["seconds"] is not None:
        facts.append(("Took", f"{body['seconds']:.2f} s"))
    facts.append(("Fingerprint", str(body["fingerprint"])))
    return render_page(body["messages"], body["files"], title=f"Verification report: {display_name}",  # type: ignore[arg-type]
                       facts=facts, state=str(body["state"]))


def _iso(value: object) -> str | None:
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")  # type: ignore[attr-defined]
