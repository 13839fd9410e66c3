"""App settings, read from the environment (app settings in Azure, local.settings.json locally)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

STORAGE_CONNECTION = "AzureWebJobsStorage"
UPLOAD_CONTAINER = "sds-uploads"
SYNC_QUEUE = "sds-sync"
SYNC_POISON_QUEUE = "sds-sync-poison"


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
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once; tests call get_settings.cache_clear() after changing env."""
    return Settings.from_env()
