"""The synced directory on Azurite: written by the table target, read through the API handlers."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from sds_app.blueprints.directory import (
    class_navigation,
    get_class,
    get_school,
    get_user,
    list_classes,
    list_schools,
    list_users,
    school_navigation,
    user_navigation,
)
from sds_app.storage.directory import SyncStateStore, TableDirectory, _send_transaction
from sds_core.sync import (
    DirectoryChange,
    SyncOptions,
    apply_plan,
    dump_baseline,
    entity_id,
    load_baseline,
    plan_sync,
    read_source,
)
from tests.app.fixtures import AppEnv
from tests.app.helpers import BASE, Answer, call, envelope, request
from tests.core.sync.test_data import CREATION, expected_counts, sample

EDU = f"{BASE}/education"


def sync(
    env: AppEnv,
    profile_id: str,
    files,
    profile=CREATION,
    stop_after: int | None = None,
    batch: int = 40,
) -> Any:  # noqa: ANN001
    """One run as the worker does it: plan against the baseline, apply, keep the new baseline."""
    state = SyncStateStore(env.account)
    options = SyncOptions.from_profile(profile)
    plan = plan_sync(
        profile_id,
        read_source(files, options),
        options,
        load_baseline(state.load_baseline(profile_id)),
    )
    batches: list[int] = []
    done = apply_plan(
        plan,
        TableDirectory(env.account),
        0,
        batch,
        lambda b: batches.append(b.done) or stop_after is None or len(batches) < stop_after,
    )
    if done == len(plan.steps):
        state.save_baseline(profile_id, dump_baseline(plan.baseline))
    return plan


def get(env: AppEnv, handler, url: str, **route: str) -> Answer:  # noqa: ANN001
    """GET through a handler; route parameters from the URL unless given."""
    if not route:
        segments = urlsplit(url).path.split("/education/", 1)[-1].split("/")[1:]
        route = dict(zip(("id", "nav"), segments, strict=False))
    return call(
        handler, request("GET", url, route=route, token=env.token(scp="EduAdministration.Read"))
    )


@pytest.fixture
def alone(private_env: AppEnv) -> Iterator[AppEnv]:
    """A private Azurite whose directory holds no other test's profiles."""
    directory = TableDirectory(private_env.account)
    for profile_id in directory.profiles():
        directory.purge(profile_id)
    yield private_env


def all_pages(env: AppEnv, handler, url: str) -> tuple[list[dict[str, Any]], int]:  # noqa: ANN001
    items, pages = [], 0
    while url:
        body = get(env, handler, url).json
        items += body["value"]
        pages += 1
        url = body.get("@odata.nextLink", "")
    return items, pages


def test_a_sample_set_is_served_with_every_school_class_user_and_membership(alone: AppEnv) -> None:
    files = sample("sds-v1_100-users")
    sync(alone, "dir-sample", files)
    expected = expected_counts(files)
    schools = get(alone, list_schools, f"{EDU}/schools")
    contoso = entity_id("dir-sample", "school", "10001")
    assert schools.status == 200
    assert schools.json == {
        "@odata.context": f"{BASE}/$metadata#education/schools",
        "value": sorted(
            [
                {
                    "id": contoso,
                    "displayName": "Contoso High School",
                    "description": None,
                    "externalId": "10001",
                    "externalSource": "sis",
                    "externalSourceDetail": "School Data Sync CSV",
                    "schoolNumber": "10001",
                    "lowestGrade": "9",
                    "highestGrade": "12",
                    "externalPrincipalId": "14007",
                    "principalName": "Amy Roebuck",
                    "principalEmail": None,
                    "phone": "555-123-4567",
                    "fax": None,
                    "address": {
                        "city": "Redmond",
                        "countryOrRegion": "US",
                        "postalCode": "98052",
                        "state": "WA",
                        "street": "2 Microsoft Way",
                    },
                },
                {
                    "id": entity_id("dir-sample", "school", "10002"),
                    "displayName": "Fabrikam High School",
                    "description": None,
                    "externalId": "10002",
                    "externalSource": "sis",
                    "externalSourceDetail": "School Data Sync CSV",
                    "schoolNumber": "10002",
                    "lowestGrade": "9",
                    "highestGrade": "12",
                    "externalPrincipalId": "14008",
                    "principalName": "Harry James",
                    "principalEmail": None,
                    "phone": "555-987-6543",
                    "fax": None,
                    "address": {
                        "city": "Redmond",
                        "countryOrRegion": "US",
                        "postalCode": "98052",
                        "state": "WA",
                        "street": "3 Microsoft Way",
                    },
                },
            ],
            key=lambda s: s["id"],
        ),
    }
    users, pages = all_pages(alone, list_users, f"{EDU}/users?$top=40")
    classes, _ = all_pages(alone, list_classes, f"{EDU}/classes")
    assert (len(users), len({u["id"] for u in users}), pages) == (
        expected["users"],
        expected["users"],
        3,
    )
    assert len(classes) == expected["classes"]
    members = teachers = 0
    for c in classes:
        members += len(
            all_pages(alone, class_navigation, f"{EDU}/classes/{c['id']}/members?$top=10")[0]
        )
        teachers += len(
            get(
                alone,
                class_navigation,
                f"{EDU}/classes/{c['id']}/teachers",
                id=c["id"],
                nav="teachers",
            ).json["value"]
        )
    assert (members, teachers) == (expected["members"], expected["teachers"])
    school_users = sum(
        len(all_pages(alone, school_navigation, f"{EDU}/schools/{s['id']}/users?$top=999")[0])
        for s in schools.json["value"]
    )
    assert school_users == expected["school_users"]


