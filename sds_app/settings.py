"""App settings, read from the environment (app settings in Azure, local.settings.json locally)."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

STORAGE_CONNECTION = "AzureWebJobsStorage"
UPLOAD_CONTAINER = "sds-uploads"
SYNC_QUEUE = "sds-sync"
SYNC_POISON_QUEUE = "sds-sync-poison"
TARGET_DIRECTORY = "directory"
TARGET_SCHOOL_DATA_SYNC = "schoolDataSync"
_TARGETS = {t.lower(): t for t in (TARGET_DIRECTORY, TARGET_SCHOOL_DATA_SYNC)}
GRAPH_AUTH_MODES = ("default", "none")


class SettingsError(ValueError):
    """A setting has a value the app does not take: the app refuses to run rather than guess."""


def parse_sync_target(value: str | None) -> frozenset[str]:
    """SDS_SYNC_TARGET: `directory`, `schoolDataSync` or both, comma-separated, any order or case."""
    if value is None or not value.strip():
        return frozenset({TARGET_DIRECTORY})
    names = [part.strip() for part in value.split(",")]
    unknown = [n for n in names if n.lower() not in _TARGETS]
    if unknown or not names:
        raise SettingsError(
            f"SDS_SYNC_TARGET={value!r} is not valid: use directory, schoolDataSync or "
            "directory,schoolDataSync"
        )
    return frozenset(_TARGETS[n.lower()] for n in names)


def parse_graph_auth(value: str | None) -> str:
    """SDS_GRAPH_AUTH: `default` (azure-identity) or `none` (no Authorization header)."""
    mode = (value or "default").strip().lower() or "default"
    if mode not in GRAPH_AUTH_MODES:
        raise SettingsError(f"SDS_GRAPH_AUTH={value!r} is not valid: use default or none")
    return mode


def parse_graph_endpoint(value: str | None) -> str:
    """SDS_GRAPH_ENDPOINT: an absolute http(s) URL without a path, default Microsoft Graph."""
    from urllib.parse import urlsplit

    endpoint = (value or "").strip().rstrip("/") or "https://graph.microsoft.com"
    parts = urlsplit(endpoint)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.path or parts.query:
        raise SettingsError(
            f"SDS_GRAPH_ENDPOINT={value!r} is not valid: use a URL such as https://graph.microsoft.com"
        )
    return endpoint


LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
_PORT = re.compile(r"[0-9]{1,5}")
_DNS_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


@dataclass(frozen=True)
class UploadHost:
    """One `host:port` of SDS_UPLOAD_HOSTS: upload sessions there are accepted (http on loopback)."""

    host: str
    port: int

    @property
    def loopback(self) -> bool:
        """127.0.0.1, ::1 or localhost: plain http is accepted there (tests, emulators)."""
        return self.host in LOOPBACK_HOSTS

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def _upload_host(entry: str) -> UploadHost | None:
    """`host:port`, `[ipv6]:port`: the entry parsed, or None when it is not of that form."""
    host, sep, port = entry.lower().rpartition(":")
    if not sep or not _PORT.fullmatch(port) or not 0 < int(port) < 65536:
        return None
    if host.startswith("[") and host.endswith("]"):
        try:
            return UploadHost(str(ipaddress.IPv6Address(host[1:-1])), int(port))
        except ValueError:
            return None
    labels = host.split(".")
    if len(host) > 253 or not all(_DNS_LABEL.fullmatch(label) for label in labels):
        return None
    if all(label.isdigit() for label in labels):  # digits only: an IPv4 address or nothing
        try:
            host = str(ipaddress.IPv4Address(host))
        except ValueError:
            return None
    return UploadHost(host, int(port))


def parse_upload_hosts(value: str | None) -> tuple[UploadHost, ...]:
    """SDS_UPLOAD_HOSTS: `host:port` entries, comma-separated, where upload sessions may also be."""
    if value is None or not value.strip():
        return ()
    hosts: list[UploadHost] = []
    for entry in value.split(","):
        host = _upload_host(entry.strip())
        if host is None:
            raise SettingsError(
                f"SDS_UPLOAD_HOSTS={value!r} is not valid: {entry.strip()!r} is not host:port "
                "(e.g. 127.0.0.1:10004, [::1]:10004 or storage.contoso.example:443)"
            )
        if host not in hosts:
            hosts.append(host)
    return tuple(hosts)


@dataclass(frozen=True)
class Settings:
    """Every setting of decisions.md, with its documented default."""

    auth_mode: str = "entra"
    tenant_id: str = ""
    audience: str = ""
    jwks_uri: str = ""
    blob_trigger_source: str = "EventGrid"
    max_rows_per_file: int = 0
    detail_rows_per_message: int = 1000
    inline_verify_max_bytes: int = 268_435_456
    upload_url_ttl_minutes: int = 60
    sync_targets: frozenset[str] = frozenset({TARGET_DIRECTORY})
    graph_endpoint: str = "https://graph.microsoft.com"
    graph_auth: str = "default"
    upload_hosts: tuple[UploadHost, ...] = ()

    @property
    def to_directory(self) -> bool:
        """Runs write the app's own tables."""
        return TARGET_DIRECTORY in self.sync_targets

    @property
    def to_school_data_sync(self) -> bool:
        """Runs are forwarded to the tenant's new School Data Sync."""
        return TARGET_SCHOOL_DATA_SYNC in self.sync_targets

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from a mapping (default: os.environ)."""
        env = os.environ if env is None else env
        return cls(
            auth_mode=env.get("SDS_AUTH_MODE", "entra").strip().lower() or "entra",
            tenant_id=env.get("SDS_TENANT_ID", "").strip(),
            audience=env.get("SDS_AUDIENCE", "").strip(),
            jwks_uri=env.get("SDS_JWKS_URI", "").strip(),
            blob_trigger_source=env.get("SDS_BLOB_TRIGGER_SOURCE", "EventGrid").strip() or "EventGrid",
            max_rows_per_file=int(env.get("SDS_MAX_ROWS_PER_FILE", "0") or 0),
            detail_rows_per_message=int(env.get("SDS_DETAIL_ROWS_PER_MESSAGE", "1000") or 1000),
            inline_verify_max_bytes=int(env.get("SDS_INLINE_VERIFY_MAX_BYTES", "268435456") or 0),
            upload_url_ttl_minutes=int(env.get("SDS_UPLOAD_URL_TTL_MINUTES", "60") or 60),
            sync_targets=parse_sync_target(env.get("SDS_SYNC_TARGET")),
            graph_endpoint=parse_graph_endpoint(env.get("SDS_GRAPH_ENDPOINT")),
            graph_auth=parse_graph_auth(env.get("SDS_GRAPH_AUTH")),
            upload_hosts=parse_upload_hosts(env.get("SDS_UPLOAD_HOSTS")),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once; tests call get_settings.cache_clear() after changing env."""
    return Settings.from_env()
