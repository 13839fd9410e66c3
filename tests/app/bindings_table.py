"""Every function of the app and its bindings, as Azure indexes them: one table, two readers.

tests/app/test_bindings.py compares it with `app.get_functions()`; tests/runtime compares it with
the function metadata the worker's library (azure-functions-runtime) sends the host.
"""

from __future__ import annotations

from typing import Any

ROOT = "beta/education/synchronizationProfiles"
ITEM = ROOT + "/{id}"
EDUCATION = "beta/education"
STORAGE = "AzureWebJobsStorage"


def http(route: str, method: str) -> list[dict[str, Any]]:
    """The bindings of an anonymous HTTP function."""
    return [
        {
            "direction": "IN",
            "type": "httpTrigger",
            "name": "req",
            "methods": [method],
            "authLevel": "ANONYMOUS",
            "route": route,
        },
        {"direction": "OUT", "type": "http", "name": "$return"},
    ]


def queue(queue_name: str) -> list[dict[str, Any]]:
    """The binding of a queue-triggered function (the message is `msg`)."""
    return [
        {
            "direction": "IN",
            "type": "queueTrigger",
            "name": "msg",
            "queueName": queue_name,
            "connection": STORAGE,
        }
    ]


PROFILE_FUNCTIONS = {
    "list_profiles": http(ROOT, "GET"),
    "create_profile": http(ROOT, "POST"),
    "get_profile": http(ITEM, "GET"),
    "replace_profile": http(ITEM, "PUT"),
    "update_profile": http(ITEM, "PATCH"),
    "delete_profile": http(ITEM, "DELETE"),
    "get_upload_url": http(ITEM + "/uploadUrl", "GET"),
    "get_upload_url_call": http(ITEM + "/uploadUrl()", "GET"),
    "list_uploads": http(ITEM + "/uploads", "GET"),
    "delete_upload": http(ITEM + "/uploads/{fileName}", "DELETE"),
    "get_profile_status": http(ITEM + "/profileStatus", "GET"),
    "list_errors": http(ITEM + "/errors", "GET"),
    "pause_profile": http(ITEM + "/pause", "POST"),
    "resume_profile": http(ITEM + "/resume", "POST"),
    "reset_profile": http(ITEM + "/reset", "POST"),
}

VERIFICATION_FUNCTIONS = {
    "verify_upload": [
        {
            "direction": "IN",
            "type": "blobTrigger",
            "name": "upload",
            "path": "sds-uploads/{profileId}/{name}",
            "connection": STORAGE,
            "source": "EventGrid",
        }
    ],
    "start_profile": http(ITEM + "/start", "POST"),
    "verification_report": http(ITEM + "/verificationReport", "GET"),
}

DIRECTORY_FUNCTIONS = {
    "list_schools": http(f"{EDUCATION}/schools", "GET"),
    "get_school": http(f"{EDUCATION}/schools/{{id}}", "GET"),
    "school_navigation": http(f"{EDUCATION}/schools/{{id}}/{{nav}}", "GET"),
    "list_classes": http(f"{EDUCATION}/classes", "GET"),
    "get_class": http(f"{EDUCATION}/classes/{{id}}", "GET"),
    "class_navigation": http(f"{EDUCATION}/classes/{{id}}/{{nav}}", "GET"),
    "list_users": http(f"{EDUCATION}/users", "GET"),
    "get_user": http(f"{EDUCATION}/users/{{id}}", "GET"),
    "user_navigation": http(f"{EDUCATION}/users/{{id}}/{{nav}}", "GET"),
}

WORKER_FUNCTIONS = {"run_sync": queue("sds-sync"), "sync_poisoned": queue("sds-sync-poison")}

HEALTH_FUNCTIONS = {"get_health": http("beta/health", "GET")}

CHECK_FUNCTIONS = {"check_tenant": http("beta/schoolDataSync/check", "POST")}

FUNCTIONS: dict[str, list[dict[str, Any]]] = {
    **PROFILE_FUNCTIONS,
    **VERIFICATION_FUNCTIONS,
    **DIRECTORY_FUNCTIONS,
    **WORKER_FUNCTIONS,
    **HEALTH_FUNCTIONS,
    **CHECK_FUNCTIONS,
}
# The one binding the worker asks the host to defer (an SDK type: the host sends a reference,
# never the bytes): azurefunctions-extensions-base marks it in the raw bindings it reports.
SDK_TYPED = {("verify_upload", "upload")}
