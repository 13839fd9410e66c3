"""What a careless script or an attacker sends gets a clear answer and costs nobody else anything:
blob names the app did not choose, encoded uploads, numbers and tokens outside what is accepted,
and writes whose answer the network lost."""

from __future__ import annotations

import gzip
import json
import logging
import uuid
from typing import Any

import pytest
from azure.core.exceptions import ServiceResponseError
from azure.storage.blob import ContainerClient, ContentSettings

from sds_app.blueprints import directory, verification
from sds_app.blueprints import profiles as api
from sds_app.settings import UPLOAD_CONTAINER
from sds_app.storage.deadlines import DeadlineTransport
from sds_app.storage.names import data_prefix
from sds_app.storage.profiles import STATE_CONTAINER, ProfileStore, record_name
from tests.app.fixtures import AppEnv
from tests.app.flow import CSV_PROFILE, create_profile, deliver, report, start, upload_and_verify, upload_url
from tests.app.helpers import BASE, ROOT, Answer, call, envelope, request
from tests.app.test_directory_worker import sample_bytes

SAMPLE = "sds-v1_min-required"


def uploads_of(env: AppEnv, profile_id: str) -> list[str]:
    answer = call(
        api.list_uploads,
        request("GET", f"{ROOT}/{profile_id}/uploads", route={"id": profile_id}, token=env.token()),
    )
    return [f["name"] for f in answer.json["value"]]


# --- blob names ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../school.csv", "a/b.csv", "a\\b.csv", "..", ".", "x\x00.csv"])
def test_deleting_an_upload_needs_a_plain_file_name(app_env: AppEnv, name: str) -> None:
    profile_id = create_profile(app_env)
    answer = call(
        api.delete_upload,
        request(
            "DELETE", f"{ROOT}/{profile_id}/uploads/x",
            route={"id": profile_id, "fileName": name}, token=app_env.token(),
        ),
    )
    message = (
        "A file name is 1 to 255 characters without '/', '\\' or control characters, "
        "and not '.' or '..'."
    )
    assert (answer.status, answer.json) == (400, envelope(answer, "badRequest", message))


def test_an_upload_named_with_dot_segments_reaches_nothing_else(
    app_env: AppEnv, caplog: pytest.LogCaptureFixture
) -> None:
    victim = create_profile(app_env)
    upload_and_verify(app_env, victim, sample_bytes(SAMPLE))
    attacker = create_profile(app_env)
    upload_and_verify(app_env, attacker, sample_bytes(SAMPLE))
    # The service stores `\` as `/`: this blob's name is `{attacker}/../{victim}/school.csv` and
    # `{attacker}/../../sds-state/profiles/{victim}.json`; written as is, they address the victim's.
    container = ContainerClient.from_container_url(upload_url(app_env, attacker))
    strays = [
        f"..\\{victim}\\school.csv",
        f"..\\..\\{STATE_CONTAINER}\\{record_name(victim).replace('/', chr(92))}",
    ]
    for stray in strays:
        container.upload_blob(stray, b"SIS ID,Name\r\n", overwrite=True)
    stored = sorted(
        b.name for b in app_env.account.blobs.get_container_client(UPLOAD_CONTAINER).list_blobs(
            name_starts_with=f"{attacker}/.."
        )
    )
    assert stored == sorted(f"{attacker}/{s.replace(chr(92), '/')}" for s in strays)
    victim_files = uploads_of(app_env, victim)
    with caplog.at_level(logging.WARNING):
        for name in stored:  # the trigger fires for each; none may fail or reach another blob
            verification.verify_upload(
                app_env.account.blobs.get_blob_client(UPLOAD_CONTAINER, name)
            )
    assert uploads_of(app_env, victim) == victim_files
    assert ProfileStore(app_env.account).get(victim) is not None
    assert uploads_of(app_env, attacker) == sorted(sample_bytes(SAMPLE))  # strays not listed
    assert start(app_env, attacker).status == 200  # strays are not verified either
    assert any("is not named {profileId}/{file}" in r.getMessage() for r in caplog.records)
    # The attacker's profile is purged whatever its strays; the victim keeps everything.
    deliver(app_env, attacker)
    assert call(
        api.delete_profile,
        request("DELETE", f"{ROOT}/{attacker}", route={"id": attacker}, token=app_env.token()),
    ).status == 202
    assert deliver(app_env, attacker) == 1
    assert ProfileStore(app_env.account).get(attacker) is None
    assert uploads_of(app_env, victim) == victim_files
    assert ProfileStore(app_env.account).get(victim) is not None
    assert start(app_env, victim).status == 200


