"""A classic profile's objects in the new School Data Sync (Industry Data API), as pure data.

The bodies follow industry-data.md, including what the service refuses ("Limits and values the
service refuses"): names of at most 100 characters, matching codes from Microsoft's lists, one
priorityOrder sequence across all matching settings, a flow that expires by its year's end.
docs/new-sds-mapping.md says how each classic property maps.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from sds_core.models.profiles import (
    IdentityMatchingConfiguration,
    IdentityMatchingOptions,
    ProfileSettings,
)

RECORD_FIELD = "industryData"  # the extra field of the profile record
NS = "microsoft.graph.industryData."
FILE_FORMAT = "schoolDataSyncV1"
FILE_FORMATS = ("schoolDataSyncV1", "schoolDataSyncV2Rev1")  # Graph industrydata-fileformatreferencevalue
DATA_DOMAIN = "educationRostering"
MAX_NAME = 100  # "Maximum supported length is 100 characters" (each resource page)
SCHOOL_YEAR_STARTS = 8  # August: a year begun in August or later is that calendar year's school year
ObjectKind = Literal["sourceSystem", "connector", "year", "inboundFlow"]
SETUP_ORDER: tuple[ObjectKind, ...] = ("sourceSystem", "connector", "year", "inboundFlow")
COLLECTIONS: dict[ObjectKind, str] = {
    "sourceSystem": "sourceSystems",
    "connector": "dataConnectors",
    "year": "years",
    "inboundFlow": "inboundFlows",
}
# An Industry Data id as this app accepts it from Graph or a client: Graph's are GUIDs.
OBJECT_ID = re.compile(r"(?!\.\.?$)[A-Za-z0-9._~-]{1,128}")
# Classic roles -> the new SDS's role groups (students, staff).
ROLE_GROUPS = {"student": "students", "teacher": "staff", "faculty": "staff"}
# Microsoft's ADF READMEs: "Valid values are username, email, or activeDirectory" (source) and
# "userPrincipalName or mail" (target). Classic names (CSV headers, Entra properties) -> codes.
SOURCE_IDENTIFIERS = {
    "username": "username",
    "email": "email",
    "secondary email": "email",
    "secondaryemail": "email",
    "activedirectory": "activeDirectory",
}
MATCH_TARGETS = {"userprincipalname": "userPrincipalName", "mail": "mail"}
# Staff first, as every Microsoft example numbers them (staff 0, students 1).
DEFAULT_MATCHING = (("staff", "username", "userPrincipalName"), ("students", "username", "userPrincipalName"))
Bind = Callable[[str, str], str]  # (collection, id) -> the object's URL, for @odata.bind


class IndustryData(BaseModel):
    """The ids of a profile's Industry Data objects; `created` names those the app made.

    `year_end` is the endDate of the year the flow belongs to (the flow expires by then);
    `lease_id`/`lease_until` mark a request or worker making or changing the objects now, so that
    two of them never make two sets.
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True)

    connector_id: str | None = None
    source_system_id: str | None = None
    year_id: str | None = None
    inbound_flow_id: str | None = None
    created: list[ObjectKind] = Field(default_factory=list)
    year_end: date | None = None
    file_format: str | None = None
    """The connector's fileFormat code (None: schoolDataSyncV1, as every connector made before)."""
    lease_id: str | None = None
    lease_until: datetime | None = None

    @property
    def bound(self) -> bool:
        """A connector given at creation (the tenant's own setup): the app makes nothing."""
        return self.connector_id is not None and "connector" not in self.created

    def id_of(self, kind: ObjectKind) -> str | None:
        """The id of one object."""
        return {"sourceSystem": self.source_system_id, "connector": self.connector_id,
                "year": self.year_id, "inboundFlow": self.inbound_flow_id}[kind]

    def with_id(self, kind: ObjectKind, object_id: str | None) -> IndustryData:
        """A copy that records an object the app just created (None: forgets it)."""
        name = {"sourceSystem": "source_system_id", "connector": "connector_id", "year": "year_id",
                "inboundFlow": "inbound_flow_id"}[kind]
        created = [k for k in self.created if k != kind] + ([kind] if object_id else [])
        return self.model_copy(update={name: object_id, "created": created})

    def leased_by(self, lease_id: str, now: datetime) -> bool:
        """Whether another lease than `lease_id` is live at `now`."""
        return (self.lease_id is not None and self.lease_id != lease_id
                and self.lease_until is not None and self.lease_until > now)

    def to_json(self) -> dict[str, Any]:
        """As stored in the record."""
        return self.model_dump(mode="json", by_alias=True)


