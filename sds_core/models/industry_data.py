"""A classic profile's objects in the new School Data Sync (Industry Data API), as pure data.

The bodies follow industry-data.md; docs/new-sds-mapping.md says how each classic property maps.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from sds_core.models.profiles import (
    IdentityMatchingConfiguration,
    IdentityMatchingOptions,
    ProfileSettings,
)

RECORD_FIELD = "industryData"  # the extra field of the profile record (Task A's worker reads it)
NS = "microsoft.graph.industryData."
FILE_FORMAT = "schoolDataSyncV1"
DATA_DOMAIN = "educationRostering"
SCHOOL_YEAR_STARTS = 8  # August: a year begun in August or later is that calendar year's school year
ObjectKind = Literal["sourceSystem", "connector", "year", "inboundFlow"]
SETUP_ORDER: tuple[ObjectKind, ...] = ("sourceSystem", "connector", "year", "inboundFlow")
COLLECTIONS: dict[ObjectKind, str] = {
    "sourceSystem": "sourceSystems",
    "connector": "dataConnectors",
    "year": "years",
    "inboundFlow": "inboundFlows",
}
# Classic roles -> the new SDS's role groups (students, staff).
ROLE_GROUPS = {"student": "students", "teacher": "staff", "faculty": "staff"}
# Classic source columns -> the new SDS's source identifier codes; other names are camel-cased.
SOURCE_IDENTIFIERS = {"username": "username", "secondary email": "email", "email": "email"}
DEFAULT_MATCHING = (("staff", "username", "userPrincipalName"), ("students", "username", "userPrincipalName"))
Bind = Callable[[str, str], str]  # (collection, id) -> the object's URL, for @odata.bind


class IndustryData(BaseModel):
    """The ids of a profile's Industry Data objects; `created` names those the app made."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True)

    connector_id: str | None = None
    source_system_id: str | None = None
    year_id: str | None = None
    inbound_flow_id: str | None = None
    created: list[ObjectKind] = Field(default_factory=list)

    @property
    def bound(self) -> bool:
        """A connector given at creation (the tenant's own setup): the app makes nothing."""
        return self.connector_id is not None and "connector" not in self.created

    def id_of(self, kind: ObjectKind) -> str | None:
        """The id of one object."""
        return {"sourceSystem": self.source_system_id, "connector": self.connector_id,
                "year": self.year_id, "inboundFlow": self.inbound_flow_id}[kind]

    def with_id(self, kind: ObjectKind, object_id: str) -> IndustryData:
        """A copy that records an object the app just created."""
        name = {"sourceSystem": "source_system_id", "connector": "connector_id", "year": "year_id",
                "inboundFlow": "inbound_flow_id"}[kind]
        return self.model_copy(update={name: object_id, "created": [*self.created, kind]})

    def to_json(self) -> dict[str, Any]:
        """As stored in the record."""
        return self.model_dump(mode="json", by_alias=True)


def _source_identifier(column: str) -> str:
    known = SOURCE_IDENTIFIERS.get(column.strip().lower())
    if known:
        return known
    words = column.replace("_", " ").split()
    return (words[0].lower() + "".join(w[:1].upper() + w[1:] for w in words[1:])) if words else column


def user_matching(settings: ProfileSettings, bind: Bind) -> list[dict[str, Any]]:
    """userMatchingSettings from identitySynchronizationConfiguration.

    Matching options map one to one (role group, source column, Entra property; priority in the
    given order within a role group). Without them (no configuration, or account creation, which
    the new SDS configures in its outbound provisioning, not here) a role group matches Username
    to userPrincipalName, as the documented example does.
    """
    identity = settings.identity_synchronization_configuration
    options: list[IdentityMatchingOptions] = (
        identity.matching_options if isinstance(identity, IdentityMatchingConfiguration) else []
    )
    rows = [(ROLE_GROUPS[o.applies_to], _source_identifier(o.source_property_name), o.target_property_name)
            for o in options]
    if not rows:
        rows = list(DEFAULT_MATCHING)
    priority: dict[str, int] = {}
    out = []
    for group, source, target in rows:
        out.append({
            "matchTarget": {"code": target},
            "priorityOrder": priority.setdefault(group, 0),
            "roleGroup@odata.bind": bind("roleGroups", group),
            "sourceIdentifier": {"code": source},
        })
        priority[group] += 1
    return out


