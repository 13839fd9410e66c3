"""Bearer tokens: every bad token gets 401/403 in the envelope, the right ones get through."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from sds_app.auth import audiences, issuers
from sds_app.blueprints import profiles as api
from tests.app import tokens
from tests.app.fixtures import AppEnv, reset_caches
from tests.app.helpers import ROOT, Answer, call, envelope, request

NOW = int(time.time())
WRITE_NEEDS = (
    "Insufficient privileges: the token needs EduAdministration.ReadWrite"
    " or EduAdministration.ReadWrite.All."
)
READ_NEEDS = (
    "Insufficient privileges: the token needs EduAdministration.Read or EduAdministration.Read.All "
    "or EduAdministration.ReadWrite or EduAdministration.ReadWrite.All."
)
CSV = {
    "displayName": "Auth",
    "dataProvider": {"@odata.type": "#microsoft.graph.educationCsvDataProvider"},
}


def create(token: str | None) -> Answer:
    """POST a valid profile (a write)."""
    return call(api.create_profile, request("POST", ROOT, body=CSV, token=token))


def list_profiles(token: str | None) -> Answer:
    """GET the collection (a read)."""
    return call(api.list_profiles, request("GET", f"{ROOT}?$top=1", token=token))


def _sign(env: AppEnv, **overrides: Any) -> str:
    return env.token(**overrides)


def _other_key(env: AppEnv) -> str:
    # Same kid as the trusted key, different key: the signature cannot verify.
    return tokens.Signer.generate(kid=tokens.KID).sign(tokens.claims())


def _unknown_kid(env: AppEnv) -> str:
    return tokens.Signer(env.signer.key, kid="unknown-kid").sign(tokens.claims())


BAD_TOKENS: list[tuple[str, Callable[[AppEnv], str | None], str]] = [
    ("no token", lambda env: None, "Access token is empty."),
    ("empty bearer", lambda env: "", "Access token is empty."),
    ("not a jwt", lambda env: "not-a-token", "The token is malformed or invalid."),
    (
        "expired beyond the skew",
        lambda env: _sign(env, exp=NOW - 301 - 60, nbf=NOW - 7200, iat=NOW - 7200),
        "The token is expired.",
    ),
    (
        "not yet valid beyond the skew",
        lambda env: _sign(env, nbf=NOW + 301 + 60),
        "The token is not yet valid.",
    ),
    ("no expiry", lambda env: _sign(env, exp=None), "The token lacks a required claim."),
    (
        "wrong issuer",
        lambda env: _sign(env, iss="https://evil.example.com/"),
        "The token was not issued by this tenant (issuer).",
    ),
    (
        "wrong tenant",
        lambda env: _sign(
            env,
            iss=f"https://login.microsoftonline.com/{tokens.OTHER_TENANT}/v2.0",
            tid=tokens.OTHER_TENANT,
        ),
        "The token was not issued by this tenant (issuer).",
    ),
    (
        "other tenant id, our issuer",
        lambda env: _sign(env, tid=tokens.OTHER_TENANT),
        "The token was not issued by this tenant (issuer).",
    ),
    (
        "wrong audience",
        lambda env: _sign(env, aud="https://graph.microsoft.com"),
        "The token is not for this application (audience).",
    ),
    (
        "alg none",
        lambda env: tokens.unsigned(tokens.claims()),
        "The token must be signed with RS256.",
    ),
    (
        "HS256 keyed with the public key",
        lambda env: tokens.hs256_with_public_key(env.signer, tokens.claims()),
        "The token must be signed with RS256.",
    ),
    (
        "tampered claims",
        lambda env: tokens.tampered(env.token(), scp="EduAdministration.ReadWrite.All"),
        "The token signature is invalid.",
    ),
    ("signed by another key", _other_key, "The token signature is invalid."),
    ("unknown key id", _unknown_kid, "The token signature is invalid (unknown signing key)."),
]


@pytest.mark.parametrize(("case", "make", "message"), BAD_TOKENS, ids=[c[0] for c in BAD_TOKENS])
def test_bad_tokens_are_401_on_writes_and_reads(
    app_env: AppEnv, case: str, make: Callable[[AppEnv], str | None], message: str
) -> None:
    token = make(app_env)
    for answer in (create(token), list_profiles(token)):
        assert answer.status == 401, case
        assert answer.json == envelope(answer, "InvalidAuthenticationToken", message)
        assert answer.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("case", "overrides", "message"),
    [
        ("missing scope", {"scp": "User.Read"}, WRITE_NEEDS),
        ("read scope on a write", {"scp": "EduAdministration.Read"}, WRITE_NEEDS),
        (
            "read role on a write",
            {"scp": None, "roles": ["EduAdministration.Read.All"]},
            WRITE_NEEDS,
        ),
        ("app role spelled as a scope", {"scp": "EduAdministration.ReadWrite.All"}, WRITE_NEEDS),
        ("no scope or role at all", {"scp": None}, WRITE_NEEDS),
    ],
)
def test_valid_tokens_without_the_permission_are_403(
    app_env: AppEnv, case: str, overrides: dict[str, Any], message: str
) -> None:
    answer = create(app_env.token(**overrides))
    assert (answer.status, answer.json) == (403, envelope(answer, "accessDenied", message)), case


def test_reads_without_a_read_permission_are_403(app_env: AppEnv) -> None:
    answer = list_profiles(app_env.token(scp="User.Read"))
    assert (answer.status, answer.json) == (403, envelope(answer, "accessDenied", READ_NEEDS))


@pytest.mark.parametrize(
    ("case", "overrides"),
    [
        ("v2 issuer, client id audience, delegated", {}),
        (
            "v1 issuer, App ID URI audience, delegated",
            {"iss": tokens.V1_ISSUER, "aud": tokens.APP_ID_URI},
        ),
        ("application role", {"scp": None, "roles": ["EduAdministration.ReadWrite.All"]}),
        ("several scopes", {"scp": "openid EduAdministration.ReadWrite profile"}),
        ("expired within the skew", {"exp": NOW - 120}),
        ("not yet valid within the skew", {"nbf": NOW + 120}),
        ("no tid claim", {"tid": None}),
    ],
)
def test_the_right_tokens_get_through(
    app_env: AppEnv, case: str, overrides: dict[str, Any]
) -> None:
    token = app_env.token(**overrides)
    assert create(token).status == 202, case
    assert list_profiles(token).status == 200, case


@pytest.mark.parametrize(
    "overrides",
    [{"scp": "EduAdministration.Read"}, {"scp": None, "roles": ["EduAdministration.Read.All"]}],
)
def test_read_permissions_allow_reads(app_env: AppEnv, overrides: dict[str, Any]) -> None:
    assert list_profiles(app_env.token(**overrides)).status == 200


def test_upload_url_is_a_write(app_env: AppEnv) -> None:
    profile_id = create(app_env.token()).json["id"]
    answer = call(
        api.get_upload_url,
        request(
            "GET",
            f"{ROOT}/{profile_id}/uploadUrl",
            route={"id": profile_id},
            token=app_env.token(scp="EduAdministration.Read"),
        ),
    )
    assert (answer.status, answer.json) == (403, envelope(answer, "accessDenied", WRITE_NEEDS))


def test_a_rotated_key_is_fetched_when_its_kid_is_new(
    app_env: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert list_profiles(app_env.token()).status == 200
    rotated = tokens.Signer.generate(kid="rotated-key")
    tokens.write_jwks(app_env.jwks_path, app_env.signer, rotated)
    monkeypatch.setattr("sds_app.auth.JWKS_MIN_REFETCH_SECONDS", 0)
    assert list_profiles(rotated.sign(tokens.claims())).status == 200


def test_auth_mode_defaults_to_entra(app_env: AppEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SDS_AUTH_MODE")
    reset_caches()
    answer = list_profiles(None)
    assert (answer.status, answer.json) == (
        401,
        envelope(answer, "InvalidAuthenticationToken", "Access token is empty."),
    )


def test_auth_mode_none_needs_no_token(app_env: AppEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDS_AUTH_MODE", "none")
    reset_caches()
    assert create(None).status == 202


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SDS_TENANT_ID", ""),
        ("SDS_AUDIENCE", ""),
        ("SDS_AUTH_MODE", "nnone"),
        ("SDS_JWKS_URI", "http://insecure.example/keys"),
    ],
)
def test_misconfigured_validation_is_a_500_without_details(
    app_env: AppEnv, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    reset_caches()
    answer = create(app_env.token())
    assert (answer.status, answer.json) == (
        500,
        envelope(answer, "generalException", "Token validation is not configured."),
    )


def test_unreachable_signing_keys_are_503_with_retry_after(
    app_env: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SDS_JWKS_URI", (app_env.jwks_path.parent / "missing.json").as_uri())
    reset_caches()
    answer = create(app_env.token())
    assert answer.status == 503
    assert answer.headers["Retry-After"] == "30"
    assert answer.json == envelope(
        answer, "serviceNotAvailable", "The token signing keys could not be loaded; try again."
    )


def test_issuers_and_audiences_of_the_settings() -> None:
    assert issuers("t1") == [
        "https://sts.windows.net/t1/",
        "https://login.microsoftonline.com/t1/v2.0",
    ]
    assert audiences(tokens.APP_ID_URI) == [tokens.APP_ID_URI, tokens.CLIENT_ID]
    assert audiences(tokens.CLIENT_ID) == [tokens.CLIENT_ID, tokens.APP_ID_URI]
    assert audiences("api://sds.contoso.edu, 1234") == ["api://sds.contoso.edu", "1234"]
