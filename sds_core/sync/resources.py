"""Graph v1.0 shapes of the synced entities: educationSchool, educationClass, educationUser."""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Any

from sds_core.sync.identity import replace_special
from sds_core.sync.options import SyncOptions
from sds_core.sync.source import Record

SOURCE_DETAIL = "School Data Sync CSV"
# Part of every resource digest: raise it when a shape below changes, and every resource is rewritten.
SHAPE_VERSION = 1
_NAMESPACE = uuid.UUID("5f1b8a2e-3c4d-4e6f-9a0b-1c2d3e4f5a6b")
_NAMESPACE_BYTES = _NAMESPACE.bytes
_MDY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")

# Every property of each shape, in Graph's order; unset ones are null.
SCHOOL_PROPERTIES = (
    "id",
    "displayName",
    "description",
    "externalId",
    "externalSource",
    "externalSourceDetail",
    "schoolNumber",
    "lowestGrade",
    "highestGrade",
    "externalPrincipalId",
    "principalName",
    "principalEmail",
    "phone",
    "fax",
    "address",
)
CLASS_PROPERTIES = (
    "id",
    "displayName",
    "mailNickname",
    "description",
    "classCode",
    "externalName",
    "externalId",
    "externalSource",
    "externalSourceDetail",
    "grade",
    "term",
    "course",
)
USER_PROPERTIES = (
    "id",
    "accountEnabled",
    "displayName",
    "givenName",
    "middleName",
    "surname",
    "userPrincipalName",
    "mailNickname",
    "mail",
    "primaryRole",
    "externalSource",
    "externalSourceDetail",
    "student",
    "teacher",
)
PROPERTIES = {"school": SCHOOL_PROPERTIES, "class": CLASS_PROPERTIES, "user": USER_PROPERTIES}


def entity_id(profile_id: str, kind: str, key: str) -> str:
    """The stable id of an entity: the same profile, kind and source key give the same id.

    It is uuid5(_NAMESPACE, "{profile_id}\\n{kind}\\n{key}"), written out: uuid.uuid5 costs 5x more.
    """
    raw = bytearray(
        hashlib.sha1(_NAMESPACE_BYTES + f"{profile_id}\n{kind}\n{key}".encode()).digest()[:16]
    )
    raw[6] = (raw[6] & 0x0F) | 0x50  # version 5
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def iso_date(value: str | None) -> str | None:
    """A verified date (YYYY-MM-DD, YYYYMMDD or M/D/YYYY) as an Edm.Date."""
    if not value:
        return None
    if m := _MDY.match(value):
        return f"{m[3]}-{int(m[1]):02d}-{int(m[2]):02d}"
    if m := _COMPACT.match(value):
        return f"{m[1]}-{m[2]}-{m[3]}"
    return value


def _group(pairs: dict[str, str | None]) -> dict[str, str | None] | None:
    return pairs if any(v is not None for v in pairs.values()) else None


def school_resource(profile_id: str, record: Record, display_name: str) -> dict[str, Any]:
    """The educationSchool for a school.csv record."""
    v = record.values.get
    return {
        "id": entity_id(profile_id, "school", record.key),
        "displayName": display_name,
        "description": None,
        "externalId": record.key,
        "externalSource": "sis",
        "externalSourceDetail": SOURCE_DETAIL,
        "schoolNumber": v("School Number"),
        "lowestGrade": v("Grade Low"),
        "highestGrade": v("Grade High"),
        "externalPrincipalId": v("Principal SIS ID"),
        "principalName": v("Principal Name"),
        "principalEmail": (v("Principal Secondary Email") or "").lower() or None,
        "phone": v("Phone"),
        "fax": None,
        "address": _group(
            {
                "city": v("City"),
                "countryOrRegion": v("Country"),
                "postalCode": v("Zip"),
                "state": v("State"),
                "street": v("Address"),
            }
        ),
    }


def mail_nickname(section_sis_id: str, options: SyncOptions) -> str:
    """The class group's mailNickname, as the original built it."""
    return f"Section_{replace_special(section_sis_id, options)}"


def class_resource(
    profile_id: str, record: Record, display_name: str, options: SyncOptions
) -> dict[str, Any]:
    """The educationClass for a section.csv record."""
    v = record.values.get
    return {
        "id": entity_id(profile_id, "class", record.key),
        "displayName": display_name,
        "mailNickname": mail_nickname(record.key, options),
        "description": None,
        "classCode": v("Section Number"),
        "externalName": record.values.get("Section Name"),
        "externalId": record.key,
        "externalSource": "sis",
        "externalSourceDetail": SOURCE_DETAIL,
        "grade": None,
        "term": _group(
            {
                "externalId": v("Term SIS ID"),
                "displayName": v("Term Name"),
                "startDate": iso_date(v("Term StartDate")),
                "endDate": iso_date(v("Term EndDate")),
            }
        ),
        "course": _group(
            {
                "externalId": v("Course SIS ID"),
                "displayName": v("Course Name"),
                "courseNumber": v("Course Number"),
                "description": v("Course Description"),
                "subject": v("Course Subject"),
            }
        ),
    }


def person_display_name(record: Record) -> str:
    """First and last name; the Username when the file has no names (matched accounts)."""
    name = " ".join(
        p for p in (record.values.get("First Name"), record.values.get("Last Name")) if p
    )
    return name or record.values.get("Username", "")


def user_resource(
    profile_id: str, role: str, record: Record, display_name: str, upn: str | None
) -> dict[str, Any]:
    """The educationUser for a student.csv or teacher.csv record (never its password)."""
    v = record.values.get
    sis_id = record.key.partition(":")[2]
    return {
        "id": entity_id(profile_id, "user", record.key),
        "accountEnabled": True,
        "displayName": display_name,
        "givenName": v("First Name"),
        "middleName": v("Middle Name"),
        "surname": v("Last Name"),
        "userPrincipalName": upn,
        "mailNickname": upn.partition("@")[0] if upn else None,
        "mail": None,
        "primaryRole": role,
        "externalSource": "sis",
        "externalSourceDetail": SOURCE_DETAIL,
        "student": {
            "externalId": sis_id,
            "studentNumber": v("Student Number"),
            "birthDate": iso_date(v("Birthdate")),
            "grade": v("Grade"),
            "graduationYear": v("Graduation Year"),
            "gender": None,
        }
        if role == "student"
        else None,
        "teacher": {
            "externalId": sis_id,
            "teacherNumber": v("Teacher Number"),
        }
        if role == "teacher"
        else None,
    }
