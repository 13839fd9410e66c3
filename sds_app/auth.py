"""Bearer tokens of Microsoft Entra ID: RS256 from the JWKS, issuer, audience, lifetime, scopes."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

import jwt

from sds_app.http.errors import GraphError, access_denied, general, unauthenticated, unavailable
from sds_app.settings import Settings

CLOCK_SKEW_SECONDS = 300
JWKS_REFRESH_SECONDS = 24 * 3600
# An unknown kid refreshes the key set at most this often (Entra rolls keys without notice).
JWKS_MIN_REFETCH_SECONDS = 60
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


class Access(Enum):
    """What an operation needs: reads accept Read or ReadWrite, writes need ReadWrite."""

    READ = "read"
    WRITE = "write"


SCOPES = {
    Access.READ: frozenset({"EduAdministration.Read", "EduAdministration.ReadWrite"}),
    Access.WRITE: frozenset({"EduAdministration.ReadWrite"}),
}
ROLES = {
    Access.READ: frozenset({"EduAdministration.Read.All", "EduAdministration.ReadWrite.All"}),
    Access.WRITE: frozenset({"EduAdministration.ReadWrite.All"}),
}


@dataclass(frozen=True)
class Principal:
    """Who called: the token's subject and what it was granted."""

    subject: str
    scopes: frozenset[str]
    roles: frozenset[str]

    def may(self, access: Access) -> bool:
        """Whether a delegated scope or an application role allows `access`."""
        return bool(self.scopes & SCOPES[access] or self.roles & ROLES[access])


LOCAL_DEVELOPER = Principal("local-developer", SCOPES[Access.WRITE], ROLES[Access.WRITE])


def issuers(tenant_id: str) -> list[str]:
    """The v1 and v2 issuers of one tenant."""
    return [
        f"https://sts.windows.net/{tenant_id}/",
        f"https://login.microsoftonline.com/{tenant_id}/v2.0",
    ]


def audiences(setting: str) -> list[str]:
    """SDS_AUDIENCE (one or more, comma separated): an App ID URI `api://{client id}` also accepts
    the bare client id (v2 tokens) and the other way round."""
    found: list[str] = []
    for value in (v.strip() for v in setting.split(",")):
        if not value:
            continue
        found.append(value)
        if value.startswith("api://") and _GUID.match(value[6:]):
            found.append(value[6:])
        elif _GUID.match(value):
            found.append(f"api://{value}")
    return list(dict.fromkeys(found))


def jwks_uri(settings: Settings) -> str:
    """SDS_JWKS_URI, else the tenant's Entra signing keys."""
    if settings.jwks_uri:
        return settings.jwks_uri
    return f"https://login.microsoftonline.com/{settings.tenant_id}/discovery/v2.0/keys"


class KeySet:
    """The keys of one JWKS URI (https or file://), cached, refreshed on an unknown kid."""

    def __init__(self, uri: str) -> None:
        if not uri.startswith(("https://", "file://")):
            raise ValueError("SDS_JWKS_URI must be an https:// or file:// URI")
        self.uri = uri
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched = 0.0
        self._lock = threading.Lock()

    def _fetch(self) -> None:
        with urllib.request.urlopen(self.uri, timeout=10) as answer:
            document = json.loads(answer.read())
        keys = {}
        for entry in document.get("keys", []):
            if entry.get("kty") == "RSA" and entry.get("kid") and entry.get("use", "sig") == "sig":
                keys[entry["kid"]] = jwt.PyJWK(entry, algorithm="RS256")
        self._keys, self._fetched = keys, time.monotonic()

    def key(self, kid: str) -> jwt.PyJWK | None:
        """The key with this id, refetching the set when it is old or the id is new."""
        with self._lock:
            age = time.monotonic() - self._fetched
            stale = not self._fetched or age > JWKS_REFRESH_SECONDS
            if stale or (kid not in self._keys and age > JWKS_MIN_REFETCH_SECONDS):
                self._fetch()
            return self._keys.get(kid)


