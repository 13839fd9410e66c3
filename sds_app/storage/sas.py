"""The upload URL: a create-and-write container SAS on sds-uploads, at the profile's folder."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import quote

from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas

from sds_app.settings import UPLOAD_CONTAINER
from sds_app.storage.account import StorageAccount

# Tolerates a storage clock slightly behind ours.
START_SKEW = timedelta(minutes=5)
UPLOAD_PERMISSIONS = ContainerSasPermissions(create=True, write=True)


class ContainerSigner(Protocol):
    """Signs a container SAS valid from `start` to `expiry`."""

    def sign(self, container: str, start: datetime, expiry: datetime) -> str:
        """The SAS query string (without `?`)."""
        ...


def _protocol(blobs: BlobServiceClient) -> str | None:
    return "https" if blobs.url.startswith("https://") else None


class AccountKeySigner:
    """Service SAS signed with the account key (connection strings that carry one)."""

    def __init__(self, blobs: BlobServiceClient, account_key: str) -> None:
        self.blobs = blobs
        self.account_key = account_key

    def sign(self, container: str, start: datetime, expiry: datetime) -> str:
        """A service SAS with the account key."""
        return generate_container_sas(
            self.blobs.account_name,
            container,
            account_key=self.account_key,
            permission=UPLOAD_PERMISSIONS,
            start=start,
            expiry=expiry,
            protocol=_protocol(self.blobs),
        )


class UserDelegationSigner:
    """User delegation SAS, for identity-based connections (needs Storage Blob Data Contributor)."""

    def __init__(self, blobs: BlobServiceClient) -> None:
        self.blobs = blobs

    def sign(self, container: str, start: datetime, expiry: datetime) -> str:
        """A user delegation SAS with a key valid for exactly the SAS's lifetime."""
        key = self.blobs.get_user_delegation_key(start, expiry)
        return generate_container_sas(
            self.blobs.account_name,
            container,
            user_delegation_key=key,
            permission=UPLOAD_PERMISSIONS,
            start=start,
            expiry=expiry,
            protocol=_protocol(self.blobs),
        )


def signer_for(account: StorageAccount) -> ContainerSigner:
    """The account key when the connection has one, else a user delegation key."""
    key = account.config.account_key
    if key:
        return AccountKeySigner(account.blobs, key)
    return UserDelegationSigner(account.blobs)


def upload_url(account: StorageAccount, profile_id: str, ttl_minutes: int, now: datetime) -> str:
    """`<blob endpoint>/sds-uploads/{profileId}?<SAS>`, valid for `ttl_minutes` from `now`."""
    sas = signer_for(account).sign(
        UPLOAD_CONTAINER, now - START_SKEW, now + timedelta(minutes=ttl_minutes)
    )
    endpoint = account.blobs.url.rstrip("/")
    return f"{endpoint}/{UPLOAD_CONTAINER}/{quote(profile_id)}?{sas}"