def test_items_and_navigations_have_graph_bodies(app_env: AppEnv) -> None:
    pid = f"dir-{uuid.uuid4().hex[:8]}"
    sync(app_env, pid, sample("sds-v1_min-required"))
    teacher = entity_id(pid, "user", "teacher:14001")
    klass = entity_id(pid, "class", "11001")
    answer = get(app_env, get_user, f"{EDU}/users/{teacher}", id=teacher)
    assert answer.json == {
        "@odata.context": f"{BASE}/$metadata#education/users/$entity",
        "id": teacher,
        "accountEnabled": True,
        "displayName": "CBeane",
        "givenName": None,
        "middleName": None,
        "surname": None,
        "userPrincipalName": "CBeane@example.edu",
        "mailNickname": "CBeane",
        "mail": None,
        "primaryRole": "teacher",
        "externalSource": "sis",
        "externalSourceDetail": "School Data Sync CSV",
        "student": None,
        "teacher": {"externalId": "14001", "teacherNumber": None},
    }
    teachers = get(
        app_env, class_navigation, f"{EDU}/classes/{klass}/teachers", id=klass, nav="teachers"
    )
    resource = dict(answer.json)
    del resource["@odata.context"]
    assert teachers.json == {
        "@odata.context": f"{BASE}/$metadata#education/classes('{klass}')/teachers",
        "value": [resource],
    }
    schools = get(
        app_env, user_navigation, f"{EDU}/users/{teacher}/schools", id=teacher, nav="schools"
    )
    school = get(app_env, get_school, f"{EDU}/schools/x", id=entity_id(pid, "school", "10001")).json
    del school["@odata.context"]
    assert schools.json["value"] == [school]
    classes = get(
        app_env, user_navigation, f"{EDU}/users/{teacher}/classes", id=teacher, nav="classes"
    ).json
    assert [c["externalId"] for c in classes["value"]] == ["11001"]
    members = get(
        app_env,
        class_navigation,
        f"{EDU}/classes/{klass}/members?$top=5&$count=true",
        id=klass,
        nav="members",
    ).json
    assert (members["@odata.count"], len(members["value"]), members["@odata.nextLink"]) == (
        22,
        5,
        f"http://localhost:7071/beta/education/classes/{klass}/members?%24skip=5&%24top=5&%24count=true".replace(
            "%24", "$"
        ),
    )


def test_unknown_ids_and_segments_get_the_graph_envelope(app_env: AppEnv) -> None:
    missing = get(app_env, get_class, f"{EDU}/classes/nope", id="nope")
    assert (missing.status, missing.json) == (
        404,
        envelope(missing, "itemNotFound", "No class has the id 'nope'."),
    )
    pid = f"dir-{uuid.uuid4().hex[:8]}"
    sync(app_env, pid, sample("sds-v1_min-required"))
    school = entity_id(pid, "school", "10001")
    wrong = get(
        app_env, school_navigation, f"{EDU}/schools/{school}/members", id=school, nav="members"
    )
    assert (wrong.status, wrong.json) == (
        400,
        envelope(wrong, "badRequest", "Resource not found for the segment 'members'."),
    )
    bad = get(app_env, list_users, f"{EDU}/users?$skiptoken=%%%")
    assert bad.status == 400


