"""A client written for the Graph beta SDK (msgraph-beta-sdk 1.18.0) works after two changes:
its base URL and its token's audience. The SDK's httpx requests are handed to the handlers."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

import azure.functions as func
import httpx
import pytest
from kiota_abstractions.authentication import AccessTokenProvider, AllowedHostsValidator
from kiota_abstractions.authentication.base_bearer_token_authentication_provider import (
    BaseBearerTokenAuthenticationProvider,
)
from msgraph_beta import GraphRequestAdapter, GraphServiceClient
from msgraph_beta.generated.models.education_csv_data_provider import EducationCsvDataProvider
from msgraph_beta.generated.models.education_synchronization_profile import (
    EducationSynchronizationProfile,
)
from msgraph_beta.generated.models.education_synchronization_status import (
    EducationSynchronizationStatus,
)
from msgraph_beta.generated.models.o_data_errors.o_data_error import ODataError

from sds_app.blueprints import profiles as api
from sds_app.blueprints import verification
from tests.app.fixtures import AppEnv
from tests.app.flow import queued, trigger, upload
from tests.core.builders import SAMPLES, sample_files
from tests.core.verification.test_seed_messages import SEED, seed_files

HOST = "https://sds.contoso.example"
ROUTES: list[tuple[str, str, Callable[[func.HttpRequest], func.HttpResponse]]] = [
    ("POST", "education/synchronizationProfiles", api.create_profile),
    ("GET", "education/synchronizationProfiles/{id}", api.get_profile),
    ("GET", "education/synchronizationProfiles/{id}/uploadUrl()", api.get_upload_url_call),
    ("POST", "education/synchronizationProfiles/{id}/start", verification.start_profile),
    ("GET", "education/synchronizationProfiles/{id}/profileStatus", api.get_profile_status),
    ("GET", "education/synchronizationProfiles/{id}/errors", api.list_errors),
]


def _pattern(route: str) -> re.Pattern[str]:
    return re.compile("^/beta/" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(route)) + "$")


COMPILED = [(method, _pattern(route), handler) for method, route, handler in ROUTES]


def to_handlers(request: httpx.Request) -> httpx.Response:
    """Route an SDK request to its function, as the host does (Content-Type from the mimetype)."""
    for method, pattern, handler in COMPILED:
        match = pattern.match(request.url.path)
        if match and method == request.method:
            req = func.HttpRequest(
                method=request.method, url=str(request.url), headers=dict(request.headers),
                params=dict(request.url.params), route_params=match.groupdict(), body=request.content,
            )
            response = handler(req)
            headers = dict(response.headers)
            if response.mimetype:
                headers["Content-Type"] = f"{response.mimetype}; charset={response.charset or 'utf-8'}"
            return httpx.Response(response.status_code, headers=headers, content=response.get_body())
    return httpx.Response(404)


class StaticToken(AccessTokenProvider):
    """A token for this app's audience (the one change besides the base URL)."""

    def __init__(self, token: str) -> None:
        self.token = token

    async def get_authorization_token(self, uri: str, additional_authentication_context: dict | None = None) -> str:
        return self.token

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return AllowedHostsValidator(["sds.contoso.example"])


def client_for(env: AppEnv) -> GraphServiceClient:
    """The SDK client, pointed at this app."""
    auth = BaseBearerTokenAuthenticationProvider(StaticToken(env.token()))
    adapter = GraphRequestAdapter(auth, client=httpx.AsyncClient(transport=httpx.MockTransport(to_handlers)))
    adapter.base_url = f"{HOST}/beta"
    return GraphServiceClient(request_adapter=adapter)


async def create_and_upload(client: GraphServiceClient, env: AppEnv, files: dict[str, bytes]) -> str:
    body = EducationSynchronizationProfile(display_name="From the SDK", data_provider=EducationCsvDataProvider())
    created = await client.education.synchronization_profiles.post(body)
    profiles = client.education.synchronization_profiles.by_education_synchronization_profile_id(created.id)
    url = (await profiles.upload_url.get()).value
    upload(url, files)
    for name in files:
        trigger(env, created.id, name)
    return created.id


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_the_sdk_creates_uploads_starts_and_polls(private_env: AppEnv) -> None:
    async def scenario() -> None:
        client = client_for(private_env)
        profile_id = await create_and_upload(client, private_env, sample_files(SAMPLES / "sds-v1-legacy-2017"))
        profile = client.education.synchronization_profiles.by_education_synchronization_profile_id(profile_id)

        started = await profile.start.post()
        assert len(started.value) == 17
        assert started.value[0].type == "Warning" and started.value[0].file_name == "student.csv"
        assert started.value[0].description == "The column is not part of the SDS format and was ignored - Mailing Address"
        status = await profile.profile_status.get()
        assert status.status == EducationSynchronizationStatus.InProgress
        errors = await profile.errors.get()
        assert errors.value == []

    asyncio.run(scenario())
    assert len(queued(private_env)) == 1


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_the_sdk_sees_errors_as_odata_error_with_the_messages(private_env: AppEnv) -> None:
    async def scenario() -> Any:
        client = client_for(private_env)
        profile_id = await create_and_upload(client, private_env, seed_files())
        profile = client.education.synchronization_profiles.by_education_synchronization_profile_id(profile_id)
        with pytest.raises(ODataError) as raised:
            await profile.start.post()
        status = await profile.profile_status.get()
        return raised.value, status

    error, status = asyncio.run(scenario())
    assert error.response_status_code == 400
    assert [(m["type"], m["fileName"], m["description"]) for m in error.additional_data["value"]] == SEED
    assert status.status == EducationSynchronizationStatus.ValidationError
    assert queued(private_env) == []
