"""The sync plan: Graph shapes, the delta, identity, per-record errors, options and batching."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from sds_core.sync import (
    Batch,
    DirectoryChange,
    SyncIssue,
    SyncOptions,
    apply_plan,
    entity_id,
    plan_sync,
    read_source,
)
from tests.core.sync.test_data import CREATION, csv_files

P = "plan-profile"
SCHOOLS = [
    {
        "SIS ID": "100",
        "Name": "North High",
        "School Number": "7",
        "Principal Name": "Ada Lovelace",
        "Zip": "98052",
        "City": "Redmond",
    },
    {
        "SIS ID": "200",
        "Name": "South High",
        "School Number": "8",
        "Principal Name": "",
        "Zip": "",
        "City": "",
    },
]
SECTIONS = [
    {
        "SIS ID": "c1",
        "School SIS ID": "100",
        "Section Name": "Algebra 1",
        "Term Name": "Fall",
        "Term StartDate": "8/1/2024",
        "Term EndDate": "20241220",
        "Course Name": "Math 101",
        "Course Subject": "Math",
    },
    {
        "SIS ID": "c2",
        "School SIS ID": "200",
        "Section Name": "Biology",
        "Term Name": "",
        "Term StartDate": "",
        "Term EndDate": "",
        "Course Name": "",
        "Course Subject": "",
    },
]
STUDENTS = [
    {
        "SIS ID": "s1",
        "School SIS ID": "100",
        "Username": "ann",
        "First Name": "Ann",
        "Last Name": "Lee",
        "Password": "Pw1!pass",
        "Middle Name": "B",
        "Grade": "9",
        "Birthdate": "4/2/2010",
        "Student Number": "11",
    },
    {
        "SIS ID": "s1",
        "School SIS ID": "200",
        "Username": "ann",
        "First Name": "Ann",
        "Last Name": "Lee",
        "Password": "Pw1!pass",
        "Middle Name": "B",
        "Grade": "9",
        "Birthdate": "4/2/2010",
        "Student Number": "11",
    },
    {
        "SIS ID": "s2",
        "School SIS ID": "100",
        "Username": "bob",
        "First Name": "Bob",
        "Last Name": "Roe",
        "Password": "Pw1!pass",
        "Middle Name": "",
        "Grade": "10",
        "Birthdate": "",
        "Student Number": "12",
    },
    {
        "SIS ID": "s3",
        "School SIS ID": "200",
        "Username": "cy",
        "First Name": "Cy",
        "Last Name": "Poe",
        "Password": "Pw1!pass",
        "Middle Name": "",
        "Grade": "11",
        "Birthdate": "",
        "Student Number": "13",
    },
]
TEACHERS = [
    {
        "SIS ID": "t1",
        "School SIS ID": "100",
        "Username": "tess",
        "First Name": "Tess",
        "Last Name": "Tay",
        "Password": "Pw1!pass",
        "Teacher Number": "501",
        "Middle Name": "",
    },
]
ENROLLMENT = [
    {"Section SIS ID": "c1", "SIS ID": "s1"},
    {"Section SIS ID": "c1", "SIS ID": "s2"},
    {"Section SIS ID": "c2", "SIS ID": "s3"},
]
ROSTER = [{"Section SIS ID": "c1", "SIS ID": "t1"}, {"Section SIS ID": "c2", "SIS ID": "t1"}]


def files(**changes: list[dict[str, Any]]) -> dict[str, list[dict[str, str]]]:
    """The district above, with whole files replaced by keyword (student=[...])."""
    tables = {
        "school.csv": SCHOOLS,
        "section.csv": SECTIONS,
        "student.csv": STUDENTS,
        "teacher.csv": TEACHERS,
        "studentenrollment.csv": ENROLLMENT,
        "teacherroster.csv": ROSTER,
    }
    for name, rows in changes.items():
        tables[f"{name}.csv"] = rows
    return csv_files(tables)


def profile(**customizations: dict[str, Any]) -> dict[str, Any]:
    """The creation profile with customizations."""
    body = copy.deepcopy(CREATION)
    body["dataProvider"] = {
        "@odata.type": "#microsoft.graph.educationCsvDataProvider",
        "customizations": customizations,
    }
    return body


def plan(data, profile_json=None, baseline=None):  # noqa: ANN001, ANN201
    options = SyncOptions.from_profile(profile_json or CREATION)
    return plan_sync(P, read_source(data, options), options, baseline)


def steps(result) -> list[tuple[str, str, tuple[str, ...]]]:  # noqa: ANN001
    return [(s.ekey, s.op, s.parts) for s in result.steps]


def uid(kind: str, key: str) -> str:
    return entity_id(P, kind, key)


def change_of(result, ekey: str) -> DirectoryChange:  # noqa: ANN001
    return next(c for c in result.changes(result.steps) if f"{c.kind}/{c.key}" == ekey)


def test_a_student_in_two_schools_is_one_educationuser_with_both_schools_and_a_password_for_creation() -> (
    None
):
    first = plan(files())
    assert change_of(first, "user/student:s1") == DirectoryChange(
        kind="user",
        key="student:s1",
        id=uid("user", "student:s1"),
        op="add",
        resource={
            "id": uid("user", "student:s1"),
            "accountEnabled": True,
            "displayName": "Ann Lee",
            "givenName": "Ann",
            "middleName": "B",
            "surname": "Lee",
            "userPrincipalName": "ann@students.example.edu",
            "mailNickname": "ann",
            "mail": None,
            "primaryRole": "student",
            "externalSource": "sis",
            "externalSourceDetail": "School Data Sync CSV",
            "student": {
                "externalId": "s1",
                "studentNumber": "11",
                "birthDate": "2010-04-02",
                "grade": "9",
                "graduationYear": None,
                "gender": None,
            },
            "teacher": None,
        },
        links={"schools": ("100", "200"), "classes": ("c1",)},
        password="Pw1!pass",
    )


def test_a_section_is_an_educationclass_with_term_course_members_and_teachers() -> None:
    first = plan(files())
    assert change_of(first, "class/c1") == DirectoryChange(
        kind="class",
        key="c1",
        id=uid("class", "c1"),
        op="add",
        resource={
            "id": uid("class", "c1"),
            "displayName": "Algebra 1",
            "mailNickname": "Section_c1",
            "description": None,
            "classCode": None,
            "externalName": "Algebra 1",
            "externalId": "c1",
            "externalSource": "sis",
            "externalSourceDetail": "School Data Sync CSV",
            "grade": None,
            "term": {
                "externalId": None,
                "displayName": "Fall",
                "startDate": "2024-08-01",
                "endDate": "2024-12-20",
            },
            "course": {
                "externalId": None,
                "displayName": "Math 101",
                "courseNumber": None,
                "description": None,
                "subject": "Math",
            },
        },
        links={"members": ("student:s1", "student:s2"), "teachers": ("teacher:t1",)},
    )
    assert change_of(first, "school/100").links == {
        "users": ("student:s1", "student:s2", "teacher:t1"),
        "classes": ("c1",),
    }
    assert change_of(first, "class/c2").resource["term"] is None


def test_the_same_files_again_change_nothing() -> None:
    first = plan(files())
    assert steps(plan(files(), baseline=first.baseline)) == []
    assert first.counts() == {"add": 8, "update": 0, "deactivate": 0, "remove": 0}


def test_changed_files_give_exactly_the_adds_updates_deactivations_and_removals() -> None:
    first = plan(files())
    students = [r for r in STUDENTS if r["SIS ID"] != "s2"]
    students[2] = {**students[2], "Last Name": "Poe-Smith"}
    students.append({**STUDENTS[2], "SIS ID": "s4", "Username": "dee", "First Name": "Dee"})
    sections = [SECTIONS[0], {**SECTIONS[1], "Section Name": "Biology II"}]
    enrollment = [ENROLLMENT[0], ENROLLMENT[2], {"Section SIS ID": "c2", "SIS ID": "s4"}]
    second = plan(
        files(student=students, section=sections, studentenrollment=enrollment),
        baseline=first.baseline,
    )
    expected = [
        ("school/100", "update", ("users",)),
        ("user/student:s3", "update", ("resource",)),
        ("user/student:s4", "add", ("resource", "schools", "classes")),
        ("class/c1", "update", ("members",)),
        ("class/c2", "update", ("resource", "members")),
        ("user/student:s2", "deactivate", ()),
    ]
    order = {
        e: i
        for i, e in enumerate(
            sorted(
                [e for e, op, _ in expected if op != "deactivate"],
                key=lambda e: (
                    {"school": 0, "user": 1, "class": 2}[e.split("/")[0]],
                    uid(*e.split("/", 1)),
                ),
            )
        )
    }
    expected.sort(key=lambda s: (s[1] == "deactivate", order.get(s[0], 0)))
    assert steps(second) == expected
    # allowDisplayNameUpdate is false by default: the class keeps its name, externalName follows.
    c2 = change_of(second, "class/c2").resource
    assert (c2["displayName"], c2["externalName"]) == ("Biology", "Biology II")
    assert change_of(second, "user/student:s2") == DirectoryChange(
        "user",
        "student:s2",
        uid("user", "student:s2"),
        "deactivate",
        links={"schools": (), "classes": ()},
    )
    third = plan(
        files(student=students, section=sections, studentenrollment=enrollment),
        baseline=second.baseline,
    )
    assert steps(third) == []
    back = plan(files(), baseline=third.baseline)
    assert ("user/student:s2", "update", ("resource", "schools", "classes")) in steps(back)
    assert ("user/student:s4", "deactivate", ()) in steps(back)


def test_allow_display_name_update_lets_the_new_name_through() -> None:
    custom = profile(section={"allowDisplayNameUpdate": True})
    first = plan(files(), custom)
    second = plan(
        files(section=[SECTIONS[0], {**SECTIONS[1], "Section Name": "Biology II"}]),
        custom,
        first.baseline,
    )
    assert change_of(second, "class/c2").resource["displayName"] == "Biology II"


def test_missing_sections_and_schools_are_removed_after_users_are_deactivated() -> None:
    first = plan(files())
    second = plan(
        files(
            school=SCHOOLS[:1],
            section=SECTIONS[:1],
            student=STUDENTS[:3],
            studentenrollment=ENROLLMENT[:2],
            teacherroster=ROSTER[:1],
        ),
        baseline=first.baseline,
    )
    assert [(e, op) for e, op, _ in steps(second) if op in ("deactivate", "remove")] == [
        ("user/student:s3", "deactivate"),
        ("class/c2", "remove"),
        ("school/200", "remove"),
    ]
    assert change_of(second, "user/student:s1").links == {"schools": ("100",)}


def test_a_username_taken_by_a_teacher_is_an_error_for_the_student_and_the_rest_syncs() -> None:
    students = [*STUDENTS, {**STUDENTS[2], "SIS ID": "s9", "Username": "TESS", "Password": ""}]
    profile_json = profile()
    profile_json["identitySynchronizationConfiguration"]["userDomains"][0]["name"] = "example.edu"
    result = plan(files(student=students), profile_json)
    assert result.issues == [
        SyncIssue(
            entry_type="Student",
            error_code="UserPrincipalNameConflict",
            error_message="The user principal name TESS@example.edu is already used by another user "
            "(teacher SIS ID t1). (student.csv row 6)",
            joining_value="s9",
            reportable_identifier="TESS",
        )
    ]
    assert "user/student:s9" not in {s.ekey for s in result.steps}
    assert result.counts()["add"] == 8


def test_a_name_held_by_a_deactivated_user_is_not_given_to_a_new_one() -> None:
    first = plan(files())
    students = [r for r in STUDENTS if r["SIS ID"] != "s2"] + [{**STUDENTS[2], "SIS ID": "s5"}]
    second = plan(files(student=students), baseline=first.baseline)
    assert [(i.joining_value, i.error_code) for i in second.issues] == [
        ("s5", "UserPrincipalNameConflict")
    ]


def test_records_entra_would_reject_become_errors_with_their_row() -> None:
    long_id = "x" * 60
    sections = [*SECTIONS, {**SECTIONS[1], "SIS ID": long_id, "Section Name": "Chem"}]
    profile_json = profile()
    profile_json["identitySynchronizationConfiguration"]["userDomains"] = [
        {"appliesTo": "student", "name": "example.edu"}
    ]
    result = plan(files(section=sections), profile_json)
    assert result.issues == [
        SyncIssue(
            "Section",
            "AzureActiveDirectoryInvalidPropertyValue",
            f"The class mailNickname 'Section_{long_id}' is longer than 64 characters. (section.csv row 4)",
            long_id,
            "Chem",
        ),
        SyncIssue(
            "Teacher",
            "MissingUserDomain",
            "The profile has no user domain for teachers; add one to userDomains. (teacher.csv row 2)",
            "t1",
            "tess",
        ),
    ]
    assert change_of(result, "class/c1").links["teachers"] == ()


def test_optional_properties_to_sync_limits_the_synced_columns() -> None:
    result = plan(
        files(),
        profile(
            student={"optionalPropertiesToSync": ["Grade"]}, school={"optionalPropertiesToSync": []}
        ),
    )
    user = change_of(result, "user/student:s1").resource
    assert (user["middleName"], user["student"]) == (
        None,
        {
            "externalId": "s1",
            "studentNumber": None,
            "birthDate": None,
            "grade": "9",
            "graduationYear": None,
            "gender": None,
        },
    )
    school = change_of(result, "school/100").resource
    assert (school["schoolNumber"], school["principalName"], school["address"]) == (
        None,
        None,
        None,
    )


def test_matching_builds_the_name_from_the_source_property_and_target_domain() -> None:
    matching = {
        "identitySynchronizationConfiguration": {
            "@odata.type": "#microsoft.graph.educationIdentityMatchingConfiguration",
            "matchingOptions": [
                {
                    "appliesTo": "student",
                    "sourcePropertyName": "Username",
                    "targetPropertyName": "userPrincipalName",
                    "targetDomain": "contoso.edu",
                },
                {
                    "appliesTo": "teacher",
                    "sourcePropertyName": "SIS ID",
                    "targetPropertyName": "userPrincipalName",
                    "targetDomain": "staff.contoso.edu",
                },
            ],
        }
    }
    result = plan(files(), matching)
    assert change_of(result, "user/student:s1").resource["userPrincipalName"] == "ann@contoso.edu"
    assert (
        change_of(result, "user/teacher:t1").resource["userPrincipalName"] == "t1@staff.contoso.edu"
    )


def test_a_deferred_enrollment_leaves_memberships_as_they_were() -> None:
    deferred = profile(studentEnrollment={"isSyncDeferred": True})
    first = plan(files())
    second = plan(files(studentenrollment=ENROLLMENT[:1]), deferred, first.baseline)
    assert steps(second) == []
    fresh = plan(files(), profile(student={"isSyncDeferred": True}))
    assert [s.ekey for s in fresh.steps if s.ekey.startswith("user/")] == ["user/teacher:t1"]
    assert change_of(fresh, "class/c1").links == {"teachers": ("teacher:t1",)}


class MemoryTarget:
    """A DirectoryTarget kept in a dict, to follow batches, stops and repeats."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.batches = 0

    def prepare(self, profile_id: str, sizes: Mapping[str, int]) -> None:
        self.sizes = dict(sizes)

    def apply(self, profile_id: str, changes: Sequence[DirectoryChange]) -> list[SyncIssue]:
        self.batches += 1
        for c in changes:
            if c.op == "remove":
                self.rows.pop(c.id, None)
                continue
            row = self.rows.setdefault(c.id, {})
            row["active"] = c.op != "deactivate"
            if c.resource is not None:
                row["resource"] = c.resource
            row.update(c.links)
        return []


def test_a_run_stopped_after_a_batch_continues_from_its_checkpoint_to_the_same_directory() -> None:
    first = plan(files())
    clean = MemoryTarget()
    assert apply_plan(first, clean, 0, 3, lambda b: True) == 8
    seen: list[Batch] = []
    stopped = MemoryTarget()
    done = apply_plan(first, stopped, 0, 3, lambda b: seen.append(b) or False)
    assert (done, [(b.done, b.total) for b in seen]) == (3, [(3, 8)])
    # Redelivery after a crash between a batch and its checkpoint repeats that batch: harmless.
    apply_plan(first, stopped, 0, 3, lambda b: True)
    assert stopped.rows == clean.rows and stopped.batches == 4
    assert clean.sizes == {"school": 2, "class": 2, "user": 4}