def source_system_body(settings: ProfileSettings, bind: Bind) -> dict[str, Any]:
    """POST sourceSystems."""
    return {"displayName": settings.display_name, "userMatchingSettings": user_matching(settings, bind)}


def connector_body(settings: ProfileSettings, source_system_id: str, bind: Bind) -> dict[str, Any]:
    """POST dataConnectors: an Azure Data Lake connector taking SDS v1 CSV files."""
    return {
        "@odata.type": f"#{NS}azureDataLakeConnector",
        "displayName": settings.display_name,
        "sourceSystem@odata.bind": bind("sourceSystems", source_system_id),
        "fileFormat": {"@odata.type": f"{NS}fileFormatReferenceValue", "code": FILE_FORMAT},
    }


def school_year(today: date) -> tuple[date, date]:
    """The school year that contains `today`: 1 August to 31 July."""
    first = today.year if today.month >= SCHOOL_YEAR_STARTS else today.year - 1
    return date(first, SCHOOL_YEAR_STARTS, 1), date(first + 1, SCHOOL_YEAR_STARTS - 1, 31)


def year_body(today: date) -> dict[str, Any]:
    """POST years: the current school year."""
    start, end = school_year(today)
    return {
        "displayName": f"School year {start.year}-{end.year}",
        "startDate": start.isoformat(),
        "endDate": end.isoformat(),
        "year": {"@odata.type": f"{NS}yearReferenceValue", "code": str(start.year)},
    }


def expiration(settings: ProfileSettings) -> str | None:
    """The flow's expirationDateTime: the end of the profile's expirationDate (UTC), or None."""
    if settings.expiration_date is None:
        return None
    end = datetime.combine(settings.expiration_date, time(23, 59, 59), tzinfo=UTC)
    return _iso(end)


def expired(settings: ProfileSettings, now: datetime) -> bool:
    """Whether the expirationDate has passed: a flow would end before it begins."""
    stamp = expiration(settings)
    return stamp is not None and datetime.fromisoformat(stamp.replace("Z", "+00:00")) <= now


def flow_body(
    settings: ProfileSettings, connector_id: str, year_id: str, now: datetime, bind: Bind
) -> dict[str, Any]:
    """POST inboundFlows: rostering from the connector, effective now."""
    body: dict[str, Any] = {
        "@odata.type": f"#{NS}inboundFileFlow",
        "dataConnector@odata.bind": bind("dataConnectors", connector_id),
        "dataDomain": DATA_DOMAIN,
        "displayName": settings.display_name,
        "effectiveDateTime": _iso(now),
        "year@odata.bind": bind("years", year_id),
    }
    if settings.expiration_date is not None:
        body["expirationDateTime"] = expiration(settings)
    return body


def updates(settings: ProfileSettings, bind: Bind) -> dict[ObjectKind, dict[str, Any]]:
    """PATCH bodies that bring the created objects in step with the profile."""
    return {
        "sourceSystem": source_system_body(settings, bind),
        "connector": {"displayName": settings.display_name},
        "inboundFlow": {"displayName": settings.display_name, "expirationDateTime": expiration(settings)},
    }


def of_record(extra: dict[str, Any] | None) -> IndustryData | None:
    """The industryData of a record's extra fields, when it has one."""
    raw = (extra or {}).get(RECORD_FIELD)
    return IndustryData.model_validate(raw) if isinstance(raw, dict) else None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")