def is_object_id(value: object) -> bool:
    """Whether `value` can be an Industry Data id (and so a URL segment): no '/', no dot segment."""
    return isinstance(value, str) and OBJECT_ID.fullmatch(value) is not None


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def fit_name(name: str, limit: int = MAX_NAME) -> str:
    """`name` within `limit` UTF-16 units (Graph counts .NET string length): the same every time.

    A longer name keeps its beginning and ends with " ~" and six hex digits of its SHA-256, so
    two long names that share a beginning stay apart and every PATCH sends the same name.
    """
    if _utf16_length(name) <= limit:
        return name
    name = " ".join(name.split())
    tag = " ~" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:6]
    room = limit - len(tag)
    kept = []
    for char in name:
        room -= _utf16_length(char)
        if room < 0:
            break
        kept.append(char)
    return "".join(kept).rstrip() + tag


def _code(table: dict[str, str], value: str) -> str | None:
    return table.get(" ".join(value.split()).lower())


@dataclass(frozen=True)
class MatchingRefusal:
    """A classic matching option the new SDS has no counterpart for."""

    where: str
    value: str
    allowed: str

    @property
    def message(self) -> str:
        """The 400 message of create and PATCH."""
        return (f"{self.where} {self.value!r} has no counterpart in School Data Sync, which "
                f"matches users by {self.allowed}.")


def matching_refusal(settings: ProfileSettings) -> MatchingRefusal | None:
    """The first matching option School Data Sync would refuse, or None when all map."""
    identity = settings.identity_synchronization_configuration
    if not isinstance(identity, IdentityMatchingConfiguration):
        return None
    for index, option in enumerate(identity.matching_options):
        where = f"identitySynchronizationConfiguration.matchingOptions[{index}]"
        if _code(SOURCE_IDENTIFIERS, option.source_property_name) is None:
            return MatchingRefusal(f"{where}.sourcePropertyName", option.source_property_name,
                                   "Username, Secondary Email (email) or activeDirectory")
        if _code(MATCH_TARGETS, option.target_property_name) is None:
            return MatchingRefusal(f"{where}.targetPropertyName", option.target_property_name,
                                   "userPrincipalName or mail")
    return None


def _options(settings: ProfileSettings) -> list[IdentityMatchingOptions]:
    identity = settings.identity_synchronization_configuration
    return identity.matching_options if isinstance(identity, IdentityMatchingConfiguration) else []


def user_matching(settings: ProfileSettings, bind: Bind) -> list[dict[str, Any]]:
    """userMatchingSettings from identitySynchronizationConfiguration.

    Matching options map one to one (role group, source identifier code, match target code,
    `targetDomain` as `domainName`), numbered by one priorityOrder sequence in the given order.
    Without options (no configuration, or account creation, which the new SDS configures in its
    outbound provisioning) staff then students match username to userPrincipalName, as every
    Microsoft example does. Options that do not map are refused before this (matching_refusal).
    """
    rows = [(ROLE_GROUPS[o.applies_to], _code(SOURCE_IDENTIFIERS, o.source_property_name),
             _code(MATCH_TARGETS, o.target_property_name), o.target_domain)
            for o in _options(settings)]
    if not rows or any(source is None or target is None for _, source, target, _ in rows):
        rows = [(*row, None) for row in DEFAULT_MATCHING]
    settings_out = []
    for priority, (group, source, target, domain) in enumerate(rows):
        setting: dict[str, Any] = {
            "matchTarget": {"code": target},
            "priorityOrder": priority,
            "roleGroup@odata.bind": bind("roleGroups", group),
            "sourceIdentifier": {"code": source},
        }
        if domain and domain.strip():
            setting["domainName"] = domain.strip()  # the templates' and Postman's name
        settings_out.append(setting)
    return settings_out


def source_system_body(settings: ProfileSettings, bind: Bind) -> dict[str, Any]:
    """POST sourceSystems."""
    return {"displayName": fit_name(settings.display_name),
            "userMatchingSettings": user_matching(settings, bind)}


