"""Upload, verify on upload, start: the heart of the product, on Azurite through the handlers."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from sds_app import start as start_module
from sds_app.settings import UPLOAD_CONTAINER
from sds_app.storage.profiles import ProfileStore
from sds_app.storage.uploads import UploadFolder
from sds_app.storage.verifications import VerificationLock, VerificationStore
from tests.app.fixtures import AppEnv
from tests.app.flow import (
    create_profile, queued, report, start, status, trigger, upload, upload_and_verify, upload_url,
)
from tests.app.helpers import BASE, envelope
from tests.core.builders import SAMPLES, sample_files
from tests.core.verification.test_seed_messages import SEED, seed_files

CONTEXT = f"{BASE}/$metadata#education/Collection(microsoft.graph.verificationMessage)"
GOOD = sample_files(SAMPLES / "sds-v1_25-users")
BAD_SCHOOL = b"SIS ID,Name\r\n10001,Contoso High School\r\n10001,Fabrikam High School\r\n"
BAD_SCHOOL_MESSAGE = {"type": "Error", "fileName": "school.csv",
                      "description": "1 duplicates found in column SIS ID which requires values to be Unique."}


def messages(triples: list[tuple[str, str, str]]) -> list[dict[str, str]]:
    return [{"type": t, "fileName": f, "description": d} for t, f, d in triples]


def test_the_whole_flow_queues_one_run_with_frozen_files(private_env: AppEnv) -> None:
    profile_id = create_profile(private_env)
    upload_and_verify(private_env, profile_id, GOOD)
    assert report(private_env, profile_id).json["state"] == "done"

    answer = start(private_env, profile_id)

    assert (answer.status, answer.json) == (200, {"@odata.context": CONTEXT, "value": []})
    record, _ = ProfileStore(private_env.account).get(profile_id)
    assert record.run is not None and record.run.state == "queued"
    assert queued(private_env) == [
        {
            "schemaVersion": 1, "profileId": profile_id, "runId": record.run.run_id, "reason": "start",
            "snapshots": {name: frozen.snapshot for name, frozen in record.run.snapshots.items()},
        }
    ]
    assert sorted(record.run.snapshots) == sorted(name.lower() for name in GOOD)
    container = private_env.account.blobs.get_container_client(UPLOAD_CONTAINER)
    for frozen in record.run.snapshots.values():
        snapshot = container.get_blob_client(frozen.blob, snapshot=frozen.snapshot)
        assert snapshot.download_blob().readall() == GOOD[frozen.blob.split("/", 1)[1]]
    assert status(private_env, profile_id)["status"] == "inProgress"


def test_the_ten_documented_messages_give_400_and_nothing_queued(private_env: AppEnv) -> None:
    profile_id = create_profile(private_env)
    upload_and_verify(private_env, profile_id, seed_files())

    answer = start(private_env, profile_id)

    assert (answer.status, answer.json) == (400, {"@odata.context": CONTEXT, "value": messages(SEED)})
    assert queued(private_env) == []
    assert status(private_env, profile_id)["status"] == "validationError"


def test_warnings_only_start_the_sync(private_env: AppEnv) -> None:
    profile_id = create_profile(private_env)
    upload_and_verify(private_env, profile_id, sample_files(SAMPLES / "sds-v1-legacy-2017"))

    answer = start(private_env, profile_id)

    assert answer.status == 200
    assert {m["type"] for m in answer.json["value"]} == {"Warning"} and len(answer.json["value"]) == 17
    assert len(queued(private_env)) == 1


def test_twenty_concurrent_starts_queue_exactly_one_run(private_env: AppEnv) -> None:
    profile_id = create_profile(private_env)
    upload_and_verify(private_env, profile_id, GOOD)
    answers: list[Any] = []
    barrier = threading.Barrier(20)

    def go() -> None:
        barrier.wait()
        answers.append(start(private_env, profile_id))

    threads = [threading.Thread(target=go) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(a.status for a in answers) == [200] + [409] * 19
    assert len(queued(private_env)) == 1
    conflict = next(a for a in answers if a.status == 409)
    assert conflict.json == envelope(
        conflict, "conflict", "A synchronization is already queued, in progress or paused."
    )
    frozen_runs = {
        (b.metadata or {}).get("sdsrunid")
        for b in private_env.account.blobs.get_container_client(UPLOAD_CONTAINER).list_blobs(
            name_starts_with=f"{profile_id}/", include=["snapshots", "metadata"]
        )
        if b.snapshot
    }
    assert frozen_runs == {queued(private_env)[0]["runId"]}  # the losers' snapshots are gone


def test_an_upload_after_verification_is_never_judged_by_the_stale_verdict(private_env: AppEnv) -> None:
    profile_id = create_profile(private_env)
    upload_and_verify(private_env, profile_id, GOOD)
    upload(upload_url(private_env, profile_id), {"School.csv": BAD_SCHOOL})  # no trigger has run yet

    answer = start(private_env, profile_id)

    assert (answer.status, answer.json["value"]) == (400, [BAD_SCHOOL_MESSAGE])
    assert queued(private_env) == []


def test_a_file_changed_between_verification_and_freezing_gets_no_run(
    private_env: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile_id = create_profile(private_env)
    upload_and_verify(private_env, profile_id, GOOD)
    url = upload_url(private_env, profile_id)
    freeze = UploadFolder.freeze
    changed: list[bool] = []

    def replaced_first(self: UploadFolder, upload_: Any, run_id: str) -> str:
        if not changed:
            changed.append(True)
            upload(url, {"School.csv": BAD_SCHOOL})
        return freeze(self, upload_, run_id)

    monkeypatch.setattr(UploadFolder, "freeze", replaced_first)
    answer = start(private_env, profile_id)

    # The new school.csv was verified, not the one verified before.
    assert (answer.status, answer.json["value"]) == (400, [BAD_SCHOOL_MESSAGE])
    assert queued(private_env) == []
    record, _ = ProfileStore(private_env.account).get(profile_id)
    assert record.run is None


def test_a_failed_enqueue_leaves_the_profile_startable(
    private_env: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile_id = create_profile(private_env)
    upload_and_verify(private_env, profile_id, GOOD)

    def broken(*_: Any) -> None:
        raise ConnectionError("queue down")

    monkeypatch.setattr(start_module, "enqueue_run", broken)
    failed = start(private_env, profile_id)
    assert failed.status == 503 and failed.headers["Retry-After"]
    assert ProfileStore(private_env.account).get(profile_id)[0].run is None
    monkeypatch.undo()

    assert start(private_env, profile_id).status == 200
    assert len(queued(private_env)) == 1


def test_stale_and_too_large_to_verify_inline_is_503(private_env: AppEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    profile_id = create_profile(private_env)
    upload(upload_url(private_env, profile_id), GOOD)  # no trigger: nothing verified yet
    monkeypatch.setenv("SDS_INLINE_VERIFY_MAX_BYTES", "100")
    from sds_app.settings import get_settings
    get_settings.cache_clear()

    answer = start(private_env, profile_id)

    assert answer.status == 503 and answer.headers["Retry-After"] == "30"
    assert answer.json == envelope(answer, "serviceNotAvailable", "The uploads are being verified; try again shortly.")


def test_preconditions(private_env: AppEnv) -> None:
    missing = start(private_env, "no-such-profile")
    assert missing.json == envelope(missing, "itemNotFound", "No synchronization profile has the id 'no-such-profile'.")
    power_school = create_profile(private_env, {
        "displayName": "PowerSchool",
        "dataProvider": {"@odata.type": "#microsoft.graph.educationPowerSchoolDataProvider",
                         "connectionUrl": "https://ps.example.org", "clientId": "c", "clientSecret": "s"},
    })
    refused = start(private_env, power_school)
    assert refused.json == envelope(refused, "notSupported", "Only profiles with an educationCsvDataProvider take uploads.")
    profile_id = create_profile(private_env)
    upload_and_verify(private_env, profile_id, GOOD)
    assert start(private_env, profile_id).status == 200
    again = start(private_env, profile_id)
    assert again.json == envelope(again, "conflict", "A synchronization is already queued, in progress or paused.")


def test_an_upload_for_no_profile_is_removed_without_retry(private_env: AppEnv) -> None:
    container = private_env.account.blobs.get_container_client(UPLOAD_CONTAINER)
    container.upload_blob("ghost/School.csv", GOOD["School.csv"])
    trigger(private_env, "ghost", "School.csv")  # does not raise: nothing to retry
    assert list(container.list_blob_names(name_starts_with="ghost/")) == []


def test_the_same_upload_verified_twice_stores_the_same_result(private_env: AppEnv) -> None:
    profile_id = create_profile(private_env)
    upload_and_verify(private_env, profile_id, GOOD)
    first = report(private_env, profile_id).json
    trigger(private_env, profile_id, "School.csv")
    assert report(private_env, profile_id).json == first


def test_uploads_during_a_verification_are_coalesced(private_env: AppEnv) -> None:
    profile_id = create_profile(private_env)
    upload(upload_url(private_env, profile_id), GOOD)
    lease = VerificationLock(private_env.account, profile_id).try_acquire()
    assert lease is not None
    trigger(private_env, profile_id, "School.csv")  # another verification holds the lock
    assert report(private_env, profile_id).json["state"] == "notVerified"
    lease.release()
    trigger(private_env, profile_id, "Section.csv")
    assert report(private_env, profile_id).json["state"] == "done"


def test_verification_moves_only_last_activity(private_env: AppEnv) -> None:
    profile_id = create_profile(private_env)
    before = status(private_env, profile_id)
    upload_and_verify(private_env, profile_id, GOOD)
    after = status(private_env, profile_id)
    assert (after["status"], after["statusMessage"]) == (before["status"], before["statusMessage"]) == (
        "paused", "Not started: upload the files, then call start.")
    assert after["lastActivityDateTime"] is not None


NOT_ALLOWED = "\"=\" is not allowed: a Username has only ASCII letters, digits and ' . - _ ! # ^ ~"


def test_verification_report_json_and_csv(private_env: AppEnv) -> None:
    profile_id = create_profile(private_env)
    files = dict(GOOD)
    files["Student.csv"] = files["Student.csv"].replace(b"13001,10001,Ora,Klein,OKlein,P@ssword",
                                                        b"13001,10001,Ora,Klein,=cmd(),P@ssword")
    upload_and_verify(private_env, profile_id, files)

    body = report(private_env, profile_id).json
    assert body["state"] == "done" and body["hasErrors"] is True
    assert body["messages"] == [{
        "type": "Error", "fileName": "student.csv",
        "description": "1 row(s) have an invalid format for the field - Username",
        "code": "invalidFormat", "field": "Username", "total": 1, "truncated": False,
        "rows": [{"row": 2, "column": "Username", "value": "=cmd()", "note": NOT_ALLOWED}],
    }]
    assert [f["fileName"] for f in body["files"]] == sorted(n.lower() for n in GOOD)
    expected_csv = ("\ufefffile,row,column,value,severity,problem\r\n"
                    "student.csv,2,Username,'=cmd(),Error,\"1 row(s) have an invalid format for the field - Username "
                    "(\"\"=\"\" is not allowed: a Username has only ASCII letters, digits and ' . - _ ! # ^ ~)\"\r\n")
    assert report(private_env, profile_id, "?$format=csv").raw.decode() == expected_csv
    as_text = report(private_env, profile_id, headers={"Accept": "text/csv"})
    assert as_text.raw.decode() == expected_csv and as_text.headers.get("Content-Type", "text/csv").startswith("text/csv")


def test_an_error_of_ours_is_logged_and_raised_for_the_host_to_retry(
    private_env: AppEnv, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    profile_id = create_profile(private_env)
    upload(upload_url(private_env, profile_id), GOOD)

    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("engine bug")

    monkeypatch.setattr("sds_app.verification.verify_files", broken)
    with pytest.raises(RuntimeError):
        trigger(private_env, profile_id, "School.csv")
    failure = next(r for r in caplog.records if r.levelname == "ERROR")
    assert profile_id in failure.getMessage() and f"{profile_id}/School.csv" in failure.getMessage()
    assert report(private_env, profile_id).json["state"] == "notVerified"
    assert VerificationStore(private_env.account, profile_id).state().state == "failed"
