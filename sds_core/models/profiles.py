"""The educationSynchronizationProfile resource and its stored record, as pure pydantic models."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_serializer,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic.alias_generators import to_camel

from sds_core.models.status import SCHEMA_VERSION, Run, StatusFields

GRAPH_PREFIX = "#microsoft.graph."
# Graph echoes an unset customization date as the smallest DateTimeOffset.
UNSET_DATE_TIME = datetime(1, 1, 1, tzinfo=UTC)
UNSET_DATE_TIME_TEXT = "0001-01-01T00:00:00Z"
READ_ONLY_PROPERTIES = frozenset({"id", "state", "profileStatus", "errors"})
_TYPE_PREFIXES = ("microsoft.graph.", "microsoft.education.datasync.")

UserRole = Literal["student", "teacher", "faculty"]


class ProfileState(StrEnum):
    """educationSynchronizationProfileState."""

    DELETING = "deleting"
    DELETION_FAILED = "deletionFailed"
    PROVISIONING_FAILED = "provisioningFailed"
    PROVISIONED = "provisioned"
    PROVISIONING = "provisioning"
    UNKNOWN_FUTURE_VALUE = "unknownFutureValue"


def odata_type_name(raw: object) -> str | None:
    """The lower-case type name of any spelling of graph-api.md 1.4 (None when not a string)."""
    if not isinstance(raw, str):
        return None
    name = raw.strip().lstrip("#").lower()
    for prefix in _TYPE_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def _is_annotation(key: str) -> bool:
    return key != "@odata.type" and "@" in key


class GraphModel(BaseModel):
    """A Graph complex type: camelCase, any @odata.type spelling in, `#microsoft.graph.` out."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", serialize_by_alias=True
    )
    ODATA_TYPE: ClassVar[str]
    EMIT_ODATA_TYPE: ClassVar[bool] = False

    @model_validator(mode="before")
    @classmethod
    def _check_type(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        raw = data.get("@odata.type")
        if raw is not None and odata_type_name(raw) != cls.ODATA_TYPE.lower():
            raise ValueError(f"@odata.type {raw!r} is not {GRAPH_PREFIX}{cls.ODATA_TYPE}")
        return {k: v for k, v in data.items() if k != "@odata.type" and not _is_annotation(k)}

    @model_serializer(mode="wrap")
    def _emit_type(self, handler: Any) -> Any:
        data = handler(self)
        if self.EMIT_ODATA_TYPE and isinstance(data, dict):
            return {"@odata.type": GRAPH_PREFIX + self.ODATA_TYPE, **data}
        return data


_TAGS: set[str] = set()


def _type_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        return odata_type_name(value.get("@odata.type"))
    return getattr(value, "ODATA_TYPE", "").lower() or None


def _tagged(*models: type[GraphModel]) -> Any:
    """A union of subtypes chosen by @odata.type, whatever its spelling."""
    _TAGS.update(m.ODATA_TYPE.lower() for m in models)
    choices = tuple(Annotated[m, Tag(m.ODATA_TYPE.lower())] for m in models)
    expected = ", ".join(GRAPH_PREFIX + m.ODATA_TYPE for m in models)
    return Annotated[
        Union[choices],  # noqa: UP007 - built from a tuple at run time
        Discriminator(
            _type_tag,
            custom_error_type="odata_type",
            custom_error_message=f"needs an @odata.type naming one of: {expected}",
        ),
    ]


class Customization(GraphModel):
    """educationSynchronizationCustomization: what to sync for one entity."""

    ODATA_TYPE = "educationSynchronizationCustomization"

    optional_properties_to_sync: list[str] | None = None
    synchronization_start_date: datetime | None = None
    is_sync_deferred: bool = False
    allow_display_name_update: bool = False

    @field_validator("synchronization_start_date")
    @classmethod
    def _unset_date(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.replace(tzinfo=value.tzinfo or UTC) == UNSET_DATE_TIME:
            return None
        return value

    @field_serializer("synchronization_start_date")
    def _emit_date(self, value: datetime | None) -> str:
        if value is None:
            return UNSET_DATE_TIME_TEXT
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Customizations(GraphModel):
    """educationSynchronizationCustomizations: one optional customization per synced entity."""

    ODATA_TYPE = "educationSynchronizationCustomizations"

    school: Customization | None = None
    section: Customization | None = None
    student: Customization | None = None
    teacher: Customization | None = None
    student_enrollment: Customization | None = None
    teacher_roster: Customization | None = None


class _Customized(GraphModel):
    """A data provider's customizations; null means none (every optional column)."""

    customizations: Customizations = Field(default_factory=Customizations)

    @field_validator("customizations", mode="before")
    @classmethod
    def _null_is_none(cls, value: Any) -> Any:
        return {} if value is None else value


class CsvDataProvider(_Customized):
    """educationCsvDataProvider: CSV files uploaded through the upload URL."""

    ODATA_TYPE = "educationCsvDataProvider"
    EMIT_ODATA_TYPE = True


class PowerSchoolDataProvider(_Customized):
    """educationPowerSchoolDataProvider (stored and served; only CSV profiles can sync here)."""

    ODATA_TYPE = "educationPowerSchoolDataProvider"
    EMIT_ODATA_TYPE = True

    connection_url: str | None = None
    client_id: str | None = None
    # Accepted so that Graph bodies validate, then dropped: never stored, never served.
    client_secret: str | None = Field(default=None, exclude=True)
    schools_ids: list[str] = Field(default_factory=list)
    school_year: str | None = None
    allow_teachers_in_multiple_schools: bool = False


class OAuth1ConnectionSettings(GraphModel):
    """educationSynchronizationOAuth1ConnectionSettings."""

    ODATA_TYPE = "educationSynchronizationOAuth1ConnectionSettings"
    EMIT_ODATA_TYPE = True

    client_id: str | None = None
    client_secret: str | None = Field(default=None, exclude=True)


class OAuth2ConnectionSettings(GraphModel):
    """educationSynchronizationOAuth2ClientCredentialsConnectionSettings."""

    ODATA_TYPE = "educationSynchronizationOAuth2ClientCredentialsConnectionSettings"
    EMIT_ODATA_TYPE = True

    client_id: str | None = None
    client_secret: str | None = Field(default=None, exclude=True)
    scope: str | None = None
    token_url: str | None = None


ConnectionSettings = _tagged(OAuth1ConnectionSettings, OAuth2ConnectionSettings)


class OneRosterApiDataProvider(_Customized):
    """educationOneRosterApiDataProvider (stored and served; only CSV profiles can sync here)."""

    ODATA_TYPE = "educationOneRosterApiDataProvider"
    EMIT_ODATA_TYPE = True

    connection_url: str | None = None
    provider_name: str | None = None
    schools_ids: list[str] = Field(default_factory=list)
    term_ids: list[str] = Field(default_factory=list)
    connection_settings: ConnectionSettings | None = None  # type: ignore[valid-type]


DataProvider = _tagged(CsvDataProvider, PowerSchoolDataProvider, OneRosterApiDataProvider)


class IdentityDomain(GraphModel):
    """educationIdentityDomain: the domain of created accounts for one role."""

    ODATA_TYPE = "educationIdentityDomain"

    applies_to: UserRole
    name: str


class IdentityCreationConfiguration(GraphModel):
    """educationIdentityCreationConfiguration: create accounts in Microsoft Entra ID."""

    ODATA_TYPE = "educationIdentityCreationConfiguration"
    EMIT_ODATA_TYPE = True

    user_domains: list[IdentityDomain] = Field(default_factory=list)


class IdentityMatchingOptions(GraphModel):
    """educationIdentityMatchingOptions: how a source user is matched to an existing account."""

    ODATA_TYPE = "educationIdentityMatchingOptions"

    applies_to: UserRole
    source_property_name: str
    target_property_name: str
    target_domain: str | None = None


class IdentityMatchingConfiguration(GraphModel):
    """educationIdentityMatchingConfiguration: match existing accounts, create none."""

    ODATA_TYPE = "educationIdentityMatchingConfiguration"
    EMIT_ODATA_TYPE = True

    matching_options: list[IdentityMatchingOptions] = Field(default_factory=list)


IdentityConfiguration = _tagged(IdentityCreationConfiguration, IdentityMatchingConfiguration)


class LicenseAssignment(GraphModel):
    """educationSynchronizationLicenseAssignment: licences for created accounts of one role."""

    ODATA_TYPE = "educationSynchronizationLicenseAssignment"
    EMIT_ODATA_TYPE = True

    applies_to: UserRole
    sku_ids: list[str] = Field(default_factory=list)


class ProfileSettings(GraphModel):
    """The writable properties of a profile."""

    ODATA_TYPE = "educationSynchronizationProfile"

    display_name: str = Field(min_length=1, max_length=256)
    data_provider: DataProvider  # type: ignore[valid-type]
    identity_synchronization_configuration: IdentityConfiguration | None = None  # type: ignore[valid-type]
    licenses_to_assign: list[LicenseAssignment] = Field(default_factory=list)
    handle_special_character_constraint: bool = False
    expiration_date: date | None = None

    @field_validator("display_name")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in value):
            raise ValueError("must not hold control characters")
        return value

    @property
    def is_csv(self) -> bool:
        """Whether files are uploaded (the only provider that can verify and sync here)."""
        return isinstance(self.data_provider, CsvDataProvider)


class Profile(ProfileSettings):
    """educationSynchronizationProfile as stored and served."""

    id: str
    state: ProfileState


GONE_STATES = frozenset({ProfileState.DELETING, ProfileState.DELETION_FAILED})


class ProfileRecord(BaseModel):
    """One profile's stored document: the resource, its sync status and its current or last run."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="allow", serialize_by_alias=True
    )

    schema_version: int = SCHEMA_VERSION
    profile: Profile
    status: StatusFields = Field(default_factory=StatusFields)
    run: Run | None = None

    @property
    def is_gone(self) -> bool:
        """Deleted or being deleted: nothing may be written for the profile any more."""
        return self.profile.state in GONE_STATES


@dataclass(frozen=True)
class Invalid:
    """Why a request body is not a valid profile (HTTP 400 badRequest)."""

    message: str


def _message(error: ValidationError) -> str:
    parts = []
    for item in error.errors(include_url=False, include_input=False)[:5]:
        where = ".".join(str(p) for p in item["loc"] if p not in _TAGS)
        parts.append(f"{where}: {item['msg']}" if where else item["msg"])
    return "Invalid profile. " + "; ".join(parts)


def parse_settings(body: dict[str, Any]) -> ProfileSettings | Invalid:
    """The writable settings of a create/replace body; read-only properties are ignored."""
    writable = {k: v for k, v in body.items() if k not in READ_ONLY_PROPERTIES}
    try:
        return ProfileSettings.model_validate(writable)
    except ValidationError as error:
        return Invalid(_message(error))


def merge_patch(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """OData PATCH: complex values merge property by property, collections and other values replace.

    A complex value whose @odata.type changes is replaced as a whole.
    """
    merged = dict(current)
    for key, value in patch.items():
        old = merged.get(key)
        if isinstance(old, dict) and isinstance(value, dict) and _same_type(old, value):
            merged[key] = merge_patch(old, value)
        else:
            merged[key] = value
    return merged


def _same_type(old: dict[str, Any], new: dict[str, Any]) -> bool:
    if "@odata.type" not in new:
        return True
    return odata_type_name(new["@odata.type"]) == odata_type_name(old.get("@odata.type"))


def patch_settings(current: ProfileSettings, body: dict[str, Any]) -> ProfileSettings | Invalid:
    """The settings after a PATCH body is merged into them."""
    current_wire = current.model_dump(mode="json", include=set(ProfileSettings.model_fields))
    writable = {k: v for k, v in body.items() if k not in READ_ONLY_PROPERTIES}
    return parse_settings(merge_patch(current_wire, writable))


def new_profile(profile_id: str, settings: ProfileSettings) -> Profile:
    """A profile just accepted: provisioning until its storage is ready."""
    return Profile(id=profile_id, state=ProfileState.PROVISIONING, **dict(settings))


def provider_change(current: ProfileSettings, new: ProfileSettings) -> Invalid | None:
    """Why `new` may not replace `current`: a profile's data provider keeps its type for life."""
    if type(current.data_provider) is type(new.data_provider):
        return None
    return Invalid(
        "The data provider of a profile cannot change its type "
        f"({GRAPH_PREFIX}{current.data_provider.ODATA_TYPE}); create a new profile instead."
    )


def with_settings(profile: Profile, settings: ProfileSettings) -> Profile:
    """The profile with new writable settings; id and state kept."""
    return Profile(id=profile.id, state=profile.state, **dict(settings))
