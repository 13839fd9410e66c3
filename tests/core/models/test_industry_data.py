"""The Industry Data bodies of a classic profile (pure): school year, matching, expiration."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sds_core.models import industry_data as model
from sds_core.models.profiles import parse_settings

CSV = {"displayName": "P", "dataProvider": {"@odata.type": "#microsoft.graph.educationCsvDataProvider"}}


def bind(collection: str, object_id: str) -> str:
    return f"https://graph.microsoft.com/beta/external/industryData/{collection}/{object_id}"


def test_the_school_year_runs_from_august_to_july() -> None:
    assert model.school_year(date(2026, 7, 31)) == (date(2025, 8, 1), date(2026, 7, 31))
    assert model.school_year(date(2026, 8, 1)) == (date(2026, 8, 1), date(2027, 7, 31))
    assert model.year_body(date(2027, 1, 15)) == {
        "displayName": "School year 2026-2027", "startDate": "2026-08-01", "endDate": "2027-07-31",
        "year": {"@odata.type": "microsoft.graph.industryData.yearReferenceValue", "code": "2026"},
    }


def test_account_creation_matches_usernames_as_the_documented_example() -> None:
    settings = parse_settings({**CSV, "identitySynchronizationConfiguration": {
        "@odata.type": "#microsoft.graph.educationIdentityCreationConfiguration",
        "userDomains": [{"appliesTo": "student", "name": "students.contoso.edu"}]}})
    assert model.user_matching(settings, bind) == [
        {"matchTarget": {"code": "userPrincipalName"}, "priorityOrder": 0,
         "roleGroup@odata.bind": bind("roleGroups", "staff"), "sourceIdentifier": {"code": "username"}},
        {"matchTarget": {"code": "userPrincipalName"}, "priorityOrder": 0,
         "roleGroup@odata.bind": bind("roleGroups", "students"), "sourceIdentifier": {"code": "username"}},
    ]


def test_expiration_is_the_end_of_the_day_and_a_past_one_is_expired() -> None:
    settings = parse_settings({**CSV, "expirationDate": "2030-01-31"})
    assert model.expiration(settings) == "2030-01-31T23:59:59Z"
    assert not model.expired(settings, datetime(2030, 1, 31, 12, tzinfo=UTC))
    assert model.expired(settings, datetime(2030, 2, 1, tzinfo=UTC))
    assert model.expiration(parse_settings(CSV)) is None
    assert "expirationDateTime" not in model.flow_body(parse_settings(CSV), "c", "y", datetime(2030, 1, 1, tzinfo=UTC), bind)


def test_the_record_field_round_trips_and_knows_a_bound_connector() -> None:
    made = model.IndustryData().with_id("sourceSystem", "s").with_id("connector", "c")
    assert made.to_json() == {"connectorId": "c", "sourceSystemId": "s", "yearId": None, "inboundFlowId": None,
                              "created": ["sourceSystem", "connector"]}
    assert model.of_record({"industryData": made.to_json()}) == made and not made.bound
    assert model.of_record({"industryData": {"connectorId": "x"}}).bound
    assert model.of_record({}) is None
