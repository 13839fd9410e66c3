"""User principal names and display names: what the profile's identity configuration makes of a row."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sds_core.sync.options import SyncOptions

_PREFIX = re.compile(r"^[A-Za-z0-9'._!#^~-]{1,64}$")
_DOMAIN = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9'._!#^~\-@\s]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_DISPLAY_NAME = 256
MAX_UPN = 113


@dataclass(frozen=True)
class Problem:
    """Why a value cannot be written: an errorCode and an errorMessage."""

    code: str
    message: str


def replace_special(value: str, options: SyncOptions) -> str:
    """With handleSpecialCharacterConstraint, characters outside the allowed set become `_`."""
    return _NOT_ALLOWED.sub("_", value) if options.replace_special_characters else value


def valid_upn(upn: str) -> bool:
    """Whether Entra would accept `upn` as a userPrincipalName."""
    prefix, at, domain = upn.partition("@")
    return (
        bool(at)
        and len(upn) <= MAX_UPN
        and bool(_PREFIX.match(prefix))
        and bool(_DOMAIN.match(domain))
        and not prefix.startswith(".")
        and not prefix.endswith(".")
        and ".." not in prefix
    )


def principal_name(role: str, values: dict[str, str], options: SyncOptions) -> str | None | Problem:
    """The user's userPrincipalName: Username with the role's domain, or the matched value.

    None when accounts are matched on another property and Username is not a full name: the
    account keeps whatever name the directory gave it.
    """
    username = replace_special(values.get("Username", ""), options)
    if options.creates_users:
        if options.user_domains:
            domain = options.user_domains.get(role)
            if not domain:
                return Problem(
                    "MissingUserDomain",
                    f"The profile has no user domain for {role}s; add one to userDomains.",
                )
            upn = f"{username.partition('@')[0]}@{domain}"
        else:
            # No domains configured: a full name in Username is the UPN, else the directory's own.
            return username if valid_upn(username) else None
    else:
        match = options.matching.get(role)
        source = match.source_property if match else "Username"
        value = values.get(source, "")
        if source == "Username":
            value = username
        if not value:
            return Problem(
                "UnmatchedEntry",
                f"The {source} value used to match the account is empty.",
            )
        if match and match.target_domain and "@" not in value:
            value = f"{value}@{match.target_domain}"
        if match is not None and match.target_property != "userPrincipalName":
            return username if valid_upn(username) else None
        upn = value
    if not valid_upn(upn):
        return Problem(
            "AzureActiveDirectoryInvalidPropertyValue",
            f"The user principal name {upn!r} is not valid in Microsoft Entra ID.",
        )
    return upn


def display_name_problem(name: str, what: str) -> Problem | None:
    """Why Entra would reject `name` as the displayName of a `what`, or None."""
    if not name.strip():
        return Problem(
            "AzureActiveDirectoryInvalidPropertyValue", f"The {what} has no display name."
        )
    if len(name) > MAX_DISPLAY_NAME:
        return Problem(
            "AzureActiveDirectoryInvalidPropertyValue",
            f"The display name of the {what} is longer than {MAX_DISPLAY_NAME} characters.",
        )
    if _CONTROL.search(name):
        return Problem(
            "AzureActiveDirectoryInvalidPropertyValue",
            f"The display name of the {what} has invalid characters.",
        )
    return None
