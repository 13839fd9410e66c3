"""The process's storage account, built on first use from AzureWebJobsStorage."""

from __future__ import annotations

from functools import lru_cache

from sds_app.storage.account import StorageAccount, StorageConfig


@lru_cache(maxsize=1)
def get_account() -> StorageAccount:
    """The cached account; tests call get_account.cache_clear() after changing the environment."""
    return StorageAccount(StorageConfig.from_env())