def test_a_second_run_with_changed_files_shows_its_changes_and_a_third_changes_nothing(
    app_env: AppEnv,
) -> None:
    pid = f"dir-{uuid.uuid4().hex[:8]}"
    files = sample("sds-v1_min-required")
    sync(app_env, pid, files)
    gone = files["student.csv"][0]["SIS ID"]
    files["student.csv"] = files["student.csv"][1:]
    files["studentenrollment.csv"] = [
        r for r in files["studentenrollment.csv"] if r["SIS ID"] != gone
    ]
    files["section.csv"] = files["section.csv"][:1]
    files["studentenrollment.csv"] = [
        r for r in files["studentenrollment.csv"] if r["Section SIS ID"] == "11001"
    ]
    files["teacherroster.csv"] = files["teacherroster.csv"][:1]
    second = sync(app_env, pid, files)
    # Updates: the school (users, classes), class 11001 (members), the 21 students and the teacher
    # of 11002 (their classes).
    assert second.counts() == {"add": 0, "update": 24, "deactivate": 1, "remove": 1}
    user = entity_id(pid, "user", f"student:{gone}")
    assert get(app_env, get_user, "x", id=user).json["accountEnabled"] is False
    assert get(app_env, user_navigation, "x", id=user, nav="classes").json["value"] == []
    assert get(app_env, get_class, "x", id=entity_id(pid, "class", "11002")).status == 404
    assert sync(app_env, pid, files).steps == []


def rows_of(env: AppEnv, profile_id: str) -> dict[str, Any]:
    directory = TableDirectory(env.account)
    out = {}
    for kind in ("school", "class", "user"):
        for row in directory.scan(profile_id, kind):
            props = {k: v for k, v in row.props.items() if k not in ("PartitionKey", "RowKey")}
            out[row.key] = (row.kind, row.active, props)
    return out


def test_an_interrupted_run_redelivered_and_a_duplicate_delivery_end_like_one_clean_run(
    app_env: AppEnv,
) -> None:
    files = sample("sds-v1_25-users")
    suffix = uuid.uuid4().hex[:8]
    sync(app_env, f"clean-{suffix}", files)
    assert sync(
        app_env, f"cut-{suffix}", files, stop_after=1, batch=10
    ).steps  # stopped after one batch
    assert SyncStateStore(app_env.account).load_baseline(f"cut-{suffix}") is None
    sync(app_env, f"cut-{suffix}", files)  # redelivered: starts over against the same baseline
    sync(app_env, f"twice-{suffix}", files)
    TableDirectory(app_env.account).apply(f"twice-{suffix}", [])  # nothing to do is nothing done
    # A removal delivered twice: the second finds the row gone, and that is done too.
    gone = DirectoryChange("class", "nope", entity_id(f"twice-{suffix}", "class", "nope"), "remove")
    extra = DirectoryChange(
        "class",
        "extra",
        entity_id(f"twice-{suffix}", "class", "extra"),
        "add",
        {"displayName": "x"},
    )
    TableDirectory(app_env.account).apply(f"twice-{suffix}", [extra])
    for _ in range(2):
        TableDirectory(app_env.account).apply(
            f"twice-{suffix}", [gone, dataclasses.replace(extra, op="remove", resource=None)]
        )

    def normal(profile_id: str) -> dict[str, Any]:
        rows = rows_of(app_env, profile_id)
        return {
            k: (kind, active, {p: v for p, v in props.items() if p != "doc"})
            for k, (kind, active, props) in rows.items()
        }

    assert normal(f"cut-{suffix}") == normal(f"clean-{suffix}") == normal(f"twice-{suffix}")
    assert len(normal(f"clean-{suffix}")) == 2 + 2 + 24


def test_purge_leaves_nothing_of_the_profile(app_env: AppEnv) -> None:
    pid = f"dir-{uuid.uuid4().hex[:8]}"
    sync(app_env, pid, sample("sds-v1_min-required"))
    directory, state = TableDirectory(app_env.account), SyncStateStore(app_env.account)
    directory.purge(pid)
    state.purge(pid)
    assert (rows_of(app_env, pid), pid in directory.profiles(), state.load_baseline(pid)) == (
        {},
        False,
        None,
    )


def test_a_transaction_with_any_text_goes_through_in_one_request(app_env: AppEnv) -> None:
    directory = TableDirectory(app_env.account)
    directory.prepare("dir-text", {})
    rows = [
        (
            "upsert",
            {
                "PartitionKey": "school.dir-text.",
                "RowKey": f"r{i}",
                "doc": text,
                "active": True,
                "n": i,
            },
        )
        for i, text in enumerate(
            ["Søren Ærø", 'O\'Brien & "Sons"', "line\nbreak", "日本語 🎓", "x" * 15000]
        )
    ]
    _send_transaction(directory.table, rows)  # raises when the service refuses any part
    stored = {
        e["RowKey"]: e["doc"]
        for e in directory.table.query_entities("PartitionKey eq 'school.dir-text.'")
    }
    assert stored == {e["RowKey"]: e["doc"] for _, e in rows}