# --- encoded uploads -------------------------------------------------------------------------


def test_a_gzip_encoded_upload_is_verified_as_its_stored_bytes(app_env: AppEnv) -> None:
    profile_id = create_profile(app_env)
    files = sample_bytes(SAMPLE)
    url = upload_url(app_env, profile_id)
    container = ContainerClient.from_container_url(url)
    container.upload_blob(
        "School.csv", gzip.compress(files.pop("School.csv")), overwrite=True,
        content_settings=ContentSettings(content_encoding="gzip", content_type="text/csv"),
    )
    upload_and_verify(app_env, profile_id, files)
    verification.verify_upload(
        app_env.account.blobs.get_blob_client(UPLOAD_CONTAINER, f"{profile_id}/School.csv")
    )
    answer = start(app_env, profile_id)
    assert (answer.status, answer.json) == (400, {
        "@odata.context": f"{BASE}/$metadata#education/Collection(microsoft.graph.verificationMessage)",
        "value": [{
            "type": "Error", "fileName": "school.csv",
            "description": "The file is not UTF-8 encoded (first invalid byte on line 1).",
        }],
    })


# --- small uploads, small answers ---------------------------------------------------------------


def test_a_wide_header_and_ragged_passwords_give_small_answers_without_secrets(app_env: AppEnv) -> None:
    profile_id = create_profile(app_env)
    files = sample_bytes(SAMPLE)
    lines = files["Student.csv"].decode().splitlines()
    extra = [f"column-{i}" for i in range(100_000)]
    rows = [line + ",Pw-ok" + "," * len(extra) for line in lines[1:]]
    rows.append(lines[1] + ",Secret-1" + "," * len(extra) + ",one-too-many")
    files["Student.csv"] = "\r\n".join([lines[0] + ",Password," + ",".join(extra), *rows]).encode() + b"\r\n"
    upload_and_verify(app_env, profile_id, files)
    answer = start(app_env, profile_id)
    unknown = "The column is not part of the SDS format and was ignored - {}"
    assert (answer.status, answer.json) == (400, {
        "@odata.context": f"{BASE}/$metadata#education/Collection(microsoft.graph.verificationMessage)",
        "value": [
            *({"type": "Warning", "fileName": "student.csv", "description": unknown.format(n)} for n in extra[:50]),
            {"type": "Warning", "fileName": "student.csv", "description": unknown.format("and 99,950 more columns")},
            {"type": "Error", "fileName": "student.csv",
             "description": "1 row(s) have a number of fields different from the header"},
        ],
    })
    assert len(answer.raw) < 16 * 1024
    state = app_env.account.blobs.get_container_client(STATE_CONTAINER)
    stored = sum(b.size for b in state.list_blobs(name_starts_with=data_prefix(profile_id)))
    assert stored < 512 * 1024
    for query in ("", "?$format=csv", "?$format=html"):
        shown = report(app_env, profile_id, query)
        assert (shown.status, b"Secret" in shown.raw, len(shown.raw) < 2 * 1024 * 1024) == (200, False, True)


# --- numbers, tokens and bodies out of range ------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("$top=²", "Invalid value for $top: '²' is not a non-negative integer."),
        ("$skip=¹", "Invalid value for $skip: '¹' is not a non-negative integer."),
        ("$skip=" + "9" * 30, "Invalid value for $skip: the maximum is 1000000."),
        ("$top=-1", "Invalid value for $top: '-1' is not a non-negative integer."),
        ("$skip=2000000", "Invalid value for $skip: the maximum is 1000000."),
        ("$count=" + "x" * 100, "Invalid value for $count: '" + "x" * 40 + "…' is not true or false."),
        # The host drops empty values and joins repeated keys in params: the URL's query counts.
        ("$top=", "Invalid value for $top: '' is not a non-negative integer."),
        ("$top=1&$top=2", "Query option $top was specified more than once, it must be specified at most once."),
        ("$Top=1&$top=", "Query option $top was specified more than once, it must be specified at most once."),
    ],
)
def test_paging_values_outside_ascii_digits_or_bounds_are_400(
    app_env: AppEnv, query: str, message: str
) -> None:
    req = request("GET", f"{ROOT}?{query}", token=app_env.token())
    answer = call(api.list_profiles, req)
    assert (answer.status, answer.json) == (400, envelope(answer, "badRequest", message))


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("$skip=100000000000000000000", "Invalid value for $skip: the maximum is 10000."),
        ("$skiptoken=" + "A" * 100_000, "Invalid value for $skiptoken."),
        ("$skiptoken=" + "W" * 600, "Invalid value for $skiptoken."),
    ],
)
def test_directory_paging_is_bounded(app_env: AppEnv, query: str, message: str) -> None:
    answer = call(
        directory.list_users,
        request("GET", f"{BASE}/education/users?{query}", token=app_env.token()),
    )
    assert (answer.status, answer.json) == (400, envelope(answer, "badRequest", message))


