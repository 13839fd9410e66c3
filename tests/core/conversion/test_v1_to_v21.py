"""Classic sets converted to v2.1: Microsoft's samples, the mapping's details, bad input, random districts."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sds_core.conversion import convert_folder, convert_v1_to_v21
from sds_core.conversion.v1_to_v21 import grade_code, iso_date, school_year
from sds_core.verification.options import VerifyOptions
from sds_core.verification.verify import verify_files
from tests.core.builders import csv_bytes
from tests.paths import SAMPLES

V1_SETS = sorted(p.name for p in SAMPLES.glob("sds-v1*"))
DOMAINS = {"student": "students.contoso.edu", "teacher": "contoso.edu"}
V21 = VerifyOptions(format="v2.1")


def sample(name: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (SAMPLES / name).glob("*.csv")}


def rows(files: Mapping[str, bytes]) -> dict[str, int]:
    """Data rows per file, as the verifier counts them (v1 names lower-cased)."""
    v21 = any(name in files for name in ("orgs.csv", "users.csv"))
    result = verify_files(files, V21 if v21 else None)
    return {name: summary.rows for name, summary in result.files.items()}


def test_every_v1_sample_is_here() -> None:
    assert len(V1_SETS) == 8


@pytest.mark.parametrize("name", V1_SETS)
def test_a_sample_converts_to_a_clean_v21_set_with_the_same_counts(name: str) -> None:
    converted = convert_v1_to_v21(sample(name), DOMAINS)
    assert verify_files(converted, V21).graph_messages() == []
    v1, v21 = rows(sample(name)), rows(converted)
    assert v21["orgs.csv"] == v1["school.csv"]
    assert v21["users.csv"] == v1["student.csv"] + v1["teacher.csv"] == v21["roles.csv"]
    assert v21["classes.csv"] == v1["section.csv"]
    assert v21["enrollments.csv"] == v1["studentenrollment.csv"] + v1["teacherroster.csv"]


# The counts per sample, as the report quotes them: (orgs, users, classes, enrollments) and the files.
COUNTS = {
    "sds-v1-demo-small-2018": (2, 24, 2, 46, 8),
    "sds-v1-legacy-2017": (2, 98, 28, 630, 8),
    "sds-v1-uk_100-users": (2, 98, 28, 630, 8),
    "sds-v1-uk_25-users": (2, 24, 28, 158, 8),
    "sds-v1-uk_min-required": (2, 24, 28, 158, 5),
    "sds-v1_100-users": (2, 98, 28, 630, 8),
    "sds-v1_25-users": (2, 24, 2, 46, 8),
    "sds-v1_min-required": (2, 24, 2, 46, 5),
}


@pytest.mark.parametrize("name", V1_SETS)
def test_the_counts_of_each_sample(name: str) -> None:
    converted = convert_v1_to_v21(sample(name), DOMAINS)
    counted = rows(converted)
    assert (counted["orgs.csv"], counted["users.csv"], counted["classes.csv"], counted["enrollments.csv"],
            len(converted)) == COUNTS[name]


def test_the_files_of_the_25_users_sample_start_as_the_mapping_says() -> None:
    converted = convert_v1_to_v21(sample("sds-v1_25-users"), DOMAINS)
    head = {name: data.decode().split("\r\n")[:3] for name, data in converted.items()}
    assert head == {
        "orgs.csv": ["sourcedId,name,type,parentSourcedId", "10001,Contoso High School,school,",
                     "10002,Fabrikam High School,school,"],
        "users.csv": ["sourcedId,username,givenName,familyName,password,activeDirectoryMatchId,email,phone,sms",
                      "13001,OKlein@students.contoso.edu,Ora,Klein,P@ssword,,,,",
                      "13002,BMcMillan@students.contoso.edu,Beulah,McMillan,P@ssword,,,,"],
        "roles.csv": ["userSourcedId,orgSourcedId,role,sessionSourcedId,grade,isPrimary,roleStartDate,roleEndDate",
                      "13001,10001,student,,09,true,,", "13002,10001,student,,10,true,,"],
        "classes.csv": ["sourcedId,orgSourcedId,title,sessionSourcedIds,courseSourcedId",
                        "11001,10001,Math - Algebra 1,12000,11001", "11002,10001,Math - Algebra 2,12000,11002"],
        "enrollments.csv": ["classSourcedId,userSourcedId,role", "11001,13001,student", "11001,13002,student"],
        "academicSessions.csv": ["sourcedId,title,type,schoolYear,startDate,endDate",
                                 "12000,SY1516,term,2017,2017-07-01,2018-06-30", ""],
        "courses.csv": ["sourcedId,orgSourcedId,title,code,schoolYearSourcedId,subject,grade",
                        "11001,10001,Math 101,101,,Math,", "11002,10001,Math 102,102,,Math,"],
        "demographics.csv": ["userSourcedId,sex,birthDate,birthCity,birthState,birthCountry,ethnicityCodes,raceCodes",
                             "13001,,2000-04-02,,,,,", "13002,,1999-11-12,,,,,"],
    }
    tail = converted["enrollments.csv"].decode().split("\r\n")[-3:]
    assert tail == ["11001,14001,teacher", "11002,14002,teacher", ""]


def test_without_a_domain_the_usernames_stay_as_they_were_and_v21_refuses_them() -> None:
    converted = convert_v1_to_v21(sample("sds-v1_25-users"))
    assert verify_files(converted, V21).graph_messages() == [{
        "type": "Error", "fileName": "users.csv",
        "description": "24 record(s) have a value in username that isn't a valid username with its domain "
                       "(name@domain). Correct source system.",
    }]


def _minimal(**overrides: list[list[str]]) -> dict[str, bytes]:
    tables = {
        "School.csv": (["SIS ID", "Name"], [["1", "North"]]),
        "Section.csv": (["SIS ID", "School SIS ID", "Section Name", "Term SIS ID", "Term StartDate", "Term EndDate",
                         "Course SIS ID", "Course Name"],
                        [["s1", "1", "Math", "t1", "", "", "c1", ""], ["s2", "1", "Art", "t2", "20240901", "1/31/2025",
                                                                         "", "Art 1"]]),
        "Student.csv": (["SIS ID", "School SIS ID", "Username", "Grade", "Birthdate"],
                        [["7", "1", "ann@x.edu", "K", "2017-02-29"], ["8", "1", "bo@x.edu", "Other", "3/1/2016"]]),
        "Teacher.csv": (["SIS ID", "School SIS ID", "Username"], [["7", "1", "cy@x.edu"]]),
        "StudentEnrollment.csv": (["Section SIS ID", "SIS ID"], [["s1", "7"], ["s2", "8"]]),
        "TeacherRoster.csv": (["Section SIS ID", "SIS ID"], [["s1", "7"]]),
    }
    return {name: csv_bytes(header, overrides.get(name.split(".")[0].lower(), body))
            for name, (header, body) in tables.items()}


def test_ids_dates_terms_courses_and_grades_are_mapped() -> None:
    converted = convert_v1_to_v21(_minimal())
    lines = {name: data.decode().splitlines()[1:] for name, data in converted.items()}
    # A teacher whose SIS ID is a student's gets T- before it, in users, roles and enrollments.
    assert lines["users.csv"] == ["7,ann@x.edu,,,,,,,", "8,bo@x.edu,,,,,,,", "T-7,cy@x.edu,,,,,,,"]
    assert lines["roles.csv"] == ["7,1,student,,KG,true,,", "8,1,student,,Other,true,,", "T-7,1,teacher,,,true,,"]
    assert lines["enrollments.csv"] == ["s1,7,student", "s2,8,student", "s1,T-7,teacher"]
    # t1 has no dates: no session, and s1 names none; the course name falls back to its id.
    assert lines["academicSessions.csv"] == ["t2,t2,term,2024,2024-09-01,2025-01-31"]
    assert lines["classes.csv"] == ["s1,1,Math,,c1", "s2,1,Art,t2,"]
    assert lines["courses.csv"] == ["c1,1,c1,,,,"]
    # 2017-02-29 is no date: that student has no demographics record.
    assert lines["demographics.csv"] == ["8,,2016-03-01,,,,,"]
    assert verify_files(converted, V21).graph_messages() == []


def test_users_only_gives_the_three_required_files() -> None:
    files = {k: v for k, v in _minimal().items() if k in ("School.csv", "Student.csv", "Teacher.csv")}
    files["Student.csv"] = csv_bytes(["SIS ID", "School SIS ID", "Username"], [["7", "1", "ann@x.edu"]])
    converted = convert_v1_to_v21(files)
    assert sorted(converted) == ["orgs.csv", "roles.csv", "users.csv"]
    assert verify_files(converted, V21).graph_messages() == []


@pytest.mark.parametrize(("text", "code"), [
    ("9", "09"), ("09", "09"), ("12", "12"), ("13", "13"), ("K", "KG"), ("kg", "KG"), ("Kindergarten", "KG"),
    ("pk", "PK"), ("Pre-K", "PK"), ("ps1", "PS1"), ("other", "Other"), ("14", "14"), ("0", "0"), ("", ""),
    (" 10 ", "10"),
])
def test_grade_codes(text: str, code: str) -> None:
    assert grade_code(text) == code


@pytest.mark.parametrize(("text", "iso"), [
    ("2024-08-21", "2024-08-21"), ("20240821", "2024-08-21"), ("8/21/2024", "2024-08-21"),
    ("08/21/2024", "2024-08-21"), ("2/30/2024", None), ("21/8/2024", None), ("2024-8-21", None), ("", None),
])
def test_classic_dates_become_iso_dates(text: str, iso: str | None) -> None:
    assert iso_date(text) == iso


@pytest.mark.parametrize(("start", "end", "year"), [
    ("2017-07-01", "2018-06-30", "2017"), ("2025-01-06", "2025-06-13", "2024"), ("2024-08-21", "2024-12-20", "2024"),
    ("2021-08-24", "2022-06-11", "2021"),  # Microsoft's v2.1 sample: SY2021K12 is schoolYear 2021
])
def test_the_school_year_is_the_one_holding_the_terms_middle(start: str, end: str, year: str) -> None:
    assert school_year(start, end) == year


def test_bad_input_is_carried_over_never_raised() -> None:
    files = _minimal()
    files["School.csv"] = b"SIS ID,Name\r\n1,Nor\xe9th\r\n"  # not UTF-8
    files["StudentEnrollment.csv"] = b"Section SIS ID,SIS ID\r\ns1\r\ns2,8,extra\r\n\r\n"
    del files["TeacherRoster.csv"]
    converted = convert_v1_to_v21(files)
    messages = verify_files(converted, V21).graph_messages()
    assert messages == [{
        "type": "Error", "fileName": "enrollments.csv",
        "description": "1 record(s) have no value for the required field userSourcedId. Correct source system.",
    }]
    assert "\ufffd" in converted["orgs.csv"].decode()


def test_the_conversion_is_pure() -> None:
    files = _minimal()
    before = dict(files)
    assert convert_v1_to_v21(files) == convert_v1_to_v21(files)
    assert files == before


def test_the_folder_wrapper_writes_the_files(tmp_path: Path) -> None:
    written = convert_folder(SAMPLES / "sds-v1_min-required", tmp_path / "out", DOMAINS)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(written)
    assert all((tmp_path / "out" / name).read_bytes() == data for name, data in written.items())


# Random classic districts that pass the v1 rules convert to v2.1 sets that pass the v2.1 rules.

_ID = st.text("abcXYZ0129-_.", min_size=1, max_size=8)
_NAME = st.text("abc XYZ'-é", min_size=1, max_size=12).map(str.strip).filter(bool)


@st.composite
def districts(draw: st.DrawFn) -> dict[str, bytes]:
    schools = draw(st.lists(_ID, min_size=1, max_size=3, unique=True))
    sections = draw(st.lists(_ID, min_size=0, max_size=4, unique=True))
    students = draw(st.lists(_ID, min_size=1, max_size=5, unique=True))
    teachers = draw(st.lists(_ID, min_size=1, max_size=3, unique=True))
    term = st.sampled_from([("", "", ""), ("T1", "2024-08-20", "2025-06-12"), ("T2", "1/6/2025", "6/13/2025"),
                            ("T3", "", "2025-06-13")])
    grade = st.sampled_from(["", "K", "1", "9", "12", "PK", "ug"])
    section_rows = []
    for sid in sections:
        term_id, start, end = draw(term)
        section_rows.append([sid, draw(st.sampled_from(schools)), draw(_NAME), term_id, start, end,
                             draw(st.sampled_from(["", "C1", "C2"])), draw(st.sampled_from(["", "Course"]))])
    people = lambda ids, extra: [[i, draw(st.sampled_from(schools)), f"u{n}{extra}@x.edu", draw(grade), # noqa: E731
                                  draw(st.sampled_from(["", "2010-05-04", "12/31/2011"]))] for n, i in enumerate(ids)]
    pairs = lambda ids: sorted({(s, p) for s in sections for p in ids if draw(st.booleans())})  # noqa: E731
    return {
        "school.csv": csv_bytes(["SIS ID", "Name"], [[s, draw(_NAME)] for s in schools]),
        "section.csv": csv_bytes(["SIS ID", "School SIS ID", "Section Name", "Term SIS ID", "Term StartDate",
                                  "Term EndDate", "Course SIS ID", "Course Name"], section_rows),
        "student.csv": csv_bytes(["SIS ID", "School SIS ID", "Username", "Grade", "Birthdate"], people(students, "s")),
        "teacher.csv": csv_bytes(["SIS ID", "School SIS ID", "Username"], [r[:3] for r in people(teachers, "t")]),
        "studentenrollment.csv": csv_bytes(["Section SIS ID", "SIS ID"], [list(p) for p in pairs(students)]),
        "teacherroster.csv": csv_bytes(["Section SIS ID", "SIS ID"], [list(p) for p in pairs(teachers)]),
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(districts())
def test_a_clean_classic_district_converts_to_a_clean_v21_set(files: dict[str, bytes]) -> None:
    assert not verify_files(files).has_errors
    converted = convert_v1_to_v21(files)
    assert [m for m in verify_files(converted, V21).graph_messages() if m["type"] != "Warning" or
            "no records" not in m["description"]] == []
    v1, v21 = rows(files), rows(converted)
    assert (v21["orgs.csv"], v21["users.csv"], v21["classes.csv"], v21["enrollments.csv"]) == (
        v1["school.csv"], v1["student.csv"] + v1["teacher.csv"], v1["section.csv"],
        v1["studentenrollment.csv"] + v1["teacherroster.csv"])
