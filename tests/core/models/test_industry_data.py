"""The Industry Data bodies of a classic profile (pure): years, names, matching, expiration.

What the service refuses is industry-data.md "Limits and values the service refuses": names over
100 characters, codes outside Microsoft's lists, priorityOrder repeated, a flow past its year.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from sds_core.models import industry_data as model
from sds_core.models.profiles import parse_settings

CSV = {"displayName": "P", "dataProvider": {"@odata.type": "#microsoft.graph.educationCsvDataProvider"}}


def bind(collection: str, object_id: str) -> str:
    return f"https://graph.microsoft.com/beta/external/industryData/{collection}/{object_id}"


def matching(*options: dict[str, object]) -> dict[str, object]:
    return {**CSV, "identitySynchronizationConfiguration": {
        "@odata.type": "#microsoft.graph.educationIdentityMatchingConfiguration",
        "matchingOptions": list(options)}}


def option(applies_to: str, source: str, target: str, domain: str | None = None) -> dict[str, object]:
    return {"appliesTo": applies_to, "sourcePropertyName": source, "targetPropertyName": target,
            "targetDomain": domain}


def test_the_school_year_runs_from_august_to_july() -> None:
    assert model.school_year(date(2026, 7, 31)) == (date(2025, 8, 1), date(2026, 7, 31))
    assert model.school_year(date(2026, 8, 1)) == (date(2026, 8, 1), date(2027, 7, 31))
    assert model.year_body(datetime(2027, 1, 15, tzinfo=UTC)) == {
        "displayName": "School year 2026-2027", "startDate": "2026-08-01", "endDate": "2027-07-31",
        "year": {"@odata.type": "microsoft.graph.industryData.yearReferenceValue", "code": "2026"},
    }


def test_on_the_last_day_of_a_year_a_new_flow_belongs_to_the_next_year() -> None:
    # A flow expires at the start of its year's endDate: made on 31 July, it takes the next year.
    assert model.current_year(datetime(2027, 7, 30, 23, 59, tzinfo=UTC)) == (date(2026, 8, 1), date(2027, 7, 31))
    assert model.current_year(datetime(2027, 7, 31, 0, 0, tzinfo=UTC)) == (date(2027, 8, 1), date(2028, 7, 31))


def test_a_flow_never_expires_after_its_year_and_the_profile_end_wins_when_earlier() -> None:
    far = parse_settings({**CSV, "expirationDate": "2099-06-30"})
    near = parse_settings({**CSV, "expirationDate": "2027-03-01"})
    unset = parse_settings(CSV)
    end = date(2027, 7, 31)
    assert model.expiration(far, end) == "2027-07-31T00:00:00Z"
    assert model.expiration(near, end) == "2027-03-01T23:59:59Z"
    assert model.expiration(unset, end) == "2027-07-31T00:00:00Z"
    assert model.expiration(unset) is None
    now = datetime(2026, 9, 1, tzinfo=UTC)
    assert model.flow_body(far, "c", "y", now, bind, end) == {
        "@odata.type": "#microsoft.graph.industryData.inboundFileFlow",
        "dataConnector@odata.bind": bind("dataConnectors", "c"),
        "dataDomain": "educationRostering",
        "displayName": "P",
        "effectiveDateTime": "2026-09-01T00:00:00Z",
        "expirationDateTime": "2027-07-31T00:00:00Z",
        "year@odata.bind": bind("years", "y"),
    }


def test_expired_and_year_over() -> None:
    settings = parse_settings({**CSV, "expirationDate": "2030-01-31"})
    assert not model.expired(settings, datetime(2030, 1, 31, 12, tzinfo=UTC))
    assert model.expired(settings, datetime(2030, 2, 1, tzinfo=UTC))
    data = model.IndustryData(year_end=date(2027, 7, 31))
    assert not model.year_over(data, datetime(2027, 7, 30, 23, 59, 59, tzinfo=UTC))
    assert model.year_over(data, datetime(2027, 7, 31, tzinfo=UTC))
    assert not model.year_over(model.IndustryData(), datetime(2099, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize("name", ["P", "x" * 100, "Ünïcödé  district 🏫" * 4, "🏫" * 50])
def test_names_within_100_characters_are_sent_as_they_are(name: str) -> None:
    assert model.fit_name(name) == name


def test_long_names_are_fitted_the_same_way_every_time_and_stay_apart() -> None:
    first = "Springfield Unified School District - " + "High Schools " * 10 + "A"
    second = first[:-1] + "B"
    fitted = model.fit_name(first)
    assert len(fitted) == 100 and fitted == model.fit_name(first)
    assert fitted.startswith("Springfield Unified School District - High Schools")
    assert fitted != model.fit_name(second)
    assert fitted.endswith(" ~" + __import__("hashlib").sha256(first.encode()).hexdigest()[:6])


def test_names_are_counted_in_utf16_units_and_no_character_is_split() -> None:
    name = "🏫" * 80  # 160 UTF-16 units
    fitted = model.fit_name(name)
    assert model._utf16_length(fitted) <= 100
    assert fitted.encode("utf-16-le").decode("utf-16-le") == fitted
    assert fitted.startswith("🏫" * 45) and "\ud83c" not in fitted


def test_every_body_carries_the_fitted_name() -> None:
    settings = parse_settings({**CSV, "displayName": "N" * 256})
    fitted = model.fit_name("N" * 256)
    assert model.source_system_body(settings, bind)["displayName"] == fitted
    assert model.connector_body(settings, "s", bind)["displayName"] == fitted
    assert model.flow_body(settings, "c", "y", datetime(2026, 9, 1, tzinfo=UTC), bind)["displayName"] == fitted
    updates = model.updates(settings, bind, date(2027, 7, 31))
    assert updates["connector"] == {"displayName": fitted}
    assert updates["inboundFlow"] == {"displayName": fitted, "expirationDateTime": "2027-07-31T00:00:00Z"}


def test_without_options_staff_then_students_match_username_with_one_priority_sequence() -> None:
    for body in (CSV, {**CSV, "identitySynchronizationConfiguration": {
            "@odata.type": "#microsoft.graph.educationIdentityCreationConfiguration",
            "userDomains": [{"appliesTo": "student", "name": "students.contoso.edu"}]}}):
        assert model.user_matching(parse_settings(body), bind) == [
            {"matchTarget": {"code": "userPrincipalName"}, "priorityOrder": 0,
             "roleGroup@odata.bind": bind("roleGroups", "staff"), "sourceIdentifier": {"code": "username"}},
            {"matchTarget": {"code": "userPrincipalName"}, "priorityOrder": 1,
             "roleGroup@odata.bind": bind("roleGroups", "students"), "sourceIdentifier": {"code": "username"}},
        ]


def test_options_map_to_microsofts_codes_in_order_with_target_domain_as_domain_name() -> None:
    settings = parse_settings(matching(
        option("student", "Username", "userPrincipalName", "students.contoso.edu"),
        option("teacher", " secondary  EMAIL ", "mail"),
        option("faculty", "activeDirectory", "UserPrincipalName"),
        option("student", "Email", "mail", "  "),
    ))
    assert model.matching_refusal(settings) is None
    assert model.user_matching(settings, bind) == [
        {"matchTarget": {"code": "userPrincipalName"}, "priorityOrder": 0,
         "roleGroup@odata.bind": bind("roleGroups", "students"), "sourceIdentifier": {"code": "username"},
         "domainName": "students.contoso.edu"},
        {"matchTarget": {"code": "mail"}, "priorityOrder": 1,
         "roleGroup@odata.bind": bind("roleGroups", "staff"), "sourceIdentifier": {"code": "email"}},
        {"matchTarget": {"code": "userPrincipalName"}, "priorityOrder": 2,
         "roleGroup@odata.bind": bind("roleGroups", "staff"), "sourceIdentifier": {"code": "activeDirectory"}},
        {"matchTarget": {"code": "mail"}, "priorityOrder": 3,
         "roleGroup@odata.bind": bind("roleGroups", "students"), "sourceIdentifier": {"code": "email"}},
    ]
    assert model.updates(settings, bind, None)["sourceSystem"] == {
        "userMatchingSettings": model.user_matching(settings, bind)}


@pytest.mark.parametrize(("source", "target", "where"), [
    ("SIS ID", "userPrincipalName", "matchingOptions[1].sourcePropertyName 'SIS ID'"),
    ("Username", "employeeId", "matchingOptions[1].targetPropertyName 'employeeId'"),
    ("Student Number", "mailNickname", "matchingOptions[1].sourcePropertyName 'Student Number'"),
])
def test_an_option_without_counterpart_is_refused_by_name(source: str, target: str, where: str) -> None:
    settings = parse_settings(matching(option("student", "Username", "userPrincipalName"),
                                       option("teacher", source, target)))
    refusal = model.matching_refusal(settings)
    assert refusal is not None
    assert refusal.message.startswith(f"identitySynchronizationConfiguration.{where} has no counterpart")


def test_object_ids_are_plain_segments() -> None:
    assert model.is_object_id("51dca0a0-85f6-4478-f526-08daddab2271")
    for bad in ("a/b", "..", ".", "", "a?b", "a b", "x" * 129, None, 5, "a'b", "é"):
        assert not model.is_object_id(bad), bad


def test_the_record_field_round_trips_and_knows_a_bound_connector() -> None:
    made = model.IndustryData().with_id("sourceSystem", "s").with_id("connector", "c")
    assert made.to_json() == {"connectorId": "c", "sourceSystemId": "s", "yearId": None, "inboundFlowId": None,
                              "created": ["sourceSystem", "connector"], "yearEnd": None,
                              "fileFormat": None, "leaseId": None, "leaseUntil": None}
    assert model.of_record({"industryData": made.to_json()}) == made and not made.bound
    assert model.of_record({"industryData": {"connectorId": "x"}}).bound
    assert model.of_record({}) is None
    assert made.with_id("connector", None).created == ["sourceSystem"]
