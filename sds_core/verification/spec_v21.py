"""The SDS v2.1 CSV format (the new School Data Sync's own) as data; docs/sds-v2.1-rules.md cites each rule."""

from __future__ import annotations

from collections.abc import Iterable

from sds_core.verification.spec import ANY_ROLE, Column, FileSpec, Format, Kind, Reference

ORGS = "orgs.csv"
USERS = "users.csv"
ROLES = "roles.csv"
CLASSES = "classes.csv"
ENROLLMENTS = "enrollments.csv"
ACADEMIC_SESSIONS = "academicSessions.csv"
COURSES = "courses.csv"
DEMOGRAPHICS = "demographics.csv"
USER_FLAGS = "userFlags.csv"
RELATIONSHIPS = "relationships.csv"

# Default List of Values, "Organization types" (RefOrganizationTypeId); tenant-extendable (RefOrgType).
ORG_TYPES = (
    "school", "ministryOfEducation", "localAuthority", "department", "university", "region",
    "district", "college", "division", "local", "campus", "province", "state", "adultEducation",
    "researchCenter", "national", "municipality", "program", "departmentOfEducation", "academicTrust",
)
# Default List of Values, "Organization user roles" (RefRoleId), each with its default role group.
ROLE_GROUPS: dict[str, str | None] = {
    **{role: "staff" for role in (
        "principal", "chair", "professor", "researcher", "adjunct", "affiliate", "occupationalTherapist",
        "physicalTherapist", "speechTherapist", "visionTherapist", "paraprofessional", "specialServices",
        "advisor", "proctor", "nurse", "officeStaff", "lecturer", "itAdmin", "administrator", "teacher",
        "faculty", "staff", "teacherAssistant", "assistant", "instructor", "substitute", "coach", "alumni",
    )},
    "student": "student",
    "other": None,
}
# Grade codes (RefGradeLevel; tenant-extendable): the OneRoster/CEDS codes the list is built on,
# with PS1 and PS2 from Microsoft's v2.1 sample (the stored copies of the list are cut off).
GRADE_LEVELS = ("IT", "PR", "PK", "TK", "KG", *(f"{n:02d}" for n in range(1, 14)), "PS", "PS1", "PS2", "UG",
                "Other")
# Not listed in any stored copy of Microsoft's pages: the OneRoster 1.1 session types and the third
# party's `quarter` (so a value outside them is a Warning only).
SESSION_TYPES = ("schoolYear", "semester", "term", "gradingPeriod", "quarter")
SEX_VALUES = ("male", "female", "notSelected", "other", "unspecified")
# Microsoft's OneRoster ADF template maps every relationship onto these (anything else -> other).
RELATIONSHIP_ROLES = ("parent", "guardian", "relative", "doctor", "aide", "other")


def _values(codes: Iterable[str]) -> frozenset[str]:
    return frozenset(code.casefold() for code in codes)


def _id(name: str, required: bool = False, multiple: bool = False) -> Column:
    return Column(name, Kind.UNIQUE_ID, required=required, multiple=multiple)


def _grade() -> Column:
    return Column("grade", values=_values(GRADE_LEVELS), list_name="RefGradeLevel")


def _role(name: str) -> Column:
    return Column(name, required=True, values=_values(ROLE_GROUPS), list_name="RefRoleId", list_is_error=True)


def _file(name: str, columns: tuple[Column, ...], **rules: object) -> FileSpec:
    return FileSpec(name=name, customization=name.removesuffix(".csv"), columns=columns, key="sourcedId",
                    **rules)  # type: ignore[arg-type]


def _to(target: str, column: str) -> Reference:
    return Reference(column, target, "sourcedId")


ORGS_SPEC = _file(ORGS, (
    _id("sourcedId", required=True),
    Column("name", Kind.SCHOOL_NAME, required=True),
    Column("type", required=True, values=_values(ORG_TYPES), list_name="RefOrganizationTypeId"),
    _id("parentSourcedId"),
), unique=("sourcedId",), unique_is_error=True, references=(_to(ORGS, "parentSourcedId"),))

ACADEMIC_SESSIONS_SPEC = _file(ACADEMIC_SESSIONS, (
    _id("sourcedId", required=True),
    Column("title", Kind.SCHOOL_NAME, required=True),
    Column("type", required=True, values=_values(SESSION_TYPES), list_name="the academic session types"),
    Column("schoolYear", Kind.YEAR, required=True),
    Column("startDate", Kind.ISO_DATE, required=True),
    Column("endDate", Kind.ISO_DATE, required=True),
), unique=("sourcedId",), unique_is_error=True)

