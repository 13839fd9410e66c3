"""The delta from columns: incremental runs agree with a run from scratch, and only changes are judged."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from sds_core.sync import (
    SyncOptions,
    apply_plan,
    dump_baseline,
    entity_id,
    load_baseline,
    plan_sync,
    read_source,
)
from sds_core.sync import plan as plan_module
from sds_core.sync.resources import _NAMESPACE
from tests.core.builders import csv_bytes
from tests.core.sync.test_data import CREATION
from tests.core.sync.test_plan import STUDENTS, MemoryTarget, files, profile, steps

P = "delta-profile"
RENAMES = {
    name: {"allowDisplayNameUpdate": True} for name in ("school", "section", "student", "teacher")
}


def plan(data: Mapping[str, Any], profile_json: dict | None = None, baseline=None):  # noqa: ANN001, ANN201
    options = SyncOptions.from_profile(profile_json or CREATION)
    return plan_sync(P, read_source(data, options), options, baseline)


def as_bytes(data: Mapping[str, list[dict[str, str]]]) -> dict[str, bytes]:
    """Rows as uploaded CSV files."""
    out = {}
    for name, rows in data.items():
        header = list(dict.fromkeys(k for row in rows for k in row))
        out[name] = csv_bytes(header, [[row.get(h, "") for h in header] for row in rows])
    return out


def test_files_as_bytes_plan_as_their_rows_do_and_issues_give_the_spreadsheet_row() -> None:
    rows = files(
        student=[
            *STUDENTS,
            {**STUDENTS[2], "SIS ID": "s8", "First Name": "", "Last Name": "", "Username": ""},
        ]
    )
    raw = as_bytes(rows)
    header, _, rest = raw["student.csv"].partition(b"\r\n")
    # A BOM, and a blank line before the last row: the row numbers are the ones a spreadsheet shows.
    body = rest.rstrip(b"\r\n").rsplit(b"\r\n", 1)
    raw["student.csv"] = (
        b"\xef\xbb\xbf" + header + b"\r\n" + body[0] + b"\r\n\r\n" + body[1] + b"\r\n"
    )
    from_rows, from_bytes = plan(rows), plan(raw)
    assert steps(from_bytes) == steps(from_rows)
    assert from_bytes.changes(from_bytes.steps) == from_rows.changes(from_rows.steps)
    assert [i.error_message for i in from_bytes.issues] == [
        "The user principal name '@students.example.edu' is not valid in Microsoft Entra ID. "
        "(student.csv row 7)"
    ]
    assert from_rows.issues[0].error_message.endswith("(student.csv row 6)")


def test_a_resync_judges_only_the_changed_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    first = plan(files())
    judged: list[str] = []
    real = plan_module.principal_name

    def counting(role: str, values: dict[str, str], options: SyncOptions):  # noqa: ANN202
        judged.append(values.get("Username", ""))
        return real(role, values, options)

    monkeypatch.setattr(plan_module, "principal_name", counting)
    students = [*STUDENTS[:3], {**STUDENTS[3], "Last Name": "Poe-Smith"}]
    second = plan(files(student=students), baseline=first.baseline)
    assert judged == ["cy"]
    assert steps(second) == [("user/student:s3", "update", ("resource",))]
    judged.clear()
    assert steps(plan(files(student=students), baseline=second.baseline)) == []
    assert judged == []


def test_a_new_password_alone_is_not_a_change() -> None:
    first = plan(files())
    students = [{**r, "Password": "Other1!pw"} for r in STUDENTS]
    assert steps(plan(files(student=students), baseline=first.baseline)) == []


def test_options_that_shape_resources_rewrite_them_and_renaming_rules_alone_do_not() -> None:
    first = plan(files())
    narrower = profile(school={"optionalPropertiesToSync": ["Zip"]})
    second = plan(files(), narrower, first.baseline)
    assert steps(second) == [
        (f"school/{k}", "update", ("resource",))
        for k in sorted(("100", "200"), key=lambda k: entity_id(P, "school", k))
    ]
    renaming = copy.deepcopy(narrower)
    renaming["dataProvider"]["customizations"]["section"] = {"allowDisplayNameUpdate": True}
    assert steps(plan(files(), renaming, second.baseline)) == []


def test_the_baseline_survives_its_bytes_and_an_unreadable_one_means_a_full_run() -> None:
    first = plan(files())
    loaded = load_baseline(dump_baseline(first.baseline))
    assert steps(plan(files(), baseline=loaded)) == []
    assert load_baseline(dump_baseline(loaded)).sizes(("school", "class", "user")) == {
        "school": 2,
        "class": 2,
        "user": 4,
    }
    for unreadable in (b"{}", b'{"schemaVersion":1,"entries":{}}', b"\x00" * 40):
        assert plan(files(), baseline=load_baseline(unreadable)).counts()["add"] == 8


def test_entity_ids_are_uuid5_of_profile_kind_and_key() -> None:
    for kind, key in (("user", "student:s1"), ("class", "Ünïcode ☃"), ("school", "x" * 300)):
        assert entity_id("p", kind, key) == str(uuid.uuid5(_NAMESPACE, f"p\n{kind}\n{key}"))


# -- incremental runs agree with a run from scratch -------------------------------------------

SCHOOL_IDS = ["1", "2", "3"]
SECTION_IDS = ["c1", "c2", "c3", "c4"]
STUDENT_IDS = ["s1", "s2", "s3", "s4", "s5"]
TEACHER_IDS = ["t1", "t2"]
NAMES = st.sampled_from(["Ann", "Bo", "Cy Lee", "Dee"])


@st.composite
def districts(draw: st.DrawFn) -> dict[str, list[dict[str, str]]]:
    """A small district drawn from fixed id pools: two draws share most keys and differ in the rest."""
    schools = draw(st.lists(st.sampled_from(SCHOOL_IDS), min_size=1, unique=True))
    sections = draw(st.lists(st.sampled_from(SECTION_IDS), unique=True))

    def people(ids: list[str]) -> list[dict[str, str]]:
        rows = []
        for sis in draw(st.lists(st.sampled_from(ids), unique=True)):
            for school in draw(
                st.lists(st.sampled_from(schools), min_size=1, max_size=2, unique=True)
            ):
                rows.append(
                    {
                        "SIS ID": sis,
                        "School SIS ID": school,
                        "Username": sis + draw(st.sampled_from(["", "x"])),
                        "First Name": draw(NAMES),
                        "Last Name": draw(NAMES),
                        "Grade": draw(st.sampled_from(["", "9", "10"])),
                    }
                )
        return rows

    students, teachers = people(STUDENT_IDS), people(TEACHER_IDS)

    def roster(users: list[dict[str, str]]) -> list[dict[str, str]]:
        ids = sorted({u["SIS ID"] for u in users})
        if not sections or not ids:
            return []
        pairs = draw(
            st.lists(st.tuples(st.sampled_from(sections), st.sampled_from(ids)), max_size=10)
        )
        return [{"Section SIS ID": c, "SIS ID": u} for c, u in pairs]

    return {
        "school.csv": [
            {"SIS ID": s, "Name": draw(NAMES), "Zip": draw(st.sampled_from(["", "98052"]))}
            for s in schools
        ],
        "section.csv": [
            {
                "SIS ID": c,
                "School SIS ID": draw(st.sampled_from(schools)),
                "Section Name": draw(NAMES),
            }
            for c in sections
        ],
        "student.csv": students,
        "teacher.csv": teachers,
        "studentenrollment.csv": roster(students),
        "teacherroster.csv": roster(teachers),
    }


def synced(runs: list[dict[str, list[dict[str, str]]]], incremental: bool) -> dict[str, dict]:
    """The directory after the runs (each against the last one's baseline), or after the last alone."""
    target, baseline = MemoryTarget(), None
    for data in runs if incremental else runs[-1:]:
        result = plan(
            data, profile(**RENAMES), load_baseline(dump_baseline(baseline)) if baseline else None
        )
        assume(not result.issues)
        for op, count in result.counts().items():
            if count:
                event(op)
        apply_plan(result, target, 0, 3, lambda b: True)
        baseline = result.baseline
    return target.rows


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(districts(), min_size=2, max_size=3))
def test_runs_one_after_another_end_where_one_run_of_the_last_files_does(runs) -> None:  # noqa: ANN001
    step_by_step = synced(runs, incremental=True)
    at_once = synced(runs, incremental=False)
    active = {k: v for k, v in step_by_step.items() if v["active"]}
    assert active == at_once
    gone = {k: v for k, v in step_by_step.items() if not v["active"]}
    assert all(v.get("schools") == () and v.get("classes") == () for v in gone.values())