def connector_body(settings: ProfileSettings, source_system_id: str, bind: Bind,
                   file_format: str = FILE_FORMAT) -> dict[str, Any]:
    """POST dataConnectors: an Azure Data Lake connector taking SDS CSV files of `file_format`."""
    return {
        "@odata.type": f"#{NS}azureDataLakeConnector",
        "displayName": fit_name(settings.display_name),
        "sourceSystem@odata.bind": bind("sourceSystems", source_system_id),
        "fileFormat": {"@odata.type": f"{NS}fileFormatReferenceValue", "code": file_format},
    }


def school_year(today: date) -> tuple[date, date]:
    """The school year that contains `today`: 1 August to 31 July."""
    first = today.year if today.month >= SCHOOL_YEAR_STARTS else today.year - 1
    return date(first, SCHOOL_YEAR_STARTS, 1), date(first + 1, SCHOOL_YEAR_STARTS - 1, 31)


def year_end_moment(end: date) -> datetime:
    """When a year with this endDate is over for its flows: the start of that day, UTC.

    "expirationDateTime must not exceed the year end date" (Microsoft's ADF READMEs); a date
    compared with a time is its midnight, so a flow expires at the start of the end date.
    """
    return datetime.combine(end, time(0), tzinfo=UTC)


def current_year(now: datetime) -> tuple[date, date]:
    """The school year a flow made at `now` belongs to (the next one once this one is over)."""
    start, end = school_year(now.date())
    if now >= year_end_moment(end):
        start, end = school_year(end + timedelta(days=1))
    return start, end


def year_body(now: datetime) -> dict[str, Any]:
    """POST years: the school year of `now`."""
    start, end = current_year(now)
    return {
        "displayName": f"School year {start.year}-{end.year}",
        "startDate": start.isoformat(),
        "endDate": end.isoformat(),
        "year": {"@odata.type": f"{NS}yearReferenceValue", "code": str(start.year)},
    }


def profile_end(settings: ProfileSettings) -> datetime | None:
    """The end of the profile's expirationDate (UTC), or None."""
    if settings.expiration_date is None:
        return None
    return datetime.combine(settings.expiration_date, time(23, 59, 59), tzinfo=UTC)


def expiration(settings: ProfileSettings, year_end: date | None = None) -> str | None:
    """The flow's expirationDateTime: the profile's end, never after its year's end; or None."""
    ends = [moment for moment in (profile_end(settings),
                                  year_end_moment(year_end) if year_end else None) if moment]
    return _iso(min(ends)) if ends else None


def expired(settings: ProfileSettings, now: datetime) -> bool:
    """Whether the expirationDate has passed: a flow would end before it begins."""
    end = profile_end(settings)
    return end is not None and end <= now


def year_over(data: IndustryData, now: datetime) -> bool:
    """Whether the year of the profile's flow has ended, so a run needs the next year's flow."""
    return data.year_end is not None and now >= year_end_moment(data.year_end)


def flow_body(settings: ProfileSettings, connector_id: str, year_id: str, now: datetime,
              bind: Bind, year_end: date | None = None) -> dict[str, Any]:
    """POST inboundFlows: rostering from the connector, effective now, expiring by the year's end."""
    body: dict[str, Any] = {
        "@odata.type": f"#{NS}inboundFileFlow",
        "dataConnector@odata.bind": bind("dataConnectors", connector_id),
        "dataDomain": DATA_DOMAIN,
        "displayName": fit_name(settings.display_name),
        "effectiveDateTime": _iso(now),
        "year@odata.bind": bind("years", year_id),
    }
    ends = expiration(settings, year_end)
    if ends is not None:
        body["expirationDateTime"] = ends
    return body


def updates(settings: ProfileSettings, bind: Bind, year_end: date | None) -> dict[ObjectKind, dict[str, Any]]:
    """PATCH bodies that bring the created objects in step with the profile.

    What each update page allows: a source system's userMatchingSettings (and vendor), a
    connector's displayName, a flow's displayName, effectiveDateTime and expirationDateTime.
    """
    return {
        "sourceSystem": {"userMatchingSettings": user_matching(settings, bind)},
        "connector": {"displayName": fit_name(settings.display_name)},
        "inboundFlow": {"displayName": fit_name(settings.display_name),
                        "expirationDateTime": expiration(settings, year_end)},
    }


def of_record(extra: dict[str, Any] | None) -> IndustryData | None:
    """The industryData of a record's extra fields, when it has one."""
    raw = (extra or {}).get(RECORD_FIELD)
    return IndustryData.model_validate(raw) if isinstance(raw, dict) else None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