COURSES_SPEC = _file(COURSES, (
    _id("sourcedId", required=True),
    _id("orgSourcedId", required=True),
    Column("title", Kind.SCHOOL_NAME, required=True),
    Column("code"),
    _id("schoolYearSourcedId"),
    Column("subject"),
    _grade(),
), unique=("sourcedId",), unique_is_error=True,
    references=(_to(ORGS, "orgSourcedId"), _to(ACADEMIC_SESSIONS, "schoolYearSourcedId")))

USERS_SPEC = _file(USERS, (
    _id("sourcedId", required=True),
    Column("username", Kind.UPN, required=True),
    Column("givenName", Kind.PERSON_NAME, required_when_creating=True),
    Column("familyName", Kind.PERSON_NAME, required_when_creating=True),
    Column("password", Kind.PASSWORD),
    Column("activeDirectoryMatchId"),
    Column("email", Kind.EMAIL),
    Column("phone"),
    Column("sms"),
), unique=("sourcedId", "username"), unique_is_error=True, role=ANY_ROLE)

CLASSES_SPEC = _file(CLASSES, (
    _id("sourcedId", required=True),
    _id("orgSourcedId", required=True),
    Column("title", Kind.SCHOOL_NAME, required=True),
    _id("sessionSourcedIds", multiple=True),
    _id("courseSourcedId"),
), unique=("sourcedId",), unique_is_error=True, references=(
    _to(ORGS, "orgSourcedId"), _to(ACADEMIC_SESSIONS, "sessionSourcedIds"), _to(COURSES, "courseSourcedId")))

ROLES_SPEC = _file(ROLES, (
    _id("userSourcedId", required=True),
    _id("orgSourcedId", required=True),
    _role("role"),
    _id("sessionSourcedId"),
    _grade(),
    Column("isPrimary", Kind.BOOLEAN),
    Column("roleStartDate", Kind.ISO_DATE),
    Column("roleEndDate", Kind.ISO_DATE),
), references=(_to(USERS, "userSourcedId"), _to(ORGS, "orgSourcedId"), _to(ACADEMIC_SESSIONS, "sessionSourcedId")))

ENROLLMENTS_SPEC = _file(ENROLLMENTS, (
    _id("classSourcedId", required=True),
    _id("userSourcedId", required=True),
    _role("role"),
), unique_pair=("classSourcedId", "userSourcedId"),
    references=(_to(CLASSES, "classSourcedId"), _to(USERS, "userSourcedId")))

DEMOGRAPHICS_SPEC = _file(DEMOGRAPHICS, (
    _id("userSourcedId", required=True),
    Column("sex", values=_values(SEX_VALUES), list_name="the sex values"),
    Column("birthDate", Kind.ISO_DATE),
    Column("birthCity"),
    Column("birthState"),
    Column("birthCountry"),
    Column("ethnicityCodes"),
    Column("raceCodes"),
), unique=("userSourcedId",), references=(_to(USERS, "userSourcedId"),))

USER_FLAGS_SPEC = _file(USER_FLAGS, (
    _id("userSourcedId", required=True),
    Column("flag", required=True),
), unique_pair=("userSourcedId", "flag"), references=(_to(USERS, "userSourcedId"),))

RELATIONSHIPS_SPEC = _file(RELATIONSHIPS, (
    _id("userSourcedId", required=True),
    _id("relationshipUserSourcedId", required=True),
    Column("relationshipRole", required=True, values=_values(RELATIONSHIP_ROLES),
           list_name="the relationship roles", list_is_error=True),
), unique_pair=("userSourcedId", "relationshipUserSourcedId"),
    references=(_to(USERS, "userSourcedId"), _to(USERS, "relationshipUserSourcedId")))

# Parents before the files that reference them; orgs.csv references itself (parentSourcedId).
FILES: tuple[FileSpec, ...] = (
    ORGS_SPEC, ACADEMIC_SESSIONS_SPEC, COURSES_SPEC, USERS_SPEC, CLASSES_SPEC, ROLES_SPEC, ENROLLMENTS_SPEC,
    DEMOGRAPHICS_SPEC, USER_FLAGS_SPEC, RELATIONSHIPS_SPEC,
)
FILE_NAMES: tuple[str, ...] = tuple(f.name for f in FILES)

V21 = Format(
    name="v2.1",
    files=FILES,
    required_files=frozenset({ORGS, USERS, ROLES}),
    together=frozenset({CLASSES, ENROLLMENTS}),
    exact_names=True,
    optional_is_warning=True,
    largest=ENROLLMENTS,
    templates="v2.1",
)