def test_a_deeply_nested_skiptoken_is_400(app_env: AppEnv) -> None:
    import base64

    token = base64.urlsafe_b64encode(b"[" * 2000 + b"]" * 2000).decode().rstrip("=")
    answer = call(
        directory.list_users,
        request("GET", f"{BASE}/education/users?$skiptoken={token}", token=app_env.token()),
    )
    assert (answer.status, answer.json) == (
        400, envelope(answer, "badRequest", "Invalid value for $skiptoken.")
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"displayName": ' + b"9" * 5000 + b"}", "The request body is not valid JSON (ValueError)."),
        (b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "The request body is not valid JSON (RecursionError)."),
    ],
)
def test_bodies_that_break_a_json_parser_are_400(app_env: AppEnv, raw: bytes, message: str) -> None:
    answer = call(api.create_profile, request("POST", ROOT, body=raw, token=app_env.token()))
    assert (answer.status, answer.json) == (400, envelope(answer, "badRequest", message))


def test_a_display_name_with_a_control_character_is_400(app_env: AppEnv) -> None:
    body = {**CSV_PROFILE, "displayName": "Bad\x00name"}
    answer = call(api.create_profile, request("POST", ROOT, body=body, token=app_env.token()))
    message = "Invalid profile. displayName: Value error, must not hold control characters"
    assert (answer.status, answer.json) == (400, envelope(answer, "badRequest", message))


# --- writes whose answer was lost ----------------------------------------------------------------


def lose_first_answer(monkeypatch: pytest.MonkeyPatch, method: str, path_part: str) -> list[str]:
    """The first matching request lands, then its answer is lost (the SDK retries it)."""
    lost: list[str] = []
    send = DeadlineTransport.send

    def flaky(self: DeadlineTransport, request: Any, **kwargs: Any) -> Any:
        response = send(self, request, **kwargs)
        if not lost and request.method == method and path_part in request.url:
            lost.append(request.url)
            raise ServiceResponseError("connection reset after the write landed")
        return response

    monkeypatch.setattr(DeadlineTransport, "send", flaky)
    return lost


def test_a_create_whose_answer_was_lost_answers_as_the_first_attempt(
    private_env: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    lost = lose_first_answer(monkeypatch, "PUT", "/sds-state/profiles/")
    answer = call(api.create_profile, request("POST", ROOT, body=CSV_PROFILE, token=private_env.token()))
    assert lost and answer.status == 202, answer.raw
    listed = call(api.list_profiles, request("GET", ROOT, token=private_env.token())).json["value"]
    assert [p["id"] for p in listed] == [answer.json["id"]]


def test_a_start_whose_record_write_was_lost_still_answers_200(
    app_env: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile_id = create_profile(app_env)
    upload_and_verify(app_env, profile_id, sample_bytes(SAMPLE))
    lost = lose_first_answer(monkeypatch, "PUT", f"/sds-state/profiles/{profile_id}.json")
    answer = start(app_env, profile_id)
    assert lost and answer.status == 200, answer.raw
    assert deliver(app_env, profile_id) == 1
    assert json.loads(
        call(
            api.get_profile_status,
            request("GET", f"{ROOT}/{profile_id}/profileStatus", route={"id": profile_id},
                    token=app_env.token()),
        ).raw
    )["status"] == "success"


def test_a_put_with_an_id_needs_no_guid(app_env: AppEnv) -> None:
    profile_id = f"district-{uuid.uuid4().hex[:8]}"
    answer: Answer = call(
        api.replace_profile,
        request("PUT", f"{ROOT}/{profile_id.upper()}", route={"id": profile_id.upper()},
                body=CSV_PROFILE, token=app_env.token()),
    )
    assert (answer.status, answer.json["id"]) == (202, profile_id)