_KEY_SETS: dict[str, KeySet] = {}
_KEY_SETS_LOCK = threading.Lock()


def key_set(uri: str) -> KeySet:
    """The process-wide cache of one JWKS URI."""
    with _KEY_SETS_LOCK:
        if uri not in _KEY_SETS:
            _KEY_SETS[uri] = KeySet(uri)
        return _KEY_SETS[uri]


def clear_key_sets() -> None:
    """Forget every cached key set (tests, key rotation drills)."""
    with _KEY_SETS_LOCK:
        _KEY_SETS.clear()


_REASONS: list[tuple[type[Exception], str]] = [
    (jwt.ExpiredSignatureError, "The token is expired."),
    (jwt.ImmatureSignatureError, "The token is not yet valid."),
    (jwt.InvalidAudienceError, "The token is not for this application (audience)."),
    (jwt.InvalidIssuerError, "The token was not issued by this tenant (issuer)."),
    (jwt.InvalidSignatureError, "The token signature is invalid."),
    (jwt.MissingRequiredClaimError, "The token lacks a required claim."),
]


def _reason(error: jwt.InvalidTokenError) -> str:
    for kind, text in _REASONS:
        if isinstance(error, kind):
            return text
    return "The token is malformed or invalid."


def _bearer(headers: Mapping[str, str]) -> str:
    value = (headers.get("authorization") or "").strip()
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthenticated("Access token is empty.")
    return token.strip()


def _key_for(token: str, settings: Settings) -> jwt.PyJWK:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise unauthenticated("The token is malformed or invalid.") from None
    if header.get("alg") != "RS256":
        raise unauthenticated("The token must be signed with RS256.")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise unauthenticated("The token has no key id (kid).")
    try:
        key = key_set(jwks_uri(settings)).key(kid)
    except ValueError:
        raise general("Token validation is not configured.") from None
    except (OSError, json.JSONDecodeError):
        raise unavailable("The token signing keys could not be loaded; try again.", 30) from None
    if key is None:
        raise unauthenticated("The token signature is invalid (unknown signing key).")
    return key


def validate_token(token: str, settings: Settings) -> Principal:
    """The principal of a valid token; GraphError 401 otherwise."""
    key = _key_for(token, settings)
    try:
        claims = jwt.decode(
            token,
            key=key,
            algorithms=["RS256"],
            audience=audiences(settings.audience),
            issuer=issuers(settings.tenant_id),
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": ["exp", "iss", "aud"]},
        )
    except jwt.InvalidTokenError as error:
        raise unauthenticated(_reason(error)) from None
    if claims.get("tid", settings.tenant_id) != settings.tenant_id:
        raise unauthenticated("The token was not issued by this tenant (issuer).")
    scopes = claims.get("scp", "")
    roles = claims.get("roles", [])
    return Principal(
        subject=str(claims.get("oid") or claims.get("sub") or ""),
        scopes=frozenset(scopes.split() if isinstance(scopes, str) else ()),
        roles=frozenset(r for r in roles if isinstance(r, str))
        if isinstance(roles, list)
        else frozenset(),
    )


def authorize(headers: Mapping[str, str], access: Access, settings: Settings) -> Principal:
    """The caller, when its token allows `access`; GraphError 401/403 (500 when misconfigured)."""
    if settings.auth_mode == "none":
        return LOCAL_DEVELOPER
    if settings.auth_mode != "entra" or not settings.tenant_id or not settings.audience:
        raise general("Token validation is not configured.")
    principal = validate_token(_bearer(headers), settings)
    if not principal.may(access):
        needed = " or ".join(sorted(SCOPES[access] | ROLES[access]))
        raise access_denied(f"Insufficient privileges: the token needs {needed}.")
    return principal


__all__ = ["Access", "GraphError", "Principal", "authorize", "validate_token"]
